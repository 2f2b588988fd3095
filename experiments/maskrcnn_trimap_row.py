"""The Mask R-CNN auto-trimap row of the variant table: trimaps from the front-end's masks, matted by the
released model, against the same model given the dataset's Trimap1/Trimap2, on the validation part of
alphamatting_dev (never trained on).

    python experiments/maskrcnn_trimap_row.py --weights runs/variant_table/runs/variant_maskrcnn/generator_last.safetensors

Per image: the front-end's soft foreground (detections scoring >= --score), its IoU with GT alpha > 0.5,
a trimap by erode/dilate (--radius), the released model's alpha on it. Scored with the DIM metrics over
each dataset trimap's unknown band (as every other row) and, since an automatic trimap can also be wrong
where the dataset's trimap is certain, SAD over the whole image.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gan_matting import metrics as M
from gan_matting.data.io import read_alpha, read_rgb, read_trimap, to_uint8, write_image, write_trimap
from gan_matting.data.trimap import make_trimap
from gan_matting.inference.predict import generator_predictor
from gan_matting.models.weights import FAST_WEIGHTS, load_generator

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help="Mask R-CNN .safetensors (experiments/variants/maskrcnn.yaml)")
    ap.add_argument("--matting-weights", default=str(FAST_WEIGHTS))  # the cf model the README row used
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "alphamatting_dev"))
    ap.add_argument("--split", default=str(REPO / "experiments" / "splits" / "alphamatting_dev.json"))
    ap.add_argument("--score", type=float, default=0.5)
    ap.add_argument("--radius", type=int, default=10)
    ap.add_argument("--out", default="runs/variant_table/maskrcnn")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    names = json.loads(Path(args.split).read_text())["validation"]
    net, _ = load_generator(args.weights)
    predict = generator_predictor(load_generator(args.matting_weights)[0])
    rows = []
    for n in names:
        img = read_rgb(data / "input" / f"{n}.png")
        gt = to_uint8(read_alpha(data / "alpha" / f"{n}.png"))
        fg = net.foreground(img, args.score)
        found = bool((fg > 0.5).any())
        hard = (fg > 0.5).astype(np.float32)  # the band goes around the binary mask, not the soft scores
        tri_auto = make_trimap("erode-dilate", hard, radius=args.radius) if found else np.full(gt.shape, 128, np.uint8)
        write_trimap(out / "trimaps" / f"{n}.png", tri_auto)
        alpha_auto = to_uint8(predict(img, tri_auto)[0])
        write_image(out / "alpha" / f"{n}.png", alpha_auto)
        inter = ((fg > 0.5) & (gt > 127)).sum()
        union = ((fg > 0.5) | (gt > 127)).sum()
        row = {"name": n, "detected": found, "iou": float(inter / max(union, 1)),
               "unknown_auto": float((tri_auto == 128).mean()),
               "sad_image_auto": float(np.abs(alpha_auto.astype(np.int64) - gt).sum() / 255 / 1000)}
        for t in ("trimap1", "trimap2"):
            tri = read_trimap(data / t / f"{n}.png")
            given = to_uint8(predict(img, tri)[0])
            row[f"sad_{t}_auto"] = float(M.matting_metrics(alpha_auto, gt, tri)["sad"])
            row[f"sad_{t}_given"] = float(M.matting_metrics(given, gt, tri)["sad"])
            row[f"grad_{t}_auto"] = float(M.matting_metrics(alpha_auto, gt, tri)["grad"])
            row[f"grad_{t}_given"] = float(M.matting_metrics(given, gt, tri)["grad"])
            row[f"sad_image_{t}_given"] = float(np.abs(given.astype(np.int64) - gt).sum() / 255 / 1000)
        rows.append(row)
        print(n, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items() if k != "name"}, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rows.json").write_text(json.dumps(rows, indent=1))

    def mean(k):
        return float(np.mean([r[k] for r in rows]))
    lines = [f"## Mask R-CNN auto-trimaps + the released model ({len(rows)} validation images)", "",
             f"front-end: {args.weights}; detections >= {args.score}; erode/dilate radius {args.radius}; "
             f"found a foreground in {sum(r['detected'] for r in rows)} of {len(rows)} images; mean mask IoU "
             f"with GT alpha > 0.5: {mean('iou'):.3f}; mean unknown share of its trimaps {mean('unknown_auto'):.1%}", "",
             "| trimap | SAD in T1 band | Grad in T1 band | SAD in T2 band | Grad in T2 band | SAD whole image |",
             "|---|---:|---:|---:|---:|---:|",
             f"| Mask R-CNN auto-trimap | {mean('sad_trimap1_auto'):.2f} | {mean('grad_trimap1_auto'):.2f} | "
             f"{mean('sad_trimap2_auto'):.2f} | {mean('grad_trimap2_auto'):.2f} | {mean('sad_image_auto'):.2f} |",
             f"| dataset Trimap1 | {mean('sad_trimap1_given'):.2f} | {mean('grad_trimap1_given'):.2f} | - | - | "
             f"{mean('sad_image_trimap1_given'):.2f} |",
             f"| dataset Trimap2 | - | - | {mean('sad_trimap2_given'):.2f} | {mean('grad_trimap2_given'):.2f} | "
             f"{mean('sad_image_trimap2_given'):.2f} |", ""]
    (out / "table.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
