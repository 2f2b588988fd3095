"""Propagation post-process: the matting Laplacian with the network's alpha as a soft data term.

Closed-form matting (Levin et al. 2008) solves min a^T L a with the trimap's known pixels fixed. Here the
unknown pixels are also pulled towards the network's prediction a_net, weighted by a confidence c:

    (L_U + lambda * diag(c_U)) a_U = -R a_K + lambda * c_U * a_net_U

so where the network is confident its alpha stays, and where it is not the image's local colour-line
model (the Laplacian) decides. pymatting supplies the Laplacian, the incomplete-Cholesky
preconditioner and the conjugate-gradient solver.

    alpha = propagate(image, trimap, alpha_net, confidence=None, weight=0.05, radius=1)

``radius`` is the Laplacian's window radius (1 = 3x3, Levin et al.; 2 = 5x5). On the validation photos a
5x5 window helps the hair image and costs the plant image (README, *Real photos*), so 1 stays the default.
"""

from __future__ import annotations

import contextlib
import io
from typing import Optional

import numpy as np
import scipy.sparse

from .baselines import pymatting_module


def propagate(image: np.ndarray, trimap: np.ndarray, alpha: np.ndarray, confidence: Optional[np.ndarray] = None,
              weight: float = 0.05, epsilon: float = 1e-7, radius: int = 1) -> np.ndarray:
    """image (H, W, 3) on [0, 1]; trimap (H, W) uint8 0/128/255; alpha (H, W) the network's matte;
    confidence (H, W) on [0, 1] (default 1 everywhere). Returns (H, W) float32 on [0, 1]."""
    pm = pymatting_module()
    tri = np.asarray(trimap)
    unknown = (tri == 128).ravel()
    known = ~unknown
    out = np.where(tri == 255, 1.0, np.where(tri == 0, 0.0, np.asarray(alpha, np.float64))).ravel()
    if not unknown.any() or not known.any():
        return out.reshape(tri.shape).astype(np.float32)
    c = np.ones(unknown.sum()) if confidence is None else np.asarray(confidence, np.float64).ravel()[unknown]
    L = pm.cf_laplacian(np.asarray(image, np.float64), epsilon=epsilon, radius=radius, is_known=known.reshape(tri.shape))
    L_U = L[unknown, :][:, unknown]
    R = L[unknown, :][:, known]
    A = (L_U + scipy.sparse.diags(weight * c)).tocsr()
    b = -R.dot(out[known]) + weight * c * out[unknown]
    with contextlib.redirect_stdout(io.StringIO()):  # ichol's retry messages
        out[unknown] = pm.cg(A, b, x0=out[unknown], M=pm.ichol(A))
    return np.clip(out, 0, 1).reshape(tri.shape).astype(np.float32)
