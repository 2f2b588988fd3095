"""One markdown table of several hair-bench eval runs: overall and hair-region SAD/MSE/Grad/Conn means.

    python experiments/variant_hair_table.py runs/variant_table/hair_bench/unet runs/variant_table/hair_bench/u2net
"""
import csv
import sys
from pathlib import Path

import numpy as np

COLS = ("sad", "mse", "grad", "conn", "hair_sad", "hair_grad", "hair_conn")


def main(runs) -> None:
    print("| variant | n | SAD | MSE x1e3 | Grad | Conn | hair SAD | hair Grad | hair Conn |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in map(Path, runs):
        rows = list(csv.DictReader(open(run / "metrics.csv")))
        m = {k: np.mean([float(r[k]) for r in rows if r.get(k) not in (None, "")]) for k in COLS}
        print(f"| {run.name} | {len(rows)} | {m['sad']:.2f} | {1e3 * m['mse']:.2f} | {m['grad']:.2f} | {m['conn']:.2f} | "
              f"{m['hair_sad']:.2f} | {m['hair_grad']:.2f} | {m['hair_conn']:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
