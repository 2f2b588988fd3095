"""Classical matting solutions used as *inputs* of the generator (DCNN matting, Cho et al. ECCV 2016).

    prior = classical_prior("cf", image, trimap)   # image (H, W, 3) float on [0, 1]; trimap uint8 0/128/255
    # -> (H, W) float32 alpha on [0, 1], known trimap regions exact

The generator then predicts a correction of this alpha. A prior spec names the solvers and how they are
used: ``"cf"`` corrects cf; ``"cf+knn"`` corrects cf and sees knn as an extra input; ``"blend:cf+knn"``
corrects a per-pixel, learned convex blend of cf and knn (softmax weights from the generator's head),
because neither solver wins everywhere: knn's non-local affinities win on plants and holes, cf on
hair and plush. A solve costs seconds, so results are cached
on disk by content hash (image bytes + trimap bytes + method) under ``~/.cache/gan_matting/priors``
(``GAN_MATTING_CACHE`` overrides the root): training crops and repeated validations pay once.
``GAN_MATTING_PRIOR_CACHE=0`` switches the cache off (benchmarks time the solve every time).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .baselines import run_baseline

BLEND_PREFIX = "blend:"


def prior_methods(prior: str) -> list:
    """"cf" -> ["cf"]; "cf+knn" or "blend:cf+knn" -> ["cf", "knn"] (without "blend:", the first one is
    the alpha the generator corrects)."""
    return [m for m in prior.removeprefix(BLEND_PREFIX).split("+") if m]


def prior_is_blend(prior: str) -> bool:
    """Whether the generator corrects a learned blend of all its priors rather than the first one."""
    return prior.startswith(BLEND_PREFIX)


def prior_stack(prior: str, image: np.ndarray, trimap: np.ndarray, cache: bool = True) -> np.ndarray:
    """All priors of ``prior`` as (H, W, K) float32 (K = number of methods)."""
    return np.stack([classical_prior(m, image, trimap, cache) for m in prior_methods(prior)], axis=-1)


def cache_dir() -> Path:
    root = os.environ.get("GAN_MATTING_CACHE") or str(Path.home() / ".cache" / "gan_matting")
    return Path(root) / "priors"


def _key(method: str, image: np.ndarray, trimap: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(method.encode())
    img8 = np.clip(np.round(np.asarray(image, np.float64) * 255), 0, 255).astype(np.uint8)
    for a in (img8, np.asarray(trimap, np.uint8)):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:32]


def classical_prior(method: str, image: np.ndarray, trimap: np.ndarray, cache: bool = True) -> np.ndarray:
    """Alpha of a pymatting solver on (image, trimap). Degenerate trimaps (no foreground or no
    background) give the trimap itself with 0.5 in the unknown band rather than a solver failure."""
    tri = np.asarray(trimap, np.uint8)
    cache = cache and os.environ.get("GAN_MATTING_PRIOR_CACHE", "1") != "0"
    if not (tri == 0).any() or not (tri == 255).any():
        return np.where(tri == 128, 0.5, tri / 255.0).astype(np.float32)
    path = cache_dir() / f"{_key(method, image, tri)}.npy"
    if cache and path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):  # a damaged cache entry is recomputed
            pass
    alpha, _ = run_baseline(method, image, tri, with_foreground=False)
    if cache:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file object: np.save would append ".npy" to a name
                np.save(fh, alpha)
        atomic_write(path, write)
    return alpha
