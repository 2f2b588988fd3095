"""``gan-matting demo`` / ``make demo``: the embedded default job, needing no downloaded data.

1. generates the `demo` preset of procedural hair/jewellery portraits (exact alpha, F, trimaps, regions);
2. checks the folder with `check-data`;
3. mattes every image with the released checkpoint when one is in checkpoints/, else with the
   closed-form baseline (pymatting), and scores it with the exact DIM metrics, overall and per region.
Prints where everything was written.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def run_demo(out: Path, quick: bool = False) -> int:
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
    method = "cf"
    times = predict_folder(lambda img, tri: run_baseline(method, img, tri), data, out / method, "trimaps",
                           progress=False)
    rows = evaluate_folder(out / method / "alpha", data, "trimaps")
    summary = summarise(rows)
    title = f"closed-form matting (pymatting) on the demo set, median {np.median(list(times.values())):.2f} s/image"
    paths = write_reports(rows, summary, out / method, title)
    print(f"[3/3] matted and scored with the {method} baseline (no trained checkpoint is released yet)\n")
    print(markdown_table(summary, title))
    print(f"data:        {data}\nmattes:      {out / method / 'alpha'}\nforegrounds: {out / method / 'fg'}")
    print(f"metrics:     {paths['csv']}  {paths['md']}\ntotal {time.perf_counter() - t0:.1f} s")
    return 0
