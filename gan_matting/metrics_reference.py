"""The straightforward implementation of the DIM matting metrics, kept as the yardstick.

``gan_matting.metrics`` is the implementation everyone calls; this module is what a careful first
port of the MATLAB code looks like (full 9x9 2-D filtering over the whole image, one full-image
labelling per connectivity threshold), with the same exact conventions. It exists for two checks:
parity of the fast implementation on random mattes (tests) and the speed ratio in
``gan-matting bench metrics``. Inputs as in ``gan_matting.metrics``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from . import metrics as M


def gradient_error(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """DIM gradient error, /1000: mat2gray, 9x9 x and y kernels as 2-D filters, replicate borders."""
    kx = M._GRAD_KX
    u = M.unknown_mask(trimap)

    def magnitude(a: np.ndarray) -> np.ndarray:
        a = M._mat2gray(M.to_unit(a))
        return np.sqrt(ndimage.correlate(a, kx, mode="nearest") ** 2 + ndimage.correlate(a, kx.T, mode="nearest") ** 2)

    return float(((magnitude(pred) - magnitude(gt)) ** 2)[u].sum() / 1000.0)


def connectivity_error(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    """DIM connectivity error, /1000 (empty intersection: assign, as the default of the fast one)."""
    p, g = M.to_unit(pred), M.to_unit(gt)
    level = np.full(p.shape, -1.0)
    for i in range(1, 11):
        t = i / 10
        inter = ((p >= t) & (g >= t)).T  # transposed: label in MATLAB's column-major order
        lab, n = ndimage.label(inter)
        omega = np.zeros_like(inter)
        if n > 0:
            counts = np.bincount(lab.ravel())
            counts[0] = 0
            omega = lab == int(np.argmax(counts))
        level[(level == -1) & ~omega.T] = (i - 1) / 10
    level[level == -1] = 1.0
    dp, dg = p - level, g - level
    phi_p = 1.0 - dp * (dp >= 0.15)
    phi_g = 1.0 - dg * (dg >= 0.15)
    return float(np.abs(phi_p - phi_g)[M.unknown_mask(trimap)].sum() / 1000.0)


def sad(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    return float((np.abs(M.to_unit(pred) - M.to_unit(gt)) * M.unknown_mask(trimap)).sum() / 1000.0)


def mse(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    u = M.unknown_mask(trimap)
    return float(((M.to_unit(pred) - M.to_unit(gt)) ** 2 * u).sum() / max(int(u.sum()), 1))
