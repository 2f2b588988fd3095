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


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean of x (B, C, H, W) over each (2r+1)^2 window clipped to the image (border pixels average only
    what lies inside). Summed-area tables: O(1) per pixel whatever r, where a 181-tap convolution
    (kornia's box_blur) costs 181x more at r = 90. Views and one subtraction per axis: export-friendly."""
    h, w = x.shape[-2:]
    # prefix sums with a leading 0, then edge-replicated by r: left pads repeat the 0, right pads the total,
    # so window i is c[i + 2r + 1] - c[i] for every i, borders included
    c = F.pad(F.pad(torch.cumsum(x, -1), (1, 0)), (r, r, 0, 0), mode="replicate")
    x = (c[..., 2 * r + 1:] - c[..., :w]) / _window_counts(w, r, x)
    c = F.pad(F.pad(torch.cumsum(x, -2), (0, 0, 1, 0)), (0, 0, r, r), mode="replicate")
    return (c[..., 2 * r + 1:, :] - c[..., :h, :]) / _window_counts(h, r, x)[:, None]


def _window_counts(n: int, r: int, like: torch.Tensor) -> torch.Tensor:
    ar = torch.arange(n, device=like.device)
    return ((ar + r + 1).clamp(max=n) - (ar - r).clamp(min=0)).to(like.dtype)


def blur_fusion(image: torch.Tensor, alpha: torch.Tensor, radii=BLUR_RADII) -> torch.Tensor:
    """image (B, 3, H, W), alpha (B, 1, H, W) on [0, 1] -> F (B, 3, H, W). Each pass: F and B are the
    alpha- and (1 - alpha)-weighted local means of the current estimates, then F moves by the residual of
    image = alpha F + (1 - alpha) B, in proportion to alpha."""
    f, b = image, image
    for r in radii:
        wa = box_mean(alpha, r)
        f_mean = box_mean(f * alpha, r) / (wa + 1e-5)
        b_mean = box_mean(b * (1 - alpha), r) / (1 - wa + 1e-5)
        f = (f_mean + alpha * (image - alpha * f_mean - (1 - alpha) * b_mean)).clamp(0, 1)
        b = b_mean
    return f


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
