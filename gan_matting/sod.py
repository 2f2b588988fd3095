"""Dataset-level salient-object metrics with the PySODMetrics conventions (U²-Net/BASNet tables).

These differ from the per-image definitions in ``gan_matting.metrics`` (the shared checker's) on
purpose, because this is what the field's tables mean:

- each prediction (uint8) is min-max normalised (MATLAB ``mapminmax(im2double(.))``); gt is gt > 128;
- PR/F curves use ``uint8(255 * pred) >= t`` per image, are **averaged over the dataset per
  threshold**, and max-F / mean-F are the max / mean of that mean curve (not means of per-image maxima);
- adaptive F (threshold min(2 mean, 1)), MAE (against the binarised gt), IoU and Dice at pred > 0.5
  are per-image values averaged over the dataset; F uses beta^2 = 0.3.

MAE, the PR/F curve, adaptive F, IoU and Dice are computed here (tested equal to PySODMetrics);
S-measure, E-measure and weighted F come from PySODMetrics itself, a well-kept implementation of
those longer definitions. Thresholds in the curves run 255 -> 0, as in PySODMetrics.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import numpy as np

BETA2 = 0.3


def prepare(pred: np.ndarray, gt: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(pred min-max normalised to [0, 1] float64, gt > 128 bool) from uint8 (H, W) arrays."""
    if np.shape(pred) != np.shape(gt) or np.ndim(gt) != 2:
        raise ValueError(f"pred {np.shape(pred)} and gt {np.shape(gt)} must be equal 2-D shapes")
    if np.asarray(pred).dtype != np.uint8 or np.asarray(gt).dtype != np.uint8:
        raise ValueError("SOD metrics take uint8 mattes on 0..255, as the benchmark PNGs hold them")
    p = pred / 255.0
    lo, hi = p.min(), p.max()
    if hi != lo:
        p = (p - lo) / (hi - lo)
    return p, gt > 128


def _fbeta(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    num = (1 + BETA2) * p * r
    return num / np.where(num == 0, 1.0, BETA2 * p + r)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


class SODEvaluator:
    """Accumulate one (pred, gt) pair at a time; ``results()`` gives the dataset-level numbers."""

    def __init__(self) -> None:
        import py_sod_metrics as pysod  # S-, E-measure and weighted F
        self._sm, self._em, self._wfm = pysod.Smeasure(), pysod.Emeasure(), pysod.WeightedFmeasure()
        self.precision: List[np.ndarray] = []
        self.recall: List[np.ndarray] = []
        self.fcurve: List[np.ndarray] = []
        self.per_image: List[Dict[str, float]] = []

    def step(self, pred: np.ndarray, gt: np.ndarray) -> Dict[str, float]:
        """Add one image (uint8 (H, W) prediction and ground truth); returns its per-image values."""
        p, g = prepare(pred, gt)
        levels = (p * 255).astype(np.uint8)  # truncation, as PySODMetrics
        hist_fg = np.bincount(levels[g], minlength=256)
        hist_all = np.bincount(levels.ravel(), minlength=256)
        tp = np.cumsum(hist_fg[::-1]).astype(np.float64)  # index k: threshold 255 - k
        npred = np.cumsum(hist_all[::-1]).astype(np.float64)
        precision = tp / np.where(npred == 0, 1.0, npred)
        recall = tp / max(int(g.sum()), 1)
        self.precision.append(precision)
        self.recall.append(recall)
        self.fcurve.append(_fbeta(precision, recall))
        thr = min(2.0 * float(p.mean()), 1.0)
        b = p >= thr
        inter = float(b[g].sum())
        ap, ar = _ratio(inter, float(b.sum())), _ratio(inter, float(g.sum()))
        adaptive = float((1 + BETA2) * ap * ar / (BETA2 * ap + ar)) if inter > 0 else 0.0
        half = p > 0.5
        tp5, fp5, fn5 = float((half & g).sum()), float((half & ~g).sum()), float((~half & g).sum())
        row = {"mae": float(np.abs(p - g).mean()), "adaptive_f": adaptive,
               "iou": _ratio(tp5, tp5 + fp5 + fn5), "dice": _ratio(2 * tp5, 2 * tp5 + fp5 + fn5)}
        self.per_image.append(row)
        for m in (self._sm, self._em, self._wfm):
            m.step(pred=pred, gt=gt)
        return row

    def results(self) -> Dict[str, object]:
        """Dataset numbers (floats) plus 'precision', 'recall', 'f_curve' (256, thresholds 255 -> 0)."""
        if not self.per_image:
            raise ValueError("no image was evaluated")
        f_curve = np.mean(self.fcurve, axis=0)
        em = self._em.get_results()["em"]
        out: Dict[str, object] = {
            "mae": float(np.mean([r["mae"] for r in self.per_image])),
            "max_f": float(f_curve.max()), "mean_f": float(f_curve.mean()),
            "adaptive_f": float(np.mean([r["adaptive_f"] for r in self.per_image])),
            "s_measure": float(self._sm.get_results()["sm"]),
            "max_e": float(np.max(em["curve"])), "mean_e": float(np.mean(em["curve"])),
            "adaptive_e": float(em["adp"]),
            "weighted_f": float(self._wfm.get_results()["wfm"]),
            "iou": float(np.mean([r["iou"] for r in self.per_image])),
            "dice": float(np.mean([r["dice"] for r in self.per_image])),
            "n": len(self.per_image),
        }
        out.update(precision=np.mean(self.precision, axis=0), recall=np.mean(self.recall, axis=0), f_curve=f_curve)
        return out


SOD_COLUMNS = (("MAE", "mae"), ("max F", "max_f"), ("mean F", "mean_f"), ("adp F", "adaptive_f"),
               ("S", "s_measure"), ("max E", "max_e"), ("mean E", "mean_e"), ("adp E", "adaptive_e"),
               ("wF", "weighted_f"), ("IoU", "iou"), ("Dice", "dice"))


def markdown_table(results: Mapping[str, Mapping[str, object]], title: str = "") -> str:
    """One row per method/run: label -> ``SODEvaluator.results()``."""
    lines = [f"### {title}", ""] if title else []
    lines += ["| run | n | " + " | ".join(c for c, _ in SOD_COLUMNS) + " |",
              "|---|---:|" + "---:|" * len(SOD_COLUMNS)]
    for label, r in results.items():
        lines.append(f"| {label} | {r['n']} | " + " | ".join(f"{float(r[k]):.4f}" for _, k in SOD_COLUMNS) + " |")
    lines += ["", "Dataset-level, PySODMetrics conventions (see gan_matting/sod.py): full image, gt > 128, "
              "prediction min-max normalised; max/mean F and E of the dataset-mean curve; beta^2 = 0.3."]
    return "\n".join(lines) + "\n"


def write_curve_csv(path: Path, results: Mapping[str, object]) -> Path:
    """threshold, precision, recall, f of the dataset-mean curves."""
    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["threshold", "precision", "recall", "f"])
        for k in range(256):
            w.writerow([255 - k, f"{results['precision'][k]:.6f}", f"{results['recall'][k]:.6f}",
                        f"{results['f_curve'][k]:.6f}"])
    return path


def read_curve_csv(path: Path) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != 256 or not {"precision", "recall", "f"} <= set(rows[0]):
        raise ValueError(f"{path}: not a PR-curve file written by gan-matting eval (256 rows of precision, recall, f)")
    return tuple(np.array([float(r[k]) for r in rows]) for k in ("precision", "recall", "f"))  # type: ignore[return-value]


def plot_curves(curves: Mapping[str, Tuple[np.ndarray, np.ndarray, np.ndarray]], out_png: Path, title: str = "") -> Path:
    """PR curves (left) and F-threshold curves (right) of every run in one figure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax_pr, ax_f) = plt.subplots(1, 2, figsize=(11, 4.5))
    thr = np.arange(255, -1, -1)
    for label, (p, r, f) in curves.items():
        ax_pr.plot(r, p, label=f"{label} (max F {f.max():.3f})")
        ax_f.plot(thr, f, label=label)
    ax_pr.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01), title="PR curve (dataset mean)")
    ax_f.set(xlabel="threshold (0..255)", ylabel="F-measure (beta^2 = 0.3)", xlim=(0, 255), ylim=(0, 1.01),
             title="F-measure vs threshold")
    for ax in (ax_pr, ax_f):
        ax.grid(alpha=0.3)
    ax_pr.legend(loc="lower left", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
