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

from .. import GanMattingError
from ..data.trimap_format import trimap_onehot
from ..priors import prior_methods
from .layers import norm_layer
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
        if prior and trimap_free:
            raise GanMattingError("a classical prior needs a trimap: prior and trimap_free exclude each other")
        cin = (3 if trimap_free else 6) + len(prior_methods(prior))
        super().__init__(cin, width, depth, max_width, norm)
        self.depth, self.trimap_free, self.error_head, self.prior = depth, trimap_free, error_head, prior
        prev = self.out_channels
        n_out = 1 + 3 + (1 if error_head else 0) + (3 if trimap_free else 0)
        self.head = nn.Sequential(nn.Conv2d(prev + cin, width, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, n_out, 3, padding=1))
        with torch.no_grad():  # start at alpha = 0.5, F = image: inside the clamp's active range
            self.head[-1].bias.zero_()
            if prior:  # delta = 0 exactly: alpha = the prior
                self.head[-1].weight[0].zero_()
            else:
                self.head[-1].bias[0] = 0.5

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        m = 2 ** self.depth
        if self.trimap_free:
            x = image
        else:
            if trimap is None:
                raise ValueError("this generator needs a trimap (it was built with trimap_free=False)")
            x = torch.cat([image, trimap_onehot(trimap)], dim=1)
        if self.prior:
            if prior is None:
                raise ValueError(f"this generator needs its classical prior ({self.prior!r} alpha) as input")
            x = torch.cat([x, prior], dim=1)
        x = pad_to_multiple(x, m)
        y = self.encode_decode(x)
        hidden = self.head[1](self.head[0](torch.cat([y, x], dim=1)))
        y = self.head[2](hidden)[..., :h, :w]
        alpha = y[:, 0:1] + prior[:, 0:1] if self.prior else y[:, 0:1]  # the first prior is the one corrected
        out = {"alpha": alpha.clamp(0, 1), "fg": (image + y[:, 1:4]).clamp(0, 1),
               "features": hidden[..., :h, :w]}  # the head's hidden layer: context for the patch refiner
        k = 4
        if self.error_head:
            out["error"] = F.softplus(y[:, k:k + 1])
            k += 1
        if self.trimap_free:
            out["trimap_logits"] = y[:, k:k + 3]
        return out
