"""Issue 9: why a learned blend of closed-form and KNN alpha, and what the blend learnt.

    python experiments/prior_blend_analysis.py [--weights runs/real_u2net_blend/generator_best.safetensors]

Prints, on alphamatting_dev (split: experiments/splits/alphamatting_dev.json):
1. fixed blends w*cf + (1-w)*knn on the *validation part*, Trimap1 and Trimap2 (mean SAD and Grad, /1000),
   next to the per-image Grad, so the trade between the two solvers shows per image;
2. on the *training part*, each photo's SAD / Grad for cf and knn (which solver the data can teach);
3. with --weights (a ``blend:`` prior model): its mean cf weight inside each image's unknown band.
The classical alphas come from the prior cache (``priors.classical_prior``), solved on first use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from gan_matting import metrics as M
from gan_matting.data.io import read_alpha, read_rgb, read_trimap
from gan_matting.data.trimap_format import trimap_to_unit
from gan_matting.priors import classical_prior

REPO = Path(__file__).resolve().parents[1]
TRIMAPS = ("trimap1", "trimap2")


def _load(root: Path, name: str, trimap: str):
    image = read_rgb(root / "input" / f"{name}.png")
    return image, read_trimap(root / trimap / f"{name}.png"), read_alpha(root / "alpha" / f"{name}.png")


def fixed_blends(root: Path, names: list) -> None:
    print("1. fixed blends w*cf + (1-w)*knn, validation part")
    for t in TRIMAPS:
        data = [_load(root, n, t) for n in names]
        solved = [(classical_prior("cf", im, tri), classical_prior("knn", im, tri)) for im, tri, _ in data]
        for w in (0.0, 0.25, 0.5, 0.75, 1.0):
            sads, grads = [], []
            for (im, tri, gt), (cf, knn) in zip(data, solved):
                a = w * cf + (1 - w) * knn
                sads.append(M.sad(a, gt, tri))
                grads.append(M.gradient_error(a, gt, tri))
            per = " ".join(f"{n}:{g:.1f}" for n, g in zip(names, grads))
            print(f"  {t} w_cf={w:.2f}  SAD {np.mean(sads):.2f}  Grad {np.mean(grads):.2f}   Grad per image {per}")


def training_part(root: Path, names: list) -> None:
    print("2. training part: SAD / Grad of cf and knn")
    for t in TRIMAPS:
        for n in names:
            im, tri, gt = _load(root, n, t)
            cells = []
            for m in ("cf", "knn"):
                a = classical_prior(m, im, tri)
                cells.append(f"{m} {M.sad(a, gt, tri):.1f} / {M.gradient_error(a, gt, tri):.1f}")
            print(f"  {t} {n}: " + "   ".join(cells))


def blend_weights(root: Path, names: list, weights: str) -> None:
    from gan_matting.inference.predict import _prior
    from gan_matting.models.weights import load_generator
    G, _ = load_generator(weights)
    print(f"3. mean cf weight of {weights} inside the unknown band (Trimap1)")
    for n in names:
        im, tri, _ = _load(root, n, "trimap1")
        x = torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1)))[None].float()
        t = torch.from_numpy(trimap_to_unit(tri))[None, None]
        with torch.no_grad():
            w = G(x, t, _prior(G, x, t))["prior_weights"][0, 0].numpy()
        band = tri == 128
        print(f"  {n}: {w[band].mean():.2f} (10th-90th percentile {np.percentile(w[band], 10):.2f}-"
              f"{np.percentile(w[band], 90):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "alphamatting_dev"))
    ap.add_argument("--split", default=str(REPO / "experiments" / "splits" / "alphamatting_dev.json"))
    ap.add_argument("--weights", default="", help="a blend:cf+knn generator; prints its learnt weights")
    args = ap.parse_args()
    root, split = Path(args.data), json.loads(Path(args.split).read_text())
    if not root.is_dir():
        raise SystemExit(f"alphamatting_dev not found at {root} (pass --data)")
    fixed_blends(root, split["validation"])
    training_part(root, split["train"])
    if args.weights:
        blend_weights(root, split["validation"] + split["train"], args.weights)


if __name__ == "__main__":
    main()
