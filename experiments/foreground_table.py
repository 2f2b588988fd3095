"""Foreground colour error (issue 14's F table): the generator's own F against pymatting's multilevel
estimate (ML) from the same alpha, on data with exact F.

    python experiments/foreground_table.py --data runs/data/hair_bench12 --out runs/foreground

Rows: the input image used as F (a floor any method should beat), model F, ML F and blur-fusion F from the
model's alpha (``infer --fg model`` / ``--fg ml`` / ``--fg blur``) for ``--mode quality`` and ``--mode fast``,
and ML / blur-fusion F from the true alpha (what a perfect alpha would allow). Error: MSE x1e3 of F where the true alpha > 0 inside the
trimap's unknown band (``metrics.foreground_error``), mean over images, overall and on hair pixels.
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path

import numpy as np

from gan_matting import metrics as M
from gan_matting.baselines import ml_foreground
from gan_matting.foreground import estimate_foreground
from gan_matting.data.io import read_alpha, read_rgb, read_trimap
from gan_matting.data.layouts import read_folder
from gan_matting.data.regions import REGION_IDS, decode_regions
from gan_matting.inference.coarse_fine import load_pipeline, pipeline_predictor
from gan_matting.inference.predict import generator_predictor
from gan_matting.models.weights import FAST_WEIGHTS, RELEASED_REFINER, load_generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="runs/data/hair_bench12", help="custom layout with fg/ (exact F)")
    ap.add_argument("--out", default="runs/foreground")
    args = ap.parse_args()
    G, _ = load_generator(FAST_WEIGHTS)  # the cf model: the README table was measured with it, in both modes
    modes = {"quality": generator_predictor(G), "fast": pipeline_predictor(load_pipeline(G, RELEASED_REFINER))}
    folder = read_folder(args.data)
    rows = {}
    for s in folder.samples:
        img, tri, a_gt = read_rgb(s.image), read_trimap(next(iter(s.trimaps.values()))), read_alpha(s.alpha)
        fg_gt = read_rgb(s.fg)
        hair = decode_regions(read_alpha(s.region)) == REGION_IDS["hair"] if s.region is not None else None
        cands = {"input image as F": img, "ML F from the true alpha": ml_foreground(img, a_gt),
                 "blur-fusion F from the true alpha": estimate_foreground(img, a_gt, "blur")}
        for mode, predict in modes.items():
            alpha, fg = predict(img, tri)
            cands[f"{mode}: model F (--fg model)"] = fg
            cands[f"{mode}: ML F from the model's alpha (--fg ml)"] = ml_foreground(img, alpha)
            cands[f"{mode}: blur-fusion F from the model's alpha (--fg blur)"] = estimate_foreground(img, alpha, "blur")
        for label, fp in cands.items():
            r = rows.setdefault(label, {"all": [], "hair": []})
            r["all"].append(M.foreground_error(fp, fg_gt, a_gt, tri))
            if hair is not None and hair.any():
                r["hair"].append(M.foreground_error(fp, fg_gt, a_gt * hair, tri))
    lines = [f"# Foreground colour error on {args.data} ({len(folder.samples)} images, exact F)", "",
             f"- command: python experiments/foreground_table.py --data {args.data}",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; host: {platform.processor() or platform.machine()}",
             "- MSE x1e3 of F where the true alpha > 0 in the unknown band; mean over images", "",
             "| F from | all | hair pixels |", "|---|---:|---:|"]
    for label, r in rows.items():
        lines.append(f"| {label} | {np.mean(r['all']) * 1e3:.2f} | {np.mean(r['hair']) * 1e3:.2f} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
