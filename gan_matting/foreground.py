"""Foreground colour F from an image and an alpha: the one place that decides which F is written.

    fg = estimate_foreground(image, alpha, "blur")     # (H, W, 3) float32 on [0, 1]
    fg = output_foreground(image, alpha, model_fg, "ml")   # what infer / video / the web page write

Methods:
- ``ml``: pymatting's multilevel estimate (Germer et al. 2020): a sparse solve, the most accurate here.
- ``blur``: blur fusion (Forte & Pitié, "Approximate Fast Foreground Colour Estimation", ICIP 2021): F and B
  are local alpha-weighted means, corrected so that the compositing equation holds; two passes (a wide
  window for a first F and B, a narrow one on top). Only box means, so it costs a fraction of ML.
- ``model``: the generator's own F head (falls back to ``ml`` when a network predicts no F).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

FG_METHODS = ("ml", "blur", "model")
# the two window radii of blur fusion as its authors use them (a first wide pass, then a narrow one)
BLUR_RADII = (90, 6)


# the wide pass's means are taken on WIDE_POOL x WIDE_POOL pixel averages: a 181 px window barely changes
# over 8 px, so F moves by < 0.01 (mean 5e-5 on a 1080p fur photo; a test bounds it) at 1/64 of the cost
WIDE_POOL = 8
# the narrow pass runs on CELL x CELL cells that hold a fractional alpha (sparse mode): elsewhere alpha is 0
# or 1, and F = image where alpha = 1 exactly, so a thin band costs its own area, not the frame's
CELL = 32
# the dense narrow pass (GPU) works on row strips of about this many pixels, so its memory does not grow
# with the frame (H200, 4K, the whole fast pipeline with F: 1.1 GiB in strips, 2.6 GiB with the whole frame)
STRIP_PX = 2 ** 21


def box_sums(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sums of x (B, C, H + 2r, W + 2r) over the (2r+1)^2 window centred on each of the inner H x W pixels
    -> (B, C, H, W). Summed-area tables: O(1) per pixel whatever r, where a 181-tap convolution costs 181x
    more at r = 90. Callers zero-pad x by r (or cut windows with r px of context). Export-friendly ops."""
    h, w = x.shape[-2] - 2 * r, x.shape[-1] - 2 * r
    c = F.pad(torch.cumsum(x, -1), (1, 0))
    x = c[..., 2 * r + 1:] - c[..., :w]
    # the row sums are (B, C, H + 2r, W): transposed to make the second prefix sum run along memory, which
    # is ~3x faster on a CPU than a cumsum across rows
    c = F.pad(torch.cumsum(x.transpose(-1, -2).contiguous(), -1), (1, 0))
    return (c[..., 2 * r + 1:] - c[..., :h]).transpose(-1, -2)


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean of x (B, C, H, W) over each (2r+1)^2 window clipped to the image (border pixels average only
    what lies inside)."""
    pad = (r, r, r, r)
    ones = F.pad(torch.ones_like(x[:, :1]), pad)
    return box_sums(F.pad(x, pad), r) / box_sums(ones, r)


def _wide_means(image: torch.Tensor, alpha: torch.Tensor, r: int) -> torch.Tensor:
    """Pass 1's F and B means (first F = B = image) on WIDE_POOL-pooled pixels (B, 6, ceil(H/s), ceil(W/s)).
    Each block's means are weighted by the share of it inside the image, as zero padding would; the full-
    resolution work is one product and three poolings."""
    s = WIDE_POOL
    h, w = image.shape[-2:]
    a_lo = F.avg_pool2d(alpha, s, ceil_mode=True)  # partial blocks: the mean of the pixels they hold
    ai_lo = F.avg_pool2d(image * alpha, s, ceil_mode=True)
    i_lo = F.avg_pool2d(image, s, ceil_mode=True)
    share_h = (h - torch.arange(a_lo.shape[-2], device=image.device) * s).clamp(max=s) / s
    share_w = (w - torch.arange(a_lo.shape[-1], device=image.device) * s).clamp(max=s) / s
    share = (share_h[:, None] * share_w[None, :]).to(image.dtype).expand_as(a_lo)
    lo = torch.cat([share, a_lo, ai_lo, i_lo - ai_lo], 1) * share
    rl = max(1, round(r / s))
    return _window_means(box_sums(F.pad(lo, (rl,) * 4), rl))


def _window_means(sums: torch.Tensor) -> torch.Tensor:
    """F and B means (B, 6, H, W) from window sums of ``_terms``: the alpha- and (1 - alpha)-weighted
    means of the current F and B (+1e-5 per pixel against windows without any)."""
    n, sa = sums[:, :1], sums[:, 1:2]
    return torch.cat([sums[:, 2:5] / (sa + 1e-5 * n), sums[:, 5:8] / (n - sa + 1e-5 * n)], 1)


def _fuse(image: torch.Tensor, alpha: torch.Tensor, means: torch.Tensor) -> tuple:
    """One blur-fusion update: F moves from its local mean by the residual of image = alpha F + (1 - alpha) B,
    in proportion to alpha; B is its local mean. Returns (F, B)."""
    f_mean, b_mean = means[:, :3], means[:, 3:]
    return (f_mean + alpha * (image - alpha * f_mean - (1 - alpha) * b_mean)).clamp(0, 1), b_mean


def _terms(inside: torch.Tensor, alpha: torch.Tensor, f: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """What the windows sum: [inside, alpha, F alpha, B (1 - alpha)], all zero outside the image."""
    return torch.cat([inside, alpha, f * alpha, b * (1 - alpha)], 1) * inside


def blur_fusion(image: torch.Tensor, alpha: torch.Tensor, radii=BLUR_RADII, cells: bool | None = None) -> torch.Tensor:
    """image (B, 3, H, W), alpha (B, 1, H, W) on [0, 1] -> F (B, 3, H, W). Two ``_fuse`` passes: the wide
    one on WIDE_POOL-pooled pixels, the narrow one at full resolution. ``cells`` (default: on the CPU) runs
    the narrow pass only on the CELL x CELL cells with a fractional alpha and writes the image elsewhere;
    F equals the dense result wherever alpha > 0. The dense pass goes in row strips of about STRIP_PX
    pixels, so its memory does not grow with the frame, and has input-independent shapes (CUDA graphs)."""
    wide, m = radii
    h, w = image.shape[-2:]
    means_lo = _wide_means(image, alpha, wide)
    big = (means_lo.shape[-2] * WIDE_POOL, means_lo.shape[-1] * WIDE_POOL)  # the padded grid pooling saw
    if cells is None:
        cells = image.device.type == "cpu"
    if not cells:
        step = max(CELL, STRIP_PX // w)
        parts = []
        for y0 in range(0, h, step):  # each strip with m rows of context (zero rows beyond the image)
            y1 = min(h, y0 + step)
            r0, r1 = max(0, y0 - m), min(h, y1 + m)
            pad = (m, m, m - (y0 - r0), m - (r1 - y1))
            means = _upsample_rows(means_lo, r0, r1, w, big)
            inside = F.pad(torch.ones_like(alpha[:, :, r0:r1]), pad)
            parts.append(_narrow_pass(F.pad(image[:, :, r0:r1], pad), F.pad(alpha[:, :, r0:r1], pad),
                                      F.pad(means, pad), inside, m))
        return torch.cat(parts, -2) if len(parts) > 1 else parts[0]
    from .inference.patches import extract_cells, extract_cells_resampled, scatter_cells
    fractional = ((alpha > 0) & (alpha < 1)).to(image.dtype)
    idx = (F.max_pool2d(fractional, CELL, ceil_mode=True)[:, 0] > 0).nonzero()
    if len(idx) == 0:
        return image.clone()
    ar = torch.arange(CELL + 2 * m, device=image.device) - m
    rows, cols = idx[:, 1:2] * CELL + ar, idx[:, 2:3] * CELL + ar
    inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
    f = _narrow_pass(extract_cells(image, idx, CELL, m), extract_cells(alpha, idx, CELL, m),
                     extract_cells_resampled(means_lo, idx, CELL, m, big), inside.to(image.dtype), m)
    return scatter_cells(image, f, idx, CELL)


def _narrow_pass(image: torch.Tensor, alpha: torch.Tensor, means: torch.Tensor, inside: torch.Tensor, m: int) -> torch.Tensor:
    """Pass 2 on windows with m px of context: pass 1's F and B from its upsampled ``means``, then window
    sums of radius m over the pixels ``inside`` the image. Returns F of the windows' cores."""
    f1, b1 = _fuse(image, alpha, means)
    sums = box_sums(_terms(inside, alpha, f1, b1), m)
    core = (Ellipsis, slice(m, image.shape[-2] - m), slice(m, image.shape[-1] - m))
    return _fuse(image[core], alpha[core], _window_means(sums))[0]


def _upsample_rows(src: torch.Tensor, r0: int, r1: int, w: int, size) -> torch.Tensor:
    """Rows r0..r1 and columns 0..w of ``F.interpolate(src, size, bilinear, align_corners=False)``, sampled
    directly (grid_sample, the same pixel-centre convention) so that the full-size map is never built."""
    big_h, big_w = size
    ys = ((torch.arange(r0, r1, device=src.device, dtype=src.dtype) + 0.5) / big_h * 2 - 1)
    xs = ((torch.arange(w, device=src.device, dtype=src.dtype) + 0.5) / big_w * 2 - 1)
    grid = torch.stack([xs[None, :].expand(len(ys), w), ys[:, None].expand(len(ys), w)], -1)
    return F.grid_sample(src, grid[None].expand(src.shape[0], -1, -1, -1), mode="bilinear",
                         padding_mode="border", align_corners=False)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, method: str = "ml", device: str | torch.device = "cpu") -> np.ndarray:
    """F (H, W, 3) float32 on [0, 1] from image (H, W, 3) and alpha (H, W), both on [0, 1]. ``blur`` runs
    on ``device`` (ML is a CPU solve)."""
    if method == "ml":
        from .baselines import ml_foreground
        return ml_foreground(image, alpha)
    if method == "blur":
        x = torch.from_numpy(np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)))[None].to(device)
        a = torch.from_numpy(np.ascontiguousarray(np.asarray(alpha, np.float32)))[None, None].to(device)
        with torch.no_grad():
            return blur_fusion(x, a)[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)
    raise ValueError(f"foreground method must be 'ml' or 'blur', got {method!r}")


def output_foreground(image: np.ndarray, alpha: np.ndarray, model_fg: Optional[np.ndarray], method: str,
                      device: str | torch.device = "cpu") -> np.ndarray:
    """The F to write: the model's own with ``model`` (ML when it has none), else estimated from alpha."""
    if method not in FG_METHODS:
        raise ValueError(f"foreground method must be one of {FG_METHODS}, got {method!r}")
    if method == "model":
        return model_fg if model_fg is not None else estimate_foreground(image, alpha, "ml")
    return estimate_foreground(image, alpha, method, device)
