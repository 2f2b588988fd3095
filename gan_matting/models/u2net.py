"""U²-Net's ReSidual U-blocks (Qin et al. 2020) as the generator's encoder.

    G = U2NetGenerator(width=16, depth=5)    # encoder RSU-7, RSU-6, RSU-5, RSU-4, RSU-4F
    out = G(image, trimap)                   # the U-Net generator's output dict, plus
    out["side_alphas"]: [(B, 1, H, W)] * depth   one sigmoid alpha per decoder stage (deep supervision)

An RSU-L block is a small U-Net of height L inside one stage: a conv to ``cout``, an encoder of L-1
convs with max-pooling between them, a dilated conv at its bottom, a decoder that concatenates the
matching encoder feature at each level, and the block's input conv added back (the residual). Deeper
stages run on smaller maps, so their blocks are shorter; the last stage of a depth-5 encoder is RSU-4F,
dilated instead of pooled (its map is already small). The decoder is the U-Net generator's (bilinear
upsampling + convs); side outputs of every decoder stage give BASNet/U²-Net-style deep supervision
(``loss.lambda_hybrid``).
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import conv_norm_act, generator_input, head_outputs, input_channels, output_channels, output_head
from .registry import register_network
from .unet import Up, pad_to_multiple


def _up_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class RSU(nn.Module):
    """ReSidual U-block of height ``height`` (>= 3); ``dilated`` = RSU-F (no pooling, dilations 1, 2, 4, ...)."""

    def __init__(self, height: int, cin: int, mid: int, cout: int, norm: str = "batch", dilated: bool = False):
        super().__init__()
        self.dilated = dilated
        n = height - 1  # encoder convs; the bottom conv is extra
        self.inp = conv_norm_act(cin, cout, norm)
        dil = [2 ** i if dilated else 1 for i in range(n)]
        self.enc = nn.ModuleList([conv_norm_act(cout if i == 0 else mid, mid, norm, dilation=dil[i]) for i in range(n)])
        self.bottom = conv_norm_act(mid, mid, norm, dilation=2 * dil[-1])
        self.dec = nn.ModuleList([conv_norm_act(2 * mid, cout if i == n - 1 else mid, norm, dilation=dil[n - 1 - i])
                                  for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hx = self.inp(x)
        feats, h = [], hx
        for i, conv in enumerate(self.enc):
            if i > 0 and not self.dilated:
                h = F.max_pool2d(h, 2, ceil_mode=True)
            h = conv(h)
            feats.append(h)
        h = self.bottom(h)
        for conv in self.dec:
            skip = feats.pop()
            h = conv(torch.cat([_up_to(h, skip), skip], dim=1))
        return h + hx


@register_network("u2net")
class U2NetGenerator(nn.Module):
    def __init__(self, width: int = 16, depth: int = 5, max_width: int = 128, norm: str = "batch",
                 trimap_free: bool = False, error_head: bool = False, prior: str = ""):
        super().__init__()
        self.depth, self.trimap_free, self.error_head, self.prior = depth, trimap_free, error_head, prior
        self.pad_multiple = 2 ** (depth - 1)  # what forward pads to; exported graphs take inputs padded so
        cin = input_channels(trimap_free, prior)
        chans = [min(width * 2 ** i, max_width) for i in range(depth)]
        self.stages = nn.ModuleList()
        prev = cin
        for i, c in enumerate(chans):
            last_f = i == depth - 1 and depth >= 5
            height = 4 if last_f else max(4, 7 - i)
            self.stages.append(RSU(height, prev, max(c // 2, 4), c, norm, dilated=last_f))
            prev = c
        self.ups = nn.ModuleList()
        self.sides = nn.ModuleList([nn.Conv2d(prev, 1, 1)])
        for c_skip in reversed(chans[:-1]):
            self.ups.append(Up(prev, c_skip, c_skip, norm))
            prev = c_skip
            self.sides.append(nn.Conv2d(prev, 1, 1))
        self.head = output_head(prev + cin, width, output_channels(error_head, trimap_free), prior)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        x = pad_to_multiple(generator_input(image, trimap, prior, self.trimap_free, self.prior), self.pad_multiple)
        feats, y = [], x
        for i, stage in enumerate(self.stages):
            y = stage(y if i == 0 else F.max_pool2d(y, 2, ceil_mode=True))
            feats.append(y)
        y = feats.pop()
        sides = [self.sides[0](y)]
        for up, side in zip(self.ups, self.sides[1:]):
            y = up(y, feats.pop())
            sides.append(side(y))
        out = head_outputs(self.head, y, x, image, prior if self.prior else None, (h, w), self.error_head,
                           self.trimap_free)
        out["side_alphas"] = [torch.sigmoid(_up_to(s, x)[..., :h, :w]) for s in sides]
        return out
