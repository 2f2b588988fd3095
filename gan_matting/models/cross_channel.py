"""Cross-mask per-channel processing: one shared U-Net per colour channel and per channel pair, fused.

    G = CrossChannelGenerator(width=8, depth=4)
    out = G(image, trimap)      # the generator output dict; out["channel_alphas"]: (B, 6, H, W)

Where foreground and background differ in one channel only (red hair on green leaves, a gold chain on
skin), a network that sees that channel alone, or its contrast with another one, finds the edge a
luminance-dominated RGB network blurs. Six branches share one small U-Net, each seeing two image planes
plus the conditioning (one-hot trimap, and the prior when built with one): the single channels
(R, R), (G, G), (B, B) and the cross pairs (R, G), (G, B), (B, R). Each branch predicts an alpha; a fusion
head sees the six alphas, the branches' features and the full input, and predicts the output channels
like the other generators. The branches run as one batch (6 x B), so the cost is one small U-Net on 6 x B.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn

from .layers import generator_input, head_outputs, input_channels, output_channels, output_head
from .registry import register_network
from .unet import UNetCore, pad_to_multiple

PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (2, 0))  # (image plane, partner plane)


@register_network("cross_channel")
class CrossChannelGenerator(nn.Module):
    def __init__(self, width: int = 8, depth: int = 4, max_width: int = 64, norm: str = "batch",
                 trimap_free: bool = False, error_head: bool = False, prior: str = ""):
        super().__init__()
        self.depth, self.trimap_free, self.error_head, self.prior = depth, trimap_free, error_head, prior
        cin = input_channels(trimap_free, prior)
        self.n_cond = cin - 3
        self.branch = UNetCore(2 + self.n_cond, width, depth, max_width, norm)
        self.branch_alpha = nn.Conv2d(width, 1, 3, padding=1)
        fuse_in = len(PAIRS) * (1 + width) + cin
        self.head = output_head(fuse_in, 2 * width, output_channels(error_head, trimap_free), prior)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        x = pad_to_multiple(generator_input(image, trimap, prior, self.trimap_free, self.prior), 2 ** self.depth)
        b = x.shape[0]
        cond = x[:, 3:]
        branches = torch.cat([torch.cat([x[:, i:i + 1], x[:, j:j + 1], cond], dim=1) for i, j in PAIRS])  # (6B, ...)
        feats = self.branch(branches)
        alphas = self.branch_alpha(feats)
        feats = feats.reshape(len(PAIRS), b, *feats.shape[1:]).permute(1, 0, 2, 3, 4).flatten(1, 2)
        alphas = alphas.reshape(len(PAIRS), b, *alphas.shape[1:]).permute(1, 0, 2, 3, 4).flatten(1, 2)
        out = head_outputs(self.head, torch.cat([alphas, feats], dim=1), x, image, prior if self.prior else None,
                           (h, w), self.error_head, self.trimap_free)
        out["channel_alphas"] = alphas[..., :h, :w].clamp(0, 1)
        return out
