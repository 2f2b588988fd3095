"""Small building blocks shared by the networks (export-friendly: conv, norm, interpolate only)."""

from __future__ import annotations

import torch.nn as nn
from torch.nn.utils import parametrizations

from .. import GanMattingError


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise GanMattingError(f"unknown norm {kind!r}; use batch, instance, group or none")


def maybe_sn(module: nn.Module, spectral_norm: bool) -> nn.Module:
    return parametrizations.spectral_norm(module) if spectral_norm else module
