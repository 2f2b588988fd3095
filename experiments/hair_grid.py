"""Image grid of hair crops: photo | cf | model | GT (GT only where it exists).

    python experiments/hair_grid.py --weights checkpoints/gan_matting_real_cf.safetensors --out docs/hair_grid.png
    python experiments/hair_grid.py --weights checkpoints/gan_matting_real_u2net_blend.safetensors \
        --post auto --trimap trimap1 --out docs/hair_grid_default.png   # what `infer` writes by default
    python experiments/hair_grid.py --weights checkpoints/gan_matting_real_cf.safetensors \
        --refiner checkpoints/gan_matting_refiner_context_hair.safetensors --out docs/fast_mode_grid.png
        # photo | full resolution | naive coarse upscale | fast mode | GT

Rows: validation hair/fur crops of alphamatting_dev (never trained on), then alphamatting_test images
(no GT: the last column is left grey). Crops are taken where the Trimap2 band is densest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from gan_matting.data.io import read_alpha, read_rgb, read_trimap
from gan_matting.inference.predict import predict_image
from gan_matting.models.weights import load_generator
from gan_matting.priors import classical_prior

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
ROWS = [("alphamatting_dev", "GT03", "trimap2"), ("alphamatting_dev", "GT10", "trimap2"),
        ("alphamatting_dev", "GT15", "trimap2"), ("alphamatting_test", "doll", "trimap2"),
        ("alphamatting_test", "troll", "trimap2")]


def densest_window(tri: np.ndarray, size: int):
    unk = (tri == 128).astype(np.float64)
    ii = unk.cumsum(0).cumsum(1)
    h, w = tri.shape
    best, pos = -1.0, (0, 0)
    for y in range(0, h - size + 1, 8):
        for x in range(0, w - size + 1, 8):
            s = ii[y + size - 1, x + size - 1] - (ii[y - 1, x + size - 1] if y else 0) - (ii[y + size - 1, x - 1] if x else 0) \
                + (ii[y - 1, x - 1] if x and y else 0)
            if s > best:
                best, pos = s, (y, x)
    return pos


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", default="docs/hair_grid.png")
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--refiner", help="compare the fast mode instead of cf: full-res | naive | fast columns")
    ap.add_argument("--post", default="none", help="the model column's post-process (as `infer --post`)")
    ap.add_argument("--trimap", help="trimap1 or trimap2 for every row (default: each row's own)")
    args = ap.parse_args()
    G, _ = load_generator(args.weights)
    if args.refiner:
        from gan_matting.inference.coarse_fine import CoarseToFine, load_pipeline, pipeline_predictor
        naive = pipeline_predictor(CoarseToFine(G, None, upsample="bilinear"))
        fast = pipeline_predictor(load_pipeline(G, args.refiner))
        heads = ("photo", "full resolution", "naive coarse upscale", "fast mode", "ground truth")
        methods = [lambda img, tri: predict_image(G, img, tri)[0], lambda img, tri: naive(img, tri)[0],
                   lambda img, tri: fast(img, tri)[0]]
    else:
        from gan_matting.inference.predict import generator_predictor
        model = generator_predictor(G, post=args.post)
        heads = ("photo", "closed-form (cf)", "gan_matting" + ("" if args.post == "none" else f" --post {args.post}"),
                 "ground truth")
        methods = [lambda img, tri: classical_prior("cf", img, tri), lambda img, tri: model(img, tri)[0]]
    tiles = []
    for ds, name, tname in ROWS:
        tname = args.trimap or tname
        root = SHARED / ds
        img_p = root / "input" / f"{name}.png"
        if not img_p.is_file():
            continue
        img, tri = read_rgb(img_p), read_trimap(root / tname / f"{name}.png")
        alphas = [m(img, tri) for m in methods]
        gt_p = root / "alpha" / f"{name}.png"
        gt = read_alpha(gt_p) if gt_p.is_file() else np.full(tri.shape, 0.5, np.float32)
        y, x = densest_window(tri, args.crop)
        c = (slice(y, y + args.crop), slice(x, x + args.crop))
        cols = [img[c]] + [np.repeat(a[c][..., None], 3, 2) for a in (*alphas, gt)]
        tiles.append((f"{ds.split('_')[1]}/{name} {tname}", np.concatenate(cols, axis=1)))
    s, pad = args.crop * args.scale, 18
    n = len(heads)
    sheet = Image.new("RGB", (n * s, len(tiles) * (s + pad) + pad), "white")
    d = ImageDraw.Draw(sheet)
    for i, h in enumerate(heads):
        d.text((i * s + 4, 3), h, fill="black")
    for r, (label, row) in enumerate(tiles):
        im = Image.fromarray((np.clip(row, 0, 1) * 255).round().astype(np.uint8)).resize((n * s, s), Image.NEAREST)
        y0 = pad + r * (s + pad)
        sheet.paste(im, (0, y0))
        d.text((4, y0 + s + 2), label, fill="black")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
