"""Very large inputs in overlapping tiles, blended with cosine (Hann) ramps.

    out = tiled_predict(fn, x, t, tile=1024, overlap=64)   # fn(x_tile, t_tile) -> {"alpha": .., "fg": ..}
    tile = auto_tile_size(device, bytes_per_px)             # from free CUDA memory or available RAM
    out = predict_with_fallback(fn, x, t, tile)             # halves the tile on out-of-memory

Each tile's weight is 1 in its interior and rises as a half Hann window over ``overlap`` pixels at every
edge it shares with another tile (not at the image border), so the weights of overlapping tiles sum to 1.
For a network whose receptive field fits inside the overlap, the result equals the untiled one outside the
overlap strips exactly, and within them up to the network's own border effects.
"""

from __future__ import annotations

import math
import os
from typing import Callable, Dict, List, Optional

import torch

from .. import GanMattingError

TileFn = Callable[[torch.Tensor, Optional[torch.Tensor]], Dict[str, torch.Tensor]]
MIN_TILE = 128


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets covering [0, length) with tiles of ``tile`` px overlapping by at least ``overlap``."""
    if tile >= length:
        return [0]
    n = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (n - 1)
    return [round(i * step) for i in range(n)]


def _ramp(start: int, tile: int, prev_end: Optional[int], next_start: Optional[int]) -> torch.Tensor:
    """1-D weight of one tile: half-Hann ramps over the parts shared with its neighbours."""
    w = torch.ones(tile, dtype=torch.float64)
    if prev_end is not None and prev_end > start:  # shared with the previous tile: rise over [start, prev_end)
        n = prev_end - start
        w[:n] = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n)
    if next_start is not None and next_start < start + tile:  # shared with the next: fall
        n = start + tile - next_start
        w[tile - n:] = torch.minimum(w[tile - n:], 0.5 + 0.5 * torch.cos(
            math.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n))
    return w


def _weights_1d(length: int, tile: int, overlap: int):
    starts = tile_starts(length, tile, overlap)
    size = min(tile, length)
    ws = []
    for i, s in enumerate(starts):
        prev_end = starts[i - 1] + size if i > 0 else None
        nxt = starts[i + 1] if i + 1 < len(starts) else None
        ws.append(_ramp(s, size, prev_end, nxt))
    return starts, size, ws


@torch.no_grad()
def tiled_predict(fn: TileFn, x: torch.Tensor, t: Optional[torch.Tensor], tile: int, overlap: int = 64) -> Dict[str, torch.Tensor]:
    """Run fn on overlapping tiles of x (B, 3, H, W) and trimap t (B, 1, H, W) and blend the outputs."""
    h, w = x.shape[-2:]
    overlap = min(overlap, tile // 4)  # small tiles (after an out-of-memory fallback) keep most of their area
    if tile < MIN_TILE // 2 or overlap < 1:
        raise GanMattingError(f"tile size {tile} px is too small (at least {MIN_TILE // 2})")
    ys, th, wys = _weights_1d(h, tile, overlap)
    xs, tw, wxs = _weights_1d(w, tile, overlap)
    # float32 accumulators (not the input's dtype, not float64): exact enough for weights that sum to 1,
    # and at 8K the full-size buffers stay at 5 x 133 MB, inside a 2 GiB GPU budget
    acc: Dict[str, torch.Tensor] = {}
    norm = torch.zeros(1, 1, h, w, dtype=torch.float32, device=x.device)
    for y0, wy in zip(ys, wys):
        for x0, wx in zip(xs, wxs):
            sl = (..., slice(y0, y0 + th), slice(x0, x0 + tw))
            out = fn(x[sl], t[sl] if t is not None else None)
            wt = (wy[:, None] * wx[None, :]).to(x.device, torch.float32)
            for k in ("alpha", "fg"):
                if k not in acc:
                    acc[k] = torch.zeros(x.shape[0], out[k].shape[1], h, w, dtype=torch.float32, device=x.device)
                acc[k][sl] += out[k].float() * wt
            norm[sl] += wt
    return {k: v.div_(norm).to(x.dtype) for k, v in acc.items()}  # in place: no second full-size copy


def available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def auto_tile_size(device: torch.device, bytes_per_px: float, fraction: float = 0.25, cap: int = 4096) -> int:
    """The largest square tile (multiple of 64) whose estimated working memory fits in ``fraction`` of
    what is free now."""
    side = int(math.sqrt(fraction * available_bytes(device) / bytes_per_px)) // 64 * 64
    return max(MIN_TILE, min(cap, side))


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or "out of memory" in str(exc).lower()


def predict_with_fallback(fn: TileFn, x: torch.Tensor, t: Optional[torch.Tensor], tile: int,
                          overlap: int = 64) -> Dict[str, torch.Tensor]:
    """Untiled when the image fits in one tile, else tiled; on out-of-memory the tile is halved and the
    image started again, down to MIN_TILE."""
    while True:
        try:
            if max(x.shape[-2:]) <= tile:
                return fn(x, t)
            return tiled_predict(fn, x, t, tile, overlap)
        except (RuntimeError, MemoryError) as exc:
            if not _is_oom(exc) or tile // 2 < MIN_TILE:
                raise
            if x.device.type == "cuda":
                torch.cuda.empty_cache()
            tile //= 2
            print(f"out of memory: retrying with {tile} px tiles", flush=True)
