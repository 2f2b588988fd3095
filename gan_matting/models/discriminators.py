"""The two discriminators of the Iizuka et al. 2017 local/global pair, adapted to matting.

Both are conditional (pix2pix): they see the composite *and* the input image and trimap
(3 + 3 + 3 one-hot = 9 channels).

GlobalDiscriminator(x): x (B, 9, H, W) -> (B, 1) one logit for the whole (resized) composite.
PatchDiscriminator(x):  x (B, 9, h, w) -> (B, 1, h', w') PatchGAN logits on crops around the unknown band.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.trimap_format import unknown_mask
from .layers import maybe_sn, norm_layer
from .registry import register_network

COND_CHANNELS = 9


@register_network("global_d")
class GlobalDiscriminator(nn.Module):
    def __init__(self, in_channels: int = COND_CHANNELS, width: int = 32, size: int = 128, n_layers: int = 5,
                 max_width: int = 256, spectral_norm: bool = True, norm: str = "none"):
        super().__init__()
        self.size = size
        layers, prev = [], in_channels
        for i in range(n_layers):
            c = min(width * 2 ** i, max_width)
            layers += [maybe_sn(nn.Conv2d(prev, c, 4, 2, 1), spectral_norm),
                       norm_layer(norm, c) if i else nn.Identity(), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        self.features = nn.Sequential(*layers)
        self.fc = maybe_sn(nn.Linear(prev, 1), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.size, self.size):  # the global view: the whole image at one scale
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return self.fc(self.features(x).mean(dim=(2, 3)))


@register_network("patch_d")
class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN: n_layers strided convs, then two stride-1 convs to a logit map."""

    def __init__(self, in_channels: int = COND_CHANNELS, width: int = 32, n_layers: int = 3,
                 max_width: int = 256, spectral_norm: bool = True, norm: str = "none"):
        super().__init__()
        layers = [maybe_sn(nn.Conv2d(in_channels, width, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
        prev = width
        for i in range(1, n_layers):
            c = min(width * 2 ** i, max_width)
            layers += [maybe_sn(nn.Conv2d(prev, c, 4, 2, 1), spectral_norm), norm_layer(norm, c), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        c = min(width * 2 ** n_layers, max_width)
        layers += [maybe_sn(nn.Conv2d(prev, c, 4, 1, 1), spectral_norm), norm_layer(norm, c), nn.LeakyReLU(0.2, inplace=True),
                   maybe_sn(nn.Conv2d(c, 1, 4, 1, 1), spectral_norm)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def band_crops(tensors, trimap: torch.Tensor, size: int, generator: torch.Generator) -> list:
    """Crop the same (size x size) window from every tensor, centred on a random unknown pixel per item.

    tensors: list of (B, C, H, W); trimap: (B, 1, H, W) in {0, 0.5, 1}. Returns the cropped list.
    Items with no unknown pixel get a random window. The windows come from ``generator`` only.
    """
    B, _, H, W = trimap.shape
    size = min(size, H, W)
    ys, xs = [], []
    for b in range(B):
        unk = unknown_mask(trimap[b, 0]).nonzero()
        if len(unk):
            k = int(torch.randint(len(unk), (1,), generator=generator))
            cy, cx = int(unk[k, 0]), int(unk[k, 1])
        else:
            cy = int(torch.randint(H, (1,), generator=generator))
            cx = int(torch.randint(W, (1,), generator=generator))
        ys.append(min(max(cy - size // 2, 0), H - size))
        xs.append(min(max(cx - size // 2, 0), W - size))
    return [torch.stack([t[b, :, ys[b]:ys[b] + size, xs[b]:xs[b] + size] for b in range(B)]) for t in tensors]
