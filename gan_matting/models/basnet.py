"""BASNet's residual refinement module (Qin et al. 2019) as a head on the U-Net generator.

    G = BASNetGenerator(width=16, depth=5)   # U-Net predicts a coarse alpha, the RRM adds a residual
    out = G(image, trimap)                   # the U-Net output dict with the refined alpha, plus
    out["side_alphas"]: [coarse alpha]       # deep supervision of the coarse prediction

The RRM is a small encoder-decoder (``levels`` max-pooled stages, a bridge, a decoder with skips) that
sees the coarse alpha and the image and predicts a correction; it starts at exactly zero, so an untrained
head leaves the coarse alpha unchanged. Its training loss is BASNet's hybrid loss (BCE + SSIM + IoU,
``losses.hybrid``; ``loss.lambda_hybrid``), applied to the final and the side alphas.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import conv_norm_act
from .registry import register_network
from .unet import UNetGenerator


class ResidualRefinement(nn.Module):
    """(B, 1 + 3, H, W) coarse alpha + image -> (B, 1, H, W) residual; any H x W."""

    def __init__(self, width: int = 32, levels: int = 4, norm: str = "batch"):
        super().__init__()
        self.inp = nn.Conv2d(4, width, 3, padding=1)
        self.enc = nn.ModuleList([conv_norm_act(width, width, norm) for _ in range(levels)])
        self.bridge = conv_norm_act(width, width, norm)
        self.dec = nn.ModuleList([conv_norm_act(2 * width, width, norm) for _ in range(levels)])
        self.out = nn.Conv2d(width, 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, alpha: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([alpha, image], dim=1))
        skips = []
        for conv in self.enc:
            h = conv(h)
            skips.append(h)
            h = F.max_pool2d(h, 2, ceil_mode=True)
        h = self.bridge(h)
        for conv in self.dec:
            s = skips.pop()
            h = conv(torch.cat([F.interpolate(h, size=s.shape[-2:], mode="bilinear", align_corners=False), s], dim=1))
        return self.out(h)


@register_network("basnet")
class BASNetGenerator(nn.Module):
    def __init__(self, width: int = 16, depth: int = 5, max_width: int = 128, norm: str = "batch",
                 trimap_free: bool = False, error_head: bool = False, prior: str = ""):
        super().__init__()
        self.depth, self.trimap_free, self.error_head, self.prior = depth, trimap_free, error_head, prior
        self.backbone = UNetGenerator(width, depth, max_width, norm, trimap_free, error_head, prior)
        self.refine = ResidualRefinement(max(width, 16), 4, norm)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        out = self.backbone(image, trimap, prior)
        coarse = out["alpha"]
        out["alpha"] = (coarse + self.refine(coarse, image)).clamp(0, 1)
        out["side_alphas"] = [coarse]
        return out
