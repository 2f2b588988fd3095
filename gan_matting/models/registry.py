"""Networks and models are looked up by name; each file registers what it defines."""

from __future__ import annotations

import torch.nn as nn

from .. import GanMattingError
from ..registry import Registry

NETWORKS = Registry("network")
MODELS = Registry("model")
register_network = NETWORKS.register
register_model = MODELS.register


def build_network(name: str, **kwargs) -> nn.Module:
    if name not in NETWORKS:
        raise GanMattingError(f"unknown network {name!r}; registered: {', '.join(sorted(NETWORKS))}")
    return NETWORKS[name](**kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
