"""Classical matting baselines from pymatting, run through the same harness as every model.

pymatting compiles its kernels with numba on first import (about a minute on 2 cores), so it is
imported lazily here and numba's cache is kept between runs (NUMBA_CACHE_DIR, set in gan_matting/__init__.py; default
~/.cache/gan_matting/numba).
"""

from __future__ import annotations

import contextlib
import io
from typing import Callable, Tuple

import numpy as np

from . import GanMattingError

METHODS = {"cf": "estimate_alpha_cf", "knn": "estimate_alpha_knn", "lkm": "estimate_alpha_lkm"}


def pymatting_module():
    """pymatting, imported on first use (its numba kernels compile or load from the cache then)."""
    try:
        import pymatting
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise GanMattingError(f"pymatting is not installed ({exc}); pip install pymatting") from None
    return pymatting


def solver(method: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if method not in METHODS:
        raise GanMattingError(f"unknown baseline {method!r}; choose from {', '.join(METHODS)}")
    return getattr(pymatting_module(), METHODS[method])


def trivial_alpha(tri: np.ndarray) -> np.ndarray | None:
    """The answer for trimaps that leave nothing to solve (tri on [0, 1]): no unknown pixel (the trimap
    itself), no known foreground (the energy minimum is alpha 0 everywhere unknown) or no known background
    (alpha 1). None when a solve is needed."""
    unknown = (tri > 0) & (tri < 1)
    if not unknown.any():
        return (tri >= 1).astype(np.float64)
    if not (tri >= 1).any():
        return np.zeros_like(tri)
    if not (tri <= 0).any():
        return np.ones_like(tri)
    return None


def run_baseline(method: str, image: np.ndarray, trimap: np.ndarray,
                 with_foreground: bool = True) -> Tuple[np.ndarray, np.ndarray | None]:
    """Alpha (and foreground) with a pymatting solver.

    image: (H, W, 3) float on [0, 1]; trimap: (H, W) uint8 on 0/128/255.
    Returns alpha (H, W) on [0, 1] and F (H, W, 3) on [0, 1] (``estimate_foreground_ml``) or None.
    """
    img = np.asarray(image, dtype=np.float64)
    tri = np.asarray(trimap, dtype=np.float64) / 255.0
    trivial = trivial_alpha(tri)
    if trivial is not None:  # nothing to solve: the solvers would fail or return this anyway
        return trivial.astype(np.float32), (image.astype(np.float32) if with_foreground else None)
    # pymatting prints "PERFORMANCE WARNING" each time its incomplete Cholesky retries with a larger
    # shift; the retry is the intended path, so keep the console readable
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            alpha = np.clip(solver(method)(img, tri), 0.0, 1.0)
    except (ValueError, ArithmeticError, RuntimeError, MemoryError) as exc:
        raise GanMattingError(f"{method} solver failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}") from None
    if not np.isfinite(alpha).all():
        raise GanMattingError(f"{method} solver did not converge (non-finite alpha)")
    return alpha.astype(np.float32), (ml_foreground(img, alpha) if with_foreground else None)


def ml_foreground(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colour from an image and *any* alpha: pymatting's multilevel estimate (Germer et al.
    2020). (H, W, 3) float32 on [0, 1]."""
    fg = pymatting_module().estimate_foreground_ml(np.asarray(image, np.float64), np.asarray(alpha, np.float64))
    return np.clip(fg, 0.0, 1.0).astype(np.float32)
