"""Two light generators for the variant table: a skip-less autoencoder baseline and a BiSeNet-style
two-branch network for fast (trimap-free) coarse mattes.

    G = AutoencoderGenerator(width=16, depth=4)   # encoder widening with depth, decoder back, no skips
    G = BiSeNetGenerator(width=16, trimap_free=True)
    out = G(image[, trimap])                      # the common generator output dict

The autoencoder is the "mask generator" baseline: strided convs whose channels double with depth
(``width * 2**i``, capped at ``max_width``), then bilinear upsampling + convs back to full size, with no
skip connections, so every detail must pass the bottleneck. Its config (experiments/variants/autoencoder.yaml)
trains it with RMSprop and MSE alone, no GAN.

BiSeNet (Yu et al. 2018/2021): a *detail branch* (wide, shallow, 1/8 resolution) keeps edges, a
*semantic branch* (narrow, fast downsampling to 1/32, global context) knows what is foreground, and a
*guided aggregation* gates each with the other. The head upsamples to full size and sees the input once
more, so thin strands are not lost entirely at 1/8.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import conv_norm_act, generator_input, head_outputs, input_channels, output_channels, output_head
from .registry import register_network
from .unet import pad_to_multiple


def _up(x: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@register_network("autoencoder")
class AutoencoderGenerator(nn.Module):
    def __init__(self, width: int = 16, depth: int = 4, max_width: int = 128, norm: str = "batch",
                 trimap_free: bool = False, error_head: bool = False, prior: str = ""):
        super().__init__()
        self.depth, self.trimap_free, self.error_head, self.prior = depth, trimap_free, error_head, prior
        cin = input_channels(trimap_free, prior)
        chans = [min(width * 2 ** i, max_width) for i in range(depth)]
        enc, prev = [], cin
        for c in chans:
            enc += [conv_norm_act(prev, c, norm, stride=2, act="lrelu"), conv_norm_act(c, c, norm, act="lrelu")]
            prev = c
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.ModuleList([conv_norm_act(prev if i == 0 else chans[-i], chans[-i - 1], norm)
                                      for i in range(depth)])
        self.head = output_head(chans[0] + cin, width, output_channels(error_head, trimap_free), prior)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        x = pad_to_multiple(generator_input(image, trimap, prior, self.trimap_free, self.prior), 2 ** self.depth)
        y = self.encoder(x)
        for i, conv in enumerate(self.decoder):
            y = conv(_up(y, (x.shape[-2] >> (self.depth - 1 - i), x.shape[-1] >> (self.depth - 1 - i))))
        return head_outputs(self.head, y, x, image, prior if self.prior else None, (h, w), self.error_head,
                            self.trimap_free)


class _ContextEmbedding(nn.Module):
    """Global average pooling -> 1x1 conv, added back to every position, then a 3x3 conv."""

    def __init__(self, c: int, norm: str):
        super().__init__()
        self.gap = conv_norm_act(c, c, "none", k=1)
        self.out = conv_norm_act(c, c, norm)

    def forward(self, x):
        return self.out(x + self.gap(x.mean(dim=(2, 3), keepdim=True)))


@register_network("bisenet")
class BiSeNetGenerator(nn.Module):
    def __init__(self, width: int = 16, depth: int = 5, max_width: int = 128, norm: str = "batch",
                 trimap_free: bool = True, error_head: bool = False, prior: str = ""):
        super().__init__()
        self.depth, self.trimap_free, self.error_head, self.prior = 5, trimap_free, error_head, prior
        cin = input_channels(trimap_free, prior)
        w, wd = width, min(2 * width, max_width)
        # detail branch: three stride-2 stages, wide, to 1/8
        self.detail = nn.Sequential(conv_norm_act(cin, w, norm, stride=2), conv_norm_act(w, w, norm),
                                    conv_norm_act(w, w, norm, stride=2), conv_norm_act(w, w, norm),
                                    conv_norm_act(w, wd, norm, stride=2), conv_norm_act(wd, wd, norm))
        # semantic branch: narrow stem to 1/4, then 1/8, 1/16, 1/32, context at the end
        ws = max(w // 2, 4)
        self.sem_stem = nn.Sequential(conv_norm_act(cin, ws, norm, stride=2), conv_norm_act(ws, ws, norm, stride=2))
        chans = [min(ws * 2 ** (i + 1), max_width) for i in range(3)]
        stages, prev = [], ws
        for c in chans:
            stages.append(nn.Sequential(conv_norm_act(prev, c, norm, stride=2), conv_norm_act(c, c, norm)))
            prev = c
        self.sem_stages = nn.ModuleList(stages)
        self.context = _ContextEmbedding(prev, norm)
        self.sem_proj = conv_norm_act(prev, wd, norm, k=1)
        # guided aggregation: each branch gated by the other at 1/8
        self.agg = conv_norm_act(wd, wd, norm)
        self.head = output_head(wd + cin, w, output_channels(error_head, trimap_free), prior)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        h, w = image.shape[-2:]
        x = pad_to_multiple(generator_input(image, trimap, prior, self.trimap_free, self.prior), 32)
        d = self.detail(x)
        s = self.sem_stem(x)
        for st in self.sem_stages:
            s = st(s)
        s = _up(self.sem_proj(self.context(s)), d.shape[-2:])
        y = self.agg(d * torch.sigmoid(s) + s * torch.sigmoid(d))
        return head_outputs(self.head, _up(y, x.shape[-2:]), x, image, prior if self.prior else None, (h, w),
                            self.error_head, self.trimap_free)
