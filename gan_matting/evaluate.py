"""Evaluation harness: predicted mattes (a folder of PNGs) against any dataset layout.

Writes a per-image CSV and a markdown table of means, overall and for named subsets (e.g. hair).
Predictions are read as the 8-bit PNGs the benchmarks use and masked by the trimap (DIM protocol);
SAD, Grad and Conn are /1000 and MSE is printed x1e3 in the table (raw in the CSV).
Where the dataset has true foregrounds (fg/) and the run wrote its own (``<run>/fg/NAME.png``
beside ``<run>/alpha/``), the foreground colour error is scored too (``fg_mse``: MSE of F over
the unknown pixels with true alpha > 0). A ``sod.SODEvaluator`` passed in gets every full-image
prediction for the salient-object table.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import GanMattingError
from . import metrics as M
from .data.io import is_image_file, read_alpha, read_rgb, read_trimap, write_image
from .data.layouts import MattingFolder, read_folder
from .data.regions import REGION_NAMES, decode_regions
from .inference.predict import Job, PredictFn, predict_many

# Named subsets of the alphamatting.com training images (see ../shared/data/alphamatting_dev/SOURCE.md)
KNOWN_SUBSETS: Dict[str, List[str]] = {
    "hair": ["GT03", "GT08"],
    "fur": ["GT07", "GT10", "GT12", "GT15", "GT17", "GT20", "GT22", "GT23", "GT24"],
    "holes": ["GT02", "GT21", "GT26"],
    "hard": ["GT01", "GT06", "GT14", "GT18", "GT19"],
}
METRIC_KEYS = ("sad", "mse", "grad", "conn", "mae")


def _pred_files(pred_dir: Path) -> Dict[str, Path]:
    if not pred_dir.is_dir():
        raise GanMattingError(f"{pred_dir}: prediction folder not found")
    files = {p.stem: p for p in sorted(pred_dir.iterdir()) if p.is_file() and is_image_file(p)}
    if not files:
        raise GanMattingError(f"{pred_dir}: no predicted mattes in it")
    return files


REGION_GROW = 8  # px: background gaps between strands count towards the nearest structure


def region_labels(path: Path, grow: int = REGION_GROW) -> np.ndarray:
    """Region ids for scoring (0 background, 1 hair, 2 jewellery, 3 body), stored as grey level id*80.

    The files hold exact labels (0 exactly where alpha = 0). For scoring, background pixels within
    ``grow`` px of a labelled pixel take its label, so that the gaps between hair strands are scored
    as part of the hair region rather than dropped from every region.
    """
    from scipy import ndimage
    lab = decode_regions(read_alpha(path))
    if grow > 0 and (lab > 0).any() and (lab == 0).any():
        dist, (iy, ix) = ndimage.distance_transform_edt(lab == 0, return_indices=True)
        lab = np.where((lab == 0) & (dist <= grow), lab[iy, ix], lab)
    return lab


def _read_fg_pair(s, pred_dir: Path, shape) -> Optional[tuple]:
    """(predicted F, true F) when both exist, else None; a size mismatch is an error."""
    fg_pred_path = pred_dir.parent / "fg" / f"{s.name}.png"
    if s.fg is None or not fg_pred_path.is_file():
        return None
    fp, ft = read_rgb(fg_pred_path), read_rgb(s.fg)
    for path, a in ((fg_pred_path, fp), (s.fg, ft)):
        if a.shape[:2] != shape:
            raise GanMattingError(f"{path}: foreground is {a.shape[1]}x{a.shape[0]}, alpha is {shape[1]}x{shape[0]}")
    return fp, ft


def evaluate_folder(pred_dir, data_root, trimap: Optional[str] = None, layout: str = "auto",
                    subsets: Optional[Dict[str, Sequence[str]]] = None, sod=None) -> List[Dict[str, object]]:
    """One row of metrics per image that has ground truth, a trimap and a prediction.

    sod: an optional ``sod.SODEvaluator`` that receives every (prediction, gt) pair, full image.
    """
    folder = read_folder(data_root, layout)
    tname = trimap or folder.default_trimap()
    preds = _pred_files(Path(pred_dir))
    gt_samples = [s for s in folder.samples if s.alpha is not None]
    if not gt_samples:
        raise GanMattingError(f"{data_root}: no ground-truth alphas; this split cannot be scored")
    missing = [s.name for s in gt_samples if s.name not in preds]
    if missing:
        raise GanMattingError(f"{pred_dir}: no prediction for {len(missing)} image(s): {', '.join(missing[:10])}")
    subsets = dict(subsets or {})
    rows = []
    from tqdm import tqdm
    for s in tqdm(gt_samples, desc=f"score ({tname})", disable=len(gt_samples) < 10):
        if tname not in s.trimaps:
            raise GanMattingError(f"{s.name}: no trimap '{tname}' (has: {', '.join(s.trimaps) or 'none'})")
        gt = read_alpha(s.alpha)
        tri = read_trimap(s.trimaps[tname])
        pred = read_alpha(preds[s.name])
        if pred.shape != gt.shape:
            raise GanMattingError(f"{preds[s.name]}: prediction is {pred.shape[1]}x{pred.shape[0]}, "
                                  f"ground truth {s.alpha} is {gt.shape[1]}x{gt.shape[0]}")
        # score the 8-bit values, as the benchmark PNGs hold them
        gt8, pred8 = (np.round(gt * 255)).astype(np.uint8), (np.round(pred * 255)).astype(np.uint8)
        row: Dict[str, object] = {"name": s.name, "trimap": tname}
        row.update(M.matting_metrics(pred8, gt8, tri))
        fgs = _read_fg_pair(s, Path(pred_dir), gt.shape)
        if fgs is not None:
            row["fg_mse"] = M.foreground_error(fgs[0], fgs[1], gt, tri)
        if sod is not None:
            sod.step(pred8, gt8)
        if s.region is not None:
            labels = region_labels(s.region)
            pm = M.mask_with_trimap(pred8, tri)
            for rid, rname in REGION_NAMES.items():
                rtri = np.where((tri == 128) & (labels == rid), 128, np.where(tri == 128, 0, tri)).astype(np.uint8)
                if (rtri == 128).any():
                    row[f"{rname}_sad"] = M.sad(pm, gt8, rtri)
                    row[f"{rname}_mse"] = M.mse(pm, gt8, rtri)
                    row[f"{rname}_grad"] = M.gradient_error(pm, gt8, rtri)
                    row[f"{rname}_conn"] = M.connectivity_error(pm, gt8, rtri)
                    if fgs is not None:
                        row[f"{rname}_fg_mse"] = M.foreground_error(fgs[0], fgs[1], gt, rtri)
        row["subsets"] = ";".join(k for k, names in subsets.items() if s.name in names)
        rows.append(row)
    return rows


def summarise(rows: List[Dict[str, object]], subsets: Optional[Dict[str, Sequence[str]]] = None) -> Dict[str, Dict[str, float]]:
    """Means per group: 'all', each subset with members present, and each region column group."""
    groups: Dict[str, List[Dict[str, object]]] = {"all": rows}
    for name, members in (subsets or {}).items():
        sel = [r for r in rows if r["name"] in members]
        if sel:
            groups[name] = sel
    out: Dict[str, Dict[str, float]] = {}
    for g, sel in groups.items():
        out[g] = {k: float(np.mean([r[k] for r in sel])) for k in METRIC_KEYS}
        out[g]["n"] = len(sel)
        if all("fg_mse" in r for r in sel):
            out[g]["fg_mse"] = float(np.mean([r["fg_mse"] for r in sel]))
    for rname in REGION_NAMES.values():
        sel = [r for r in rows if f"{rname}_sad" in r]
        if sel:
            keys = ("sad", "mse", "grad", "conn") + (("fg_mse",) if all(f"{rname}_fg_mse" in r for r in sel) else ())
            out[f"region:{rname}"] = {k: float(np.mean([r[f"{rname}_{k}"] for r in sel])) for k in keys}
            out[f"region:{rname}"]["n"] = len(sel)
    return out


def markdown_table(summary: Dict[str, Dict[str, float]], title: str = "") -> str:
    lines = [f"### {title}", ""] if title else []
    with_fg = any("fg_mse" in m for m in summary.values())
    lines += ["| group | n | SAD | MSE (x1e3) | Grad | Conn |" + (" F MSE (x1e3) |" if with_fg else ""),
              "|---|---:|---:|---:|---:|---:|" + ("---:|" if with_fg else "")]
    for g, m in summary.items():
        fg = (f" {m['fg_mse'] * 1e3:.3f} |" if "fg_mse" in m else " - |") if with_fg else ""
        lines.append(f"| {g} | {m['n']} | {m['sad']:.3f} | {m['mse'] * 1e3:.3f} | {m['grad']:.3f} | {m['conn']:.3f} |{fg}")
    lines.append("")
    lines.append("SAD, Grad, Conn /1000 (DIM convention), summed over trimap==128; MSE mean over it."
                 + (" F MSE: foreground colour over trimap==128 where true alpha > 0." if with_fg else ""))
    return "\n".join(lines) + "\n"


def write_reports(rows: List[Dict[str, object]], summary, out_dir, title: str = "") -> Dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys: List[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    csv_path, md_path = out / "metrics.csv", out / "metrics.md"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    md_path.write_text(markdown_table(summary, title))
    return {"csv": csv_path, "md": md_path}


def dataset_jobs(folder: MattingFolder, trimap: str) -> List[Job]:
    """One job per input image of a dataset, paired with its trimap ``trimap`` (checked here)."""
    jobs = []
    for s in folder.samples:
        if s.image is None:
            continue
        if trimap not in s.trimaps:
            raise GanMattingError(f"{s.name}: no trimap '{trimap}' (has: {', '.join(s.trimaps) or 'none'})")
        jobs.append(Job(s.name, s.image, s.trimaps[trimap]))
    return jobs


def predict_folder(predict: PredictFn, data_root, out_dir, trimap: Optional[str] = None, layout: str = "auto",
                   progress: bool = True) -> Dict[str, float]:
    """Run ``predict(image (H,W,3), trimap (H,W) uint8) -> (alpha, fg or None)`` on every image of a
    dataset and write ``out_dir/alpha/NAME.png`` (and ``fg/NAME.png``). Returns seconds per image."""
    folder = read_folder(data_root, layout)
    tname = trimap or folder.default_trimap()
    out = Path(out_dir)
    times, failed = {}, []
    for p in predict_many(predict, dataset_jobs(folder, tname), progress, desc=f"predict ({tname})", failed=failed):
        times[p.name] = p.seconds
        write_image(out / "alpha" / f"{p.name}.png", p.alpha)
        if p.fg is not None:
            write_image(out / "fg" / f"{p.name}.png", p.fg)
    if failed:  # every other image was predicted and written; name each failure, then stop before scoring
        raise GanMattingError(f"{len(failed)} of {len(failed) + len(times)} image(s) failed: "
                              + "; ".join(f"{j.name}: {why}" for j, why in failed))
    return times
