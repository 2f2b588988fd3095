"""Where a matte's gradient error comes from: missing edges (|∇α̂| < |∇α|) or extra ones, on one image.

    python experiments/grad_error_split.py --pred runs/u2net_prior/pred --name GT03 \
        --methods cf,lkm,release,release+propagate,release+propagate_5x5

Reads the mattes that experiments/real_photo_table.py cached under PRED/LABEL/TRIMAP/NAME.png and splits
Σ(|∇α̂| − |∇α|)² over the trimap's unknown band (the Grad metric's sum, before its /1000) by the sign of the
difference, and by the ground truth's α there (faint strands: 0.02 < α < 0.3; background: α ≤ 0.02).
The difference is the Grad metric's own (gan_matting.metrics.gradient_difference).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gan_matting import metrics as M
from gan_matting.data.io import read_alpha, read_trimap, to_uint8

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "alphamatting_dev"))
    ap.add_argument("--pred", default="runs/u2net_prior/pred")
    ap.add_argument("--name", default="GT03")
    ap.add_argument("--methods", default="cf,lkm,release,release+propagate")
    ap.add_argument("--trimaps", default="trimap1,trimap2")
    args = ap.parse_args()
    data, pred = Path(args.data), Path(args.pred)
    gt = to_uint8(read_alpha(data / "alpha" / f"{args.name}.png"))
    g = gt.astype(np.float64) / 255
    print(f"{args.name}: Σ(|∇α̂|−|∇α|)² over the unknown band (Grad = total / 1000)\n")
    print("| trimap | method | total | missing | extra | missing, faint GT | extra, faint GT | extra, GT background |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    faint, background = (g > 0.02) & (g < 0.3), g <= 0.02
    for tname in args.trimaps.split(","):
        tri = read_trimap(data / tname / f"{args.name}.png")
        for m in args.methods.split(","):
            diff = M.gradient_difference(to_uint8(read_alpha(pred / m / tname / f"{args.name}.png")), gt, tri)
            e = diff ** 2
            miss, extra = diff < 0, diff > 0
            parts = [e.sum(), e[miss].sum(), e[extra].sum(), e[faint & miss].sum(), e[faint & extra].sum(),
                     e[background & extra].sum()]
            print(f"| {tname} | {m} | " + " | ".join(f"{v:.1f}" for v in parts) + " |")


if __name__ == "__main__":
    main()
