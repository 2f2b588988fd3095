"""Stage 2 of coarse-to-fine matting: the networks that refine full-resolution patches.

    head = build_network("coarse_error", width=16)
    err = head(image_s, alpha_s, fg_s, trimap_s)     # all (B, C, h, w) at the coarse size -> (B, 1, h, w) >= 0
    ref = build_network("patch_refiner", width=16, n_layers=4)
    out = ref(cells)     # cells (N, 9, P + 2m, P + 2m) -> {"alpha": (N, 1, P, P), "fg": (N, 3, P, P)}

The refiner sees, per cell, the full-resolution image, the upsampled coarse alpha / foreground / error
and the trimap (``REFINER_INPUTS`` channels, in that order), then optionally (``prior_channel``) the
coarse generator's classical prior brought to full size by the same guided upsampling, then optionally
(``context_sigma`` > 0) the coarse alpha blurred with that Gaussian sigma (in coarse pixels) and upsampled: the
low-frequency surround a 9 x 9 window cannot see, so that the refiner can learn *where* to lift detail out of
it (an unsharp mask of the band helps fur and procedural hair and hurts the hair photo), then optionally
``feat_channels`` of the coarse generator's hidden features, upsampled (BackgroundMattingV2 hands its refiner the same kind of
context: what the coarse network knows about a region that a 9 x 9 window cannot see). Its 3x3 convolutions are *valid* (no
padding): each eats one pixel of context per side, so ``margin == n_layers`` and a cell's result depends
only on its own window. That makes patch selection, scattering and tiling exact by construction.
It predicts residuals on top of the coarse alpha / foreground, zero-initialised, so an untrained refiner
returns the coarse result. With the prior channel it also predicts a per-pixel gate g and returns
``alpha + tanh(g) * (prior - alpha) + residual``: a learned choice between two estimates that err in
different places (the network corrects cf where cf fails, and cf keeps strands the coarse grid loses).
When the coarse alpha is already the average ``(1 - s) * network + s * prior`` (``prior_share`` s = 0.5),
tanh's range [-1, 1] spans exactly the network's alpha (-1) to the prior (+1).
"""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_network

REFINER_INPUTS = ("image", "alpha", "fg", "error", "trimap")  # 3 + 1 + 3 + 1 + 1 channels
REFINER_CHANNELS = 9


@register_network("patch_refiner")
class PatchRefiner(nn.Module):
    def __init__(self, width: int = 16, n_layers: int = 4, feat_channels: int = 0, prior_channel: bool = False,
                 context_sigma: float = 0.0):
        super().__init__()
        if n_layers < 2 or context_sigma < 0:
            raise ValueError("patch_refiner needs n_layers >= 2 and context_sigma >= 0")
        self.margin, self.feat_channels, self.prior_channel = n_layers, feat_channels, bool(prior_channel)
        self.context_sigma = float(context_sigma)  # read by the pipeline, which makes the channel
        chans = [self.in_channels] + [width] * (n_layers - 2) + [width // 2]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3), nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(chans[-1], 5 if self.prior_channel else 4, 3)  # alpha, fg residuals [, gate]
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def in_channels(self) -> int:
        return REFINER_CHANNELS + int(self.prior_channel) + int(self.context_sigma > 0) + self.feat_channels

    def forward(self, cells: torch.Tensor) -> Dict[str, torch.Tensor]:
        m = self.margin
        core = cells[:, :, m:-m, m:-m]
        delta = self.head(self.body(cells))
        base = core[:, 3:4]
        if self.prior_channel:
            prior = core[:, REFINER_CHANNELS:REFINER_CHANNELS + 1]
            base = base + torch.tanh(delta[:, 4:5]) * (prior - base)
        alpha = (base + delta[:, :1]).clamp(0, 1)
        fg = (core[:, 4:7] + delta[:, 1:4]).clamp(0, 1)
        return {"alpha": alpha, "fg": fg}


@register_network("coarse_error")
class CoarseErrorHead(nn.Module):
    """Predicts |alpha_coarse - alpha| at the coarse size, for generators built without an error head."""

    def __init__(self, width: int = 16, n_layers: int = 4):
        super().__init__()
        layers, cin = [], 8
        for _ in range(n_layers - 1):
            layers += [nn.Conv2d(cin, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
            cin = width
        layers.append(nn.Conv2d(cin, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, alpha: torch.Tensor, fg: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.net(torch.cat([image, alpha, fg, trimap], dim=1)))
