"""SAD against time per image for every method of a real-photo table run (matplotlib, log time axis).

    python experiments/sad_time_scatter.py runs/variant_table/metrics.csv --out docs/sad_vs_time.png

Reads the per-image rows that experiments/real_photo_table.py writes (SAD and the seconds each matte took
when it was computed, on this machine); one point per method and trimap: mean SAD over the validation
images against the median seconds. Methods whose mattes were cached without a time are left out and named.
"""
from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="validation part of alphamatting_dev: SAD vs time per image")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sad, sec = defaultdict(list), defaultdict(list)
    for r in csv.DictReader(open(args.csv)):
        key = (r["method"], r["trimap"])
        sad[key].append(float(r["sad"]))
        sec[key].append(float(r.get("seconds") or "nan"))
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    markers = {"trimap1": "o", "trimap2": "s"}
    methods = sorted({m for m, _ in sad})
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
    untimed = set()
    for (m, t), v in sorted(sad.items()):
        s = [x for x in sec[(m, t)] if not math.isnan(x)]
        if not s:
            untimed.add(m)
            continue
        ax.scatter(np.median(s), np.mean(v), marker=markers.get(t, "^"), color=colours[m], s=48,
                   label=m if t == "trimap1" or m in untimed else None)
    ax.set_xscale("log")
    ax.set_xlabel("median seconds per image (log; 2-core CPU, this run)")
    ax.set_ylabel("mean SAD (/1000)")
    ax.set_title(args.title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="best", title="o Trimap1, s Trimap2", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}" + (f"; no times for {', '.join(sorted(untimed))}" if untimed else ""))


if __name__ == "__main__":
    main()
