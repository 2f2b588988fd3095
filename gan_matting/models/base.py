"""The small contract every trainable model follows (pix2pix's BaseModel idea).

    model.set_input(batch)                 # move a data-loader batch to the device
    losses = model.optimize_parameters(step)  # one full optimisation step; dict of floats
    model.generator                        # the network that inference runs (may be DDP-wrapped)
    model.generator_config()               # kwargs that rebuild it (stored with released weights)
    model.networks / optimizers / schedulers   # name -> object, for checkpoints and logging
    model.visuals()                        # name -> (B, C, H, W) image tensors for TensorBoard

The training loop knows nothing else about a model, so an ablation or a new backbone is one new
registered class.
"""

from __future__ import annotations

import warnings
from typing import Dict, Optional

import torch
import torch.nn as nn


class BaseModel:
    networks: Dict[str, nn.Module]
    optimizers: Dict[str, torch.optim.Optimizer]
    schedulers: Dict[str, object]
    scaler: Optional[torch.amp.GradScaler] = None
    generators: Dict[str, torch.Generator] = {}  # private RNGs, checkpointed with the rest

    def set_input(self, batch: Dict[str, object]) -> None:
        raise NotImplementedError

    def optimize_parameters(self, step: int) -> Dict[str, float]:
        raise NotImplementedError

    @property
    def generator(self) -> nn.Module:
        raise NotImplementedError

    def generator_config(self) -> Dict[str, object]:
        raise NotImplementedError

    def visuals(self) -> Dict[str, torch.Tensor]:
        return {}

    def train(self) -> None:
        for n in self.networks.values():
            n.train()

    def eval(self) -> None:
        for n in self.networks.values():
            n.eval()

    def step_schedulers(self) -> None:
        # every schedule follows the global step, also through warm-up phases in which an optimiser
        # did not step (PyTorch warns about that order; here it is intended)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
            for s in self.schedulers.values():
                s.step()

    def learning_rates(self) -> Dict[str, float]:
        return {k: o.param_groups[0]["lr"] for k, o in self.optimizers.items()}
