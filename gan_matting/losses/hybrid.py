"""BASNet's hybrid loss (Qin et al. 2019): BCE (pixel) + SSIM (patch structure) + IoU (map level).

    loss = hybrid_loss(pred, gt)                      # pred, gt: (B, 1, H, W) on [0, 1]
    loss = deep_supervision(out, gt, hybrid_loss)     # over out["alpha"] and every out["side_alphas"]

Each term sees the whole alpha map: BCE weighs every pixel alike, SSIM (kornia, 11 x 11 Gaussian window)
rewards the local structure of strands and edges, and the soft IoU penalises a wrong object extent
however thin it is. The terms are summed unweighted, as in the paper.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch
import torch.nn.functional as F
from kornia.losses import ssim_loss

EPS = 1e-4


def soft_iou_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """1 - sum(p g) / sum(p + g - p g), per image, averaged over the batch."""
    inter = (pred * gt).flatten(1).sum(1)
    union = (pred + gt - pred * gt).flatten(1).sum(1)
    return (1 - inter / union.clamp_min(EPS)).mean()


def hybrid_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    p = pred.float().clamp(EPS, 1 - EPS)  # BCE is undefined at exactly 0 and 1 (the clamped alphas touch them)
    g = gt.float()
    return F.binary_cross_entropy(p, g) + ssim_loss(p, g, window_size=11) + soft_iou_loss(p, g)


def deep_supervision(out: Dict[str, object], gt: torch.Tensor,
                     loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``loss`` on the final alpha plus the mean over the side alphas (when the generator gives any)."""
    total = loss(out["alpha"], gt)
    sides = out.get("side_alphas") or []
    if sides:
        total = total + sum(loss(s, gt) for s in sides) / len(sides)
    return total
