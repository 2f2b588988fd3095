"""``gan-matting demo`` / ``make demo``: the embedded default job, needing no downloaded data.

1. generates the `demo` preset of procedural hair/jewellery portraits (exact alpha, F, trimaps, regions);
2. checks the folder with `check-data`;
3. mattes every image as `gan-matting infer` does by default (the released checkpoint, then its
   post-process) and with the closed-form baseline (pymatting), and scores both with the exact DIM metrics, overall and per region.
Prints where everything was written.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .models.weights import RELEASED_WEIGHTS as RELEASED


def run_demo(out: Path, quick: bool = False, weights: Path = RELEASED) -> int:
    from .baselines import run_baseline
    from .data.check import check_or_raise
    from .data.synth import write_dataset
    from .evaluate import evaluate_folder, markdown_table, predict_folder, summarise, write_reports

    out = Path(out)
    data = out / "data"
    t0 = time.perf_counter()
    meta = write_dataset(data, "demo", n=3 if quick else None, size=256 if quick else None, progress=False)
    print(f"[1/3] generated {meta['n']} procedural hair portraits in {meta['seconds']} s -> {data}")
    rep = check_or_raise(data)
    print(f"[2/3] check-data: {rep.n_samples} samples, no problems")
    methods = {}
    if Path(weights).is_file():
        from .inference.predict import AUTO_POST, generator_predictor
        from .models.weights import load_generator
        G, _ = load_generator(weights)
        # what `gan-matting infer` does by default: the network, then its post-process
        methods[f"gan_matting ({Path(weights).name} + {AUTO_POST})"] = ("model", generator_predictor(G, post="auto"))
    else:
        print(f"      no released checkpoint at {weights}; only the baseline runs")
    methods["closed-form matting (pymatting)"] = ("cf", lambda img, tri: run_baseline("cf", img, tri))
    print("[3/3] matting and scoring (exact DIM metrics, unknown region of each trimap)\n")
    for title, (tag, fn) in methods.items():
        times = predict_folder(fn, data, out / tag, "trimaps", progress=False)
        rows = evaluate_folder(out / tag / "alpha", data, "trimaps")
        summary = summarise(rows)
        full = f"{title} on the demo set, median {np.median(list(times.values())):.2f} s/image"
        paths = write_reports(rows, summary, out / tag, full)
        print(markdown_table(summary, full))
        print(f"mattes: {out / tag / 'alpha'}   foregrounds: {out / tag / 'fg'}   metrics: {paths['md']}\n")
    print(f"data: {data}\ntotal {time.perf_counter() - t0:.1f} s")
    return 0
