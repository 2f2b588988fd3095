"""Networks and models are looked up by name; each file registers what it defines."""

from __future__ import annotations

from typing import Callable, Dict

import torch.nn as nn

from .. import GanMattingError

NETWORKS: Dict[str, Callable[..., nn.Module]] = {}
MODELS: Dict[str, type] = {}


def register_network(name: str):
    def deco(cls):
        NETWORKS[name] = cls
        return cls
    return deco


def register_model(name: str):
    def deco(cls):
        MODELS[name] = cls
        return cls
    return deco


def build_network(name: str, **kwargs) -> nn.Module:
    if name not in NETWORKS:
        raise GanMattingError(f"unknown network {name!r}; registered: {', '.join(sorted(NETWORKS))}")
    return NETWORKS[name](**kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
