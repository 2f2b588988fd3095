"""Adapter for ../shared/metrics/check_metrics.py: exposes gan_matting.metrics under the checker's names.

    python ../shared/metrics/check_metrics.py --adapter tests/metric_adapter.py
"""
from gan_matting import metrics as M

INPUT = "uint8"
TRIMAP = "uint8"
PR_CURVE_ORDER = "ascending"

sad = M.sad
mse = M.mse
gradient = M.gradient_error
connectivity = M.connectivity_error
mae = M.mae
f_measure = M.f_measure
pr_curve = M.pr_curve
iou = M.iou
dice = M.dice
