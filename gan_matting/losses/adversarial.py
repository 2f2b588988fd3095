"""GAN objectives: lsgan (pix2pix default), vanilla (BCE with logits) and hinge."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import GanMattingError
from ..config import GAN_MODES


class GANLoss(nn.Module):
    def __init__(self, mode: str = "lsgan"):
        super().__init__()
        if mode not in GAN_MODES:
            raise GanMattingError(f"unknown gan_mode {mode!r}; choose from {', '.join(GAN_MODES)}")
        self.mode = mode

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator loss on logits for real and (detached) fake inputs."""
        if self.mode == "lsgan":
            return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))
        if self.mode == "vanilla":
            return 0.5 * (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                          + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        return 0.5 * (F.relu(1 - real).mean() + F.relu(1 + fake).mean())

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """Generator loss: make D call the fake real."""
        if self.mode == "lsgan":
            return F.mse_loss(fake, torch.ones_like(fake))
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
        return -fake.mean()
