"""Issue 9's table: classical solvers and model variants on the *validation part* of alphamatting_dev.

    python experiments/real_photo_table.py --out runs/real_photo \
        --model "cf-prior GAN=checkpoints/gan_matting_real_cf.safetensors" --model "old=checkpoints/gan_matting_cpu_light.safetensors"

For Trimap1 and Trimap2: SAD, MSE, Grad, Conn (DIM conventions: SAD/Grad/Conn /1000, MSE x1e3 in the
table) of cf, knn, lkm and each model, over all validation images and over the hair image(s), plus each
model's ratio to the best classical solver per metric (< 1 = better than every classical solver).
Per-image rows go to metrics.csv; mattes are cached under OUT/pred/LABEL/ so reruns only score
(delete that folder after retraining a model under the same label).
The split is read from experiments/splits/alphamatting_dev.json and never changed.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np

from gan_matting import metrics as M
from gan_matting.baselines import run_baseline
from gan_matting.data.io import read_alpha, read_rgb, read_trimap, to_uint8, write_image
from gan_matting.inference.coarse_fine import load_pipeline, pipeline_predictor
from gan_matting.inference.predict import generator_predictor
from gan_matting.models.weights import RELEASED_REFINER, load_generator

REPO = Path(__file__).resolve().parents[1]
CLASSICAL = ("cf", "knn", "lkm")
KEYS = ("sad", "mse", "grad", "conn")
HAIR = ("GT03", "GT08")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "alphamatting_dev"))
    ap.add_argument("--split", default=str(REPO / "experiments" / "splits" / "alphamatting_dev.json"))
    ap.add_argument("--model", action="append", default=[], metavar="LABEL=WEIGHTS")
    ap.add_argument("--classical", default=",".join(CLASSICAL), help="comma-separated subset of cf,knn,lkm")
    ap.add_argument("--trimaps", default="trimap1,trimap2")
    ap.add_argument("--out", default="runs/real_photo")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    names = json.loads(Path(args.split).read_text())["validation"]
    methods = {m: None for m in args.classical.split(",") if m}
    for item in args.model:  # LABEL=WEIGHTS, LABEL=WEIGHTS@propagate[+lkm][:WEIGHT[:RADIUS[:SHARE]]] or LABEL=WEIGHTS@fast[:REFINER]
        label, path = item.split("=", 1)
        methods[label] = path
    rows, times = [], {}
    for tname in args.trimaps.split(","):
        for label, weights in methods.items():
            G, post, predict = None, "none", None
            if weights:
                path, _, post = weights.partition("@")
                G = load_generator(path)[0]
                if post.partition(":")[0] == "fast":  # `infer --mode fast [--refiner R]`: coarse pass + guided
                    # upsampling + the released refiner (or "fast:R"), with the settings stored in its file
                    predict = pipeline_predictor(load_pipeline(G, post.partition(":")[2] or RELEASED_REFINER))
                else:  # "propagate:0.2:2" = the post-process, data-term weight 0.2 (default 0.05), 5x5 windows
                    # (default 3x3); "propagate+lkm::1:0.3" = averaged with 30 % large-kernel matting (default 25 %)
                    post, _, w = post.partition(":")
                    w, _, r = w.partition(":")
                    r, _, share = r.partition(":")
                    predict = generator_predictor(G, post=post or "none", post_weight=float(w or 0.05),
                                                  post_radius=int(r or 1), lkm_share=float(share or 0.25))
            for n in names:
                img, tri = read_rgb(data / "input" / f"{n}.png"), read_trimap(data / tname / f"{n}.png")
                gt = to_uint8(read_alpha(data / "alpha" / f"{n}.png"))
                cached = out / "pred" / "".join(c if c.isalnum() or c in "-_+." else "_" for c in label) / tname / f"{n}.png"
                timing = cached.with_suffix(".seconds")  # kept beside the cached matte for the SAD-vs-time plot
                if cached.is_file():
                    alpha = read_alpha(cached)
                    seconds = float(timing.read_text()) if timing.is_file() else float("nan")
                else:
                    t0 = time.perf_counter()
                    alpha = run_baseline(label, img, tri, False)[0] if G is None else predict(img, tri)[0]
                    seconds = time.perf_counter() - t0
                    times.setdefault(label, []).append(seconds)
                    write_image(cached, alpha)
                    timing.write_text(f"{seconds:.4f}\n")
                r = M.matting_metrics(to_uint8(alpha), gt, tri)
                rows.append({"method": label, "trimap": tname, "name": n, **{k: float(r[k]) for k in KEYS},
                             "seconds": seconds})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "metrics.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = [f"# Real photos: validation part of alphamatting_dev ({', '.join(names)})", "",
             f"- command: python experiments/real_photo_table.py {' '.join(f'--model {m!r}' for m in args.model)}",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; host: {platform.processor() or platform.machine()}",
             f"- split: {args.split} (validation images are never trained on)",
             "- SAD, Grad, Conn /1000; MSE x1e3; hair = " + ", ".join(h for h in HAIR if h in names), ""]
    for tname in args.trimaps.split(","):
        for group, members in (("all", names), ("hair", [n for n in names if n in HAIR])):
            if not members:
                continue
            mean = {m: {k: float(np.mean([r[k] for r in rows if r["method"] == m and r["trimap"] == tname
                                          and r["name"] in members])) for k in KEYS} for m in methods}
            best = {k: min(mean[m][k] for m in methods if m in CLASSICAL) if any(m in CLASSICAL for m in methods) else None
                    for k in KEYS}
            lines += [f"## {tname}, {group} ({len(members)} images)", "",
                      "| method | SAD | MSE | Grad | Conn | SAD ratio | Grad ratio | MSE ratio | Conn ratio |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for m in methods:
                v = mean[m]
                ratio = [f"{v[k] / best[k]:.2f}" if best[k] else "-" for k in ("sad", "grad", "mse", "conn")]
                lines.append(f"| {m} | {v['sad']:.2f} | {v['mse'] * 1e3:.2f} | {v['grad']:.2f} | {v['conn']:.2f} | "
                             + " | ".join(ratio) + " |")
            lines.append("")
    if times:
        lines += ["seconds per image (this run, new predictions only): "
                  + ", ".join(f"{m} {np.median(t):.2f}" for m, t in times.items()), ""]
    (out / "table.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
