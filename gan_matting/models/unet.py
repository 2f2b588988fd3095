"""U-Net generator (pix2pix lineage) predicting alpha and foreground colour.

    G = UNetGenerator(width=16, depth=5)
    out = G(image, trimap)    # image: (B, 3, H, W) in [0, 1]; trimap: (B, 1, H, W) in {0, 0.5, 1}
    G = UNetGenerator(prior="cf"); out = G(image, trimap, prior)   # prior: (B, 1, H, W) classical alpha
    out["alpha"]: (B, 1, H, W) in [0, 1]   clamped, not squashed by a sigmoid
    out["fg"]:    (B, 3, H, W) in [0, 1]   a residual over the input image, clamped
    out["error"]: (B, 1, H, W) >= 0        optional predicted |alpha error| (for the refiner)
    out["trimap_logits"]: (B, 3, H, W)     trimap-free mode only: bg / unknown / fg
    out["features"]: (B, width, H, W)      the output head's hidden layer (context for the patch refiner)

With ``prior`` set (DCNN matting, Cho et al. 2016) the network also sees a classical solver's alpha and
predicts a correction of it: alpha = clamp(prior + delta), delta starting at exactly 0, so an untrained
network reproduces the solver and training can only move away from it where the data say so.

Any H x W works: the input is reflect-padded to a multiple of 2**depth and cropped back.
The trimap enters as three one-hot planes (bg, unknown, fg). In trimap-free mode the network sees RGB
only and predicts a coarse trimap as well.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import generator_input, head_outputs, input_channels, norm_layer, output_channels, output_head
from .registry import register_network


def pad_to_multiple(x: torch.Tensor, m: int) -> torch.Tensor:
    """Pad (B, C, H, W) at the bottom/right to multiples of m: reflect where the image is large enough,
    else replicate. Pointwise input transforms commute with it, so exported graphs (which take padded
    inputs) and their runners share this one rule."""
    h, w = x.shape[-2:]
    ph, pw = (m - h % m) % m, (m - w % m) % m
    if not (ph or pw):
        return x
    return F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")


class Down(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str, first: bool = False):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=first or norm == "none"),
            nn.Identity() if first else norm_layer(norm, cout),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=norm == "none"),
            norm_layer(norm, cout),
            nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, x):
        return self.body(x)


class Up(nn.Module):
    """Bilinear upsample + conv (no transposed conv: no checkerboard, exports cleanly)."""

    def __init__(self, cin: int, cskip: int, cout: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin + cskip, cout, 3, padding=1, bias=norm == "none"),
            norm_layer(norm, cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=norm == "none"),
            norm_layer(norm, cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.body(torch.cat([x, skip], dim=1))


class UNetCore(nn.Module):
    """Stem + strided encoder + bilinear decoder with skips: (B, cin, H, W) -> (B, width, H, W) features,
    H and W multiples of 2**depth. The generators below build on it (attributes stem/downs/ups)."""

    def __init__(self, cin: int, width: int, depth: int, max_width: int, norm: str):
        super().__init__()
        chans = [min(width * 2 ** i, max_width) for i in range(depth)]
        self.stem = nn.Sequential(nn.Conv2d(cin, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.downs = nn.ModuleList()
        prev = width
        for i, c in enumerate(chans):
            self.downs.append(Down(prev, c, norm, first=(i == 0)))
            prev = c
        self.ups = nn.ModuleList()
        for c_skip in reversed([width] + chans[:-1]):
            self.ups.append(Up(prev, c_skip, max(c_skip, width), norm))
            prev = max(c_skip, width)
        self.out_channels = prev

    def encode_decode(self, x: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(x)]
        for d in self.downs:
            feats.append(d(feats[-1]))
        y = feats.pop()
        for up in self.ups:
            y = up(y, feats.pop())
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_decode(x)


@register_network("unet")
class UNetGenerator(UNetCore):
    def __init__(self, width: int = 32, depth: int = 5, max_width: int = 256, norm: str = "batch",
                 trimap_free: bool = False, error_head: bool = False, prior: str = ""):
        cin = input_channels(trimap_free, prior)
        super().__init__(cin, width, depth, max_width, norm)
        self.depth, self.trimap_free, self.error_head, self.prior = depth, trimap_free, error_head, prior
        # alpha starts at 0.5 (or exactly the prior: delta = 0), F at the image
        self.head = output_head(self.out_channels + cin, width, output_channels(error_head, trimap_free), prior)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        x = pad_to_multiple(generator_input(image, trimap, prior, self.trimap_free, self.prior), 2 ** self.depth)
        # out["features"] is the head's hidden layer: context for the patch refiner
        return head_outputs(self.head, self.encode_decode(x), x, image, prior if self.prior else None,
                            image.shape[-2:], self.error_head, self.trimap_free)
