"""Pixel losses of the pix2pix-style objective. Tensors are (B, C, H, W) on [0, 1]; masks (B, 1, H, W).

Each loss is a masked mean: sum(|.| * mask) / (sum(mask) * channels + eps), so a region that is
small in one batch still counts per pixel as much as in another.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.filters import spatial_gradient
from kornia.geometry.transform import build_laplacian_pyramid

from ..data.composite import composite


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.expand_as(x)
    return (x * mask).sum() / (mask.sum() + 1e-6)


def alpha_l1(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 of alpha inside ``mask`` (the unknown band, or the known regions)."""
    return _masked_mean((pred - gt).abs(), mask)


def composition_loss(alpha: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, image: torch.Tensor,
                     mask: torch.Tensor) -> torch.Tensor:
    """DIM composition loss: |alpha * F + (1 - alpha) * B - I| inside mask (F, B the ground truth)."""
    return _masked_mean((composite(alpha, fg, bg) - image).abs(), mask)


def laplacian_loss(pred: torch.Tensor, gt: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """Laplacian-pyramid L1 (kornia pyramids), coarser levels weighted 2**i as in the matting literature."""
    levels = max(1, min(levels, int(torch.tensor(min(pred.shape[-2:])).log2().item()) - 2))
    pp = build_laplacian_pyramid(pred, levels)
    pg = build_laplacian_pyramid(gt, levels)
    return sum((2 ** i) * F.l1_loss(a, b) for i, (a, b) in enumerate(zip(pp, pg))) / levels


def gradient_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 between Sobel gradients (kornia) of predicted and true alpha inside mask."""
    gp = spatial_gradient(pred, mode="sobel")  # (B, C, 2, H, W)
    gg = spatial_gradient(gt, mode="sobel")
    return _masked_mean((gp - gg).abs().sum(dim=2), mask)


def fg_l1(fg: torch.Tensor, fg_gt: torch.Tensor, alpha_gt: torch.Tensor, has_fg: torch.Tensor) -> torch.Tensor:
    """L1 of the foreground colour where alpha > 0, for samples whose F is ground truth (has_fg = 1)."""
    mask = (alpha_gt > 0).to(fg.dtype) * has_fg.view(-1, 1, 1, 1).to(fg.dtype)
    return _masked_mean((fg - fg_gt).abs(), mask)


def trimap_ce(logits: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the trimap-free mode's coarse trimap (classes bg / unknown / fg)."""
    target = torch.round(trimap[:, 0] * 2).long().clamp(0, 2)
    return F.cross_entropy(logits, target)
