"""Small building blocks shared by the networks (export-friendly: conv, norm, interpolate only)."""

from __future__ import annotations

import torch.nn as nn
from torch.nn.utils import parametrizations

from .. import GanMattingError
from ..config import NORMS


_NORM_LAYERS = {
    "batch": nn.BatchNorm2d,
    "instance": lambda c: nn.InstanceNorm2d(c, affine=True),
    "group": lambda c: nn.GroupNorm(min(8, c), c),
    "none": lambda c: nn.Identity(),
}
assert tuple(_NORM_LAYERS) == NORMS, "config.NORMS and the norm layers must list the same names"


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind not in _NORM_LAYERS:
        raise GanMattingError(f"unknown norm {kind!r}; choose from {', '.join(NORMS)}")
    return _NORM_LAYERS[kind](channels)


def maybe_sn(module: nn.Module, spectral_norm: bool) -> nn.Module:
    return parametrizations.spectral_norm(module) if spectral_norm else module
