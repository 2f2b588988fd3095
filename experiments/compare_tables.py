"""Collect metrics.csv files of several runs into one comparison table (overall and hair subset).

    python experiments/compare_tables.py runs/baselines/*_trimap1 runs/eval/cpu_light_trimap1 > table.md
"""
import csv
import sys
from pathlib import Path

import numpy as np

HAIR = {"GT03", "GT08"}


def row(run: Path):
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    def mean(sel, k):
        return np.mean([float(r[k]) for r in sel]) if sel else float("nan")
    hair = [r for r in rows if r["name"] in HAIR]
    return (f"| {run.name} | {len(rows)} | {mean(rows, 'sad'):.2f} | {1e3 * mean(rows, 'mse'):.2f} | "
            f"{mean(rows, 'grad'):.2f} | {mean(rows, 'conn'):.2f} | {mean(hair, 'sad'):.2f} | {mean(hair, 'grad'):.2f} |")


print("| run | n | SAD | MSE x1e3 | Grad | Conn | hair SAD | hair Grad |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for arg in sys.argv[1:]:
    p = Path(arg)
    if (p / "metrics.csv").exists():
        print(row(p))
