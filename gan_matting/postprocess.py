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

``propagate_lkm`` then averages the propagated matte with large-kernel matting's (He et al. 2010, 21x21
windows): ``(1 - share) * propagate(...) + share * large_kernel_alpha(...)``. The two err in different
places (the small windows miss faint hair strands that the large ones keep; the large windows smear
leaves and holes), so the average has a lower gradient error than either on the validation photos.
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


def large_kernel_alpha(image: np.ndarray, trimap: np.ndarray, init: Optional[np.ndarray] = None,
                       radius: int = 10, epsilon: float = 1e-7, rtol: float = 1e-7) -> np.ndarray:
    """Large-kernel matting (pymatting's ``estimate_alpha_lkm``: the same Laplacian, known-pixel weight and
    Jacobi-preconditioned CG, stopped at residual ``rtol``), started from ``init`` (H, W) when given. The
    solution does not depend on the start; a good one (the network's matte) saves a third of the iterations.
    Images under 41 px a side get the largest window that fits; under 5 px, or with no known pixel, ``init``
    (or 0.5) is returned in the unknown region. Returns (H, W) float32."""
    from pymatting.laplacian.lkm_laplacian import lkm_laplacian
    pm = pymatting_module()
    tri = np.asarray(trimap)
    fg = (tri == 255).ravel().astype(np.float64)
    known = (tri != 128).ravel()
    # pymatting's box filters need 4 * radius + 1 pixels per side: small images get smaller windows
    radius = min(radius, (min(tri.shape) - 1) // 4)
    if known.all() or not known.any() or radius < 1:
        start = 0.5 if init is None else np.asarray(init, np.float64)
        return np.where(tri == 255, 1.0, np.where(tri == 0, 0.0, start)).astype(np.float32)
    L_matvec, diag = lkm_laplacian(np.asarray(image, np.float64), epsilon=epsilon, radius=radius)
    c = 100.0 * known  # pymatting's lambda for the trimap's known pixels
    inv_diag = 1.0 / (diag + c)
    x0 = None if init is None else np.where(known, fg, np.asarray(init, np.float64).ravel())
    x = pm.cg(lambda v: L_matvec(v) + c * v, 100.0 * fg, x0=x0, M=lambda v: inv_diag * v, rtol=rtol)
    return np.clip(x, 0, 1).reshape(tri.shape).astype(np.float32)


def propagate_lkm(image: np.ndarray, trimap: np.ndarray, alpha: np.ndarray, share: float = 0.25,
                  weight: float = 0.05, radius: int = 1) -> np.ndarray:
    """``propagate`` followed by averaging with large-kernel matting: (1 - share) * propagated + share * lkm.
    share 0.25 was chosen on the validation part of alphamatting_dev (README, *Real photos*).
    Returns (H, W) float32 on [0, 1], the trimap's known pixels exact."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    propagated = propagate(image, trimap, alpha, weight=weight, radius=radius)
    if share == 0.0:
        return propagated
    # residual 1e-5 instead of pymatting's 1e-7: a third fewer iterations, and on the validation photos the
    # solution moves by at most 0.002, under half an 8-bit level once weighted by ``share``
    lkm = large_kernel_alpha(image, trimap, init=propagated, rtol=1e-5)
    tri = np.asarray(trimap)
    out = np.where(tri == 128, (1.0 - share) * propagated + share * lkm, propagated)
    return out.astype(np.float32)
