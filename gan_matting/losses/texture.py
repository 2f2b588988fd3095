"""Texture terms for the refiner: hair strands keep their orientation and their statistics.

    gabor_structure_loss(pred, target)   # L1 between oriented Gabor responses of two alpha mattes
    gram_style_loss(pred, target)        # L1 between Gram matrices of multi-scale Gabor features

Both take (N, C, H, W) maps. The filter bank is fixed (not learned, not downloaded): ``n_orient``
orientations x two wavelengths, even (cosine) phase, zero mean so flat regions respond 0. kornia has no
Gabor filter, so the bank is built here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F


@lru_cache(maxsize=8)
def _bank(n_orient: int, size: int) -> torch.Tensor:
    """(n_orient * 2, 1, size, size) float32 zero-mean, unit-L1 Gabor kernels."""
    r = size // 2
    y, x = torch.meshgrid(torch.arange(-r, r + 1, dtype=torch.float64), torch.arange(-r, r + 1, dtype=torch.float64),
                          indexing="ij")
    kernels = []
    for lam in (3.0, 6.0):
        sigma = 0.56 * lam
        for i in range(n_orient):
            th = math.pi * i / n_orient
            xr = x * math.cos(th) + y * math.sin(th)
            yr = -x * math.sin(th) + y * math.cos(th)
            k = torch.exp(-(xr ** 2 + (0.5 * yr) ** 2) / (2 * sigma ** 2)) * torch.cos(2 * math.pi * xr / lam)
            k = k - k.mean()
            kernels.append(k / k.abs().sum())
    return torch.stack(kernels)[:, None].float()


def gabor_responses(x: torch.Tensor, n_orient: int = 8, size: int = 11) -> torch.Tensor:
    """x (N, C, H, W) -> (N, C * 2 * n_orient, H, W), each channel filtered by each kernel (reflect-padded)."""
    n, c, h, w = x.shape
    k = _bank(n_orient, size).to(x.device, x.dtype)
    xp = F.pad(x.reshape(n * c, 1, h, w), (size // 2,) * 4, mode="reflect")
    return F.conv2d(xp, k).reshape(n, c * k.shape[0], h, w)


def gabor_structure_loss(pred: torch.Tensor, target: torch.Tensor, n_orient: int = 8) -> torch.Tensor:
    return (gabor_responses(pred, n_orient) - gabor_responses(target, n_orient)).abs().mean()


def _gram(feat: torch.Tensor) -> torch.Tensor:
    n, c, h, w = feat.shape
    f = feat.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def gram_style_loss(pred: torch.Tensor, target: torch.Tensor, n_orient: int = 8) -> torch.Tensor:
    """Gram matrices of rectified Gabor features at full and half resolution (texture statistics)."""
    loss = pred.new_zeros(())
    for s in (1, 2):
        p = pred if s == 1 else F.avg_pool2d(pred, s)
        t = target if s == 1 else F.avg_pool2d(target, s)
        fp, ft = F.relu(gabor_responses(p, n_orient)), F.relu(gabor_responses(t, n_orient))
        loss = loss + (_gram(fp) - _gram(ft)).abs().mean()
    return loss
