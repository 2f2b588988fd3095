"""Matte images with a generator, and the one loop that mattes many images.

    alpha, fg = predict_image(G, image, trimap)   # image (H, W, 3) float on [0, 1]; trimap (H, W) uint8 0/128/255
    for p in predict_many(fn, jobs):              # fn(image, trimap) -> (alpha, fg or None); jobs: [Job]
        p.name, p.alpha, p.fg, p.seconds

``predict_many`` serves ``infer``, ``eval --method`` / the demo and training-time validation alike: it
reads each job's image and trimap, checks that their sizes agree, times the call and yields the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .. import GanMattingError
from ..data.io import read_rgb, read_trimap
from ..data.trimap_format import apply_known, trimap_to_unit

PredictFn = Callable[[np.ndarray, Optional[np.ndarray]], Tuple[np.ndarray, Optional[np.ndarray]]]


@torch.no_grad()
def predict_tensor(G: torch.nn.Module, image: torch.Tensor, trimap: Optional[torch.Tensor],
                   prior: Optional[torch.Tensor] = None) -> dict:
    """image (B, 3, H, W) in [0, 1]; trimap (B, 1, H, W) in {0, 0.5, 1} or None; prior (B, 1, H, W)
    for generators built with a classical prior. Known regions copied."""
    if getattr(G, "prior", ""):
        out = G(image, trimap, prior)
    else:
        out = G(image, None if getattr(G, "trimap_free", False) else trimap)
    if trimap is not None:
        out["alpha"] = apply_known(out["alpha"], trimap)
    return out


# peak working memory of full-resolution inference per pixel (U-Net + closed-form prior, measured 1.85 GB
# peak RSS on a 1621x1080 photo), used to pick tile sizes from free memory
BYTES_PER_PX = 1200
MAX_TILE = 2048  # the classical prior's solve time grows quickly with the tile, so tiles stay moderate
# on CUDA, 1024 px tiles were both faster than 2048 px ones and inside a 2 GiB VRAM budget at 8K (H200, fp16:
# 209 vs 232 ms, 1.5 vs 2.4 GiB; docs/bench_cuda_h200.md), so a GPU never picks larger ones by itself
CUDA_MAX_TILE = 1024


@torch.no_grad()
def predict_image(G: torch.nn.Module, image: np.ndarray, trimap: Optional[np.ndarray] = None,
                  max_side: int = 0, device: str | torch.device = "cpu", tile: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Returns alpha (H, W) and fg (H, W, 3), float32 on [0, 1]. With max_side > 0 the image is
    processed at most that large and the result resized back (known trimap regions re-applied).
    Images larger than a tile (``tile`` px, 0 = chosen from free memory) run in Hann-blended tiles.
    A generator with a classical prior gets it computed here (cached), so callers pass image + trimap only."""
    from .tiles import auto_tile_size, predict_with_fallback
    h, w = image.shape[:2]
    device = torch.device(device)
    dtype = next(G.parameters()).dtype  # fp16 when the caller half()-ed G (CUDA)
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device, dtype)
    t = None
    if trimap is not None:
        t = torch.from_numpy(trimap_to_unit(trimap))[None, None].to(device, dtype)
    tile = tile or auto_tile_size(device, BYTES_PER_PX, fraction=0.5, cap=CUDA_MAX_TILE if device.type == "cuda" else MAX_TILE)

    def run(xx: torch.Tensor, tt: Optional[torch.Tensor]) -> dict:
        out = predict_tensor(G, xx, tt, _prior(G, xx, tt))
        return {"alpha": out["alpha"], "fg": out["fg"]}

    scale = min(1.0, max_side / max(h, w)) if max_side else 1.0
    if scale < 1.0:
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        xs = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=True).to(dtype)
        ts = F.interpolate(t, size=size, mode="nearest") if t is not None else None
        out = predict_with_fallback(run, xs, ts, tile)
        out = {k: F.interpolate(v, size=(h, w), mode="bilinear", align_corners=False) for k, v in out.items()}
        if t is not None:
            out["alpha"] = apply_known(out["alpha"], t)
    else:
        out = predict_with_fallback(run, x, t, tile)
    alpha = out["alpha"][0, 0].clamp(0, 1).float().cpu().numpy()
    fg = out["fg"][0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
    return alpha.astype(np.float32), fg.astype(np.float32)


def _prior(G: torch.nn.Module, x: torch.Tensor, t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """The classical alpha a prior-based generator needs, at the resolution it runs at."""
    method = getattr(G, "prior", "")
    if not method:
        return None
    if t is None:
        raise GanMattingError(f"these weights correct a {method!r} prior and need a trimap")
    from ..priors import prior_stack
    img = x[0].permute(1, 2, 0).cpu().numpy().astype(np.float64)
    tri = np.round(t[0, 0].cpu().numpy() * 255).astype(np.uint8)
    return torch.from_numpy(prior_stack(method, img, tri)).permute(2, 0, 1)[None].to(x.device, x.dtype)


@dataclass
class Job:
    """One image to matte: a name for the outputs, the image file and (optionally) its trimap file."""
    name: str
    image: Path
    trimap: Optional[Path] = None


@dataclass
class Prediction:
    name: str
    image: np.ndarray             # (H, W, 3) float32 on [0, 1]
    trimap: Optional[np.ndarray]  # (H, W) uint8 0/128/255
    alpha: np.ndarray             # (H, W) float32 on [0, 1]
    fg: Optional[np.ndarray]      # (H, W, 3) float32 on [0, 1]
    seconds: float                # time of the prediction call only (no file IO)


def predict_many(predict: PredictFn, jobs: Iterable[Job], progress: bool = False,
                 desc: str = "predict", failed: Optional[List[Tuple[Job, str]]] = None) -> Iterator[Prediction]:
    """Read, check and matte each job in turn. With a ``failed`` list, a job whose files are bad (or whose
    solve fails with a GanMattingError) is appended there with the reason and the loop goes on;
    without one the first error stops it."""
    jobs = list(jobs)
    if progress:
        from tqdm import tqdm
        jobs = tqdm(jobs, desc=desc)
    for job in jobs:
        try:
            img = read_rgb(job.image)
            tri = read_trimap(job.trimap) if job.trimap is not None else None
            if tri is not None and tri.shape != img.shape[:2]:
                raise GanMattingError(f"size mismatch: {job.image} is {img.shape[1]}x{img.shape[0]}, "
                                      f"{job.trimap} is {tri.shape[1]}x{tri.shape[0]}")
            t0 = time.perf_counter()
            alpha, fg = predict(img, tri)
        except GanMattingError as exc:
            if failed is None:
                raise
            failed.append((job, str(exc)))
            continue
        yield Prediction(job.name, img, tri, alpha, fg, time.perf_counter() - t0)


POST_PROCESSES = ("auto", "none", "propagate", "propagate+lkm")
AUTO_POST = "propagate+lkm"   # the best real-photo numbers (README, *Real photos*)
# ``auto`` skips the solves above ~1080p: their time grows faster than the pixel count (experiments/post_cost.py
# on a 1462x1080 fur photo, 12 % unknown: propagation 4.8 s, the lkm solve 82 s from a flat start, < 1.4 GiB)
AUTO_POST_MAX_PX = 2_200_000


def post_processor(post: str = "none", weight: float = 0.05, radius: int = 1, lkm_share: float = 0.25):
    """``(image, trimap, alpha) -> alpha``: the quality mode's post-process, whatever produced alpha
    (``propagate``: the matting Laplacian with the network's alpha as a soft data term of weight ``weight``:
    smaller trusts the image's colour lines more, larger the network; ``radius``: the Laplacian's window
    radius; ``propagate+lkm``: the same, then averaged with large-kernel matting, ``lkm_share`` of it;
    ``auto``: ``propagate+lkm`` on images up to ``AUTO_POST_MAX_PX`` pixels, none above).
    Post-processes need a trimap; without one alpha is returned as it is."""
    if post not in POST_PROCESSES:
        raise GanMattingError(f"unknown post-process {post!r}; choose from {', '.join(POST_PROCESSES)}")

    def apply(img: np.ndarray, tri: Optional[np.ndarray], alpha: np.ndarray) -> np.ndarray:
        chosen = post
        if post == "auto":
            chosen = AUTO_POST if alpha.size <= AUTO_POST_MAX_PX else "none"
        if chosen == "propagate" and tri is not None:
            from ..postprocess import propagate
            alpha = propagate(img, tri, alpha, weight=weight, radius=radius)
        elif chosen == "propagate+lkm" and tri is not None:
            from ..postprocess import propagate_lkm
            alpha = propagate_lkm(img, tri, alpha, share=lkm_share, weight=weight, radius=radius)
        return alpha
    return apply


def with_post(predict: PredictFn, post: str = "none", weight: float = 0.05, radius: int = 1,
              lkm_share: float = 0.25) -> PredictFn:
    """``predict`` (image, trimap) -> (alpha, fg), followed by ``post_processor``'s post-process on alpha."""
    apply = post_processor(post, weight, radius, lkm_share)
    if post == "none":
        return predict

    def predict_post(img: np.ndarray, tri: Optional[np.ndarray]):
        alpha, fg = predict(img, tri)
        return apply(img, tri, alpha), fg
    return predict_post


def generator_predictor(G: torch.nn.Module, max_side: int = 0, device: str | torch.device = "cpu",
                        post: str = "none", tile: int = 0, post_weight: float = 0.05,
                        post_radius: int = 1, lkm_share: float = 0.25) -> PredictFn:
    """``predict_many``'s callable for a generator network, optionally followed by a post-process
    (``post_processor``: none, propagate, propagate+lkm or auto)."""
    return with_post(lambda img, tri: predict_image(G, img, tri, max_side, device, tile),
                     post, post_weight, post_radius, lkm_share)
