"""Seeded augmentation for matting samples, built on kornia's functional ops.

Randomness comes only from a ``numpy.random.Generator`` passed in, never from global RNG state, so a
sample is a pure function of (seed, epoch, index) and data-loader workers cannot change it.
Tensors are (C, H, W) float32 on [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F
from kornia import enhance
from kornia.geometry.transform import get_rotation_matrix2d, warp_affine


@dataclass
class AugmentConfig:
    crop: int = 256
    scale: tuple = (0.75, 1.25)
    rotate_deg: float = 15.0
    flip_prob: float = 0.5
    unknown_crop_prob: float = 0.8  # crop centred on the transition band this often
    brightness: float = 0.15
    contrast: float = 0.15
    saturation: float = 0.2
    hue: float = 0.03


def affine(tensors: Dict[str, torch.Tensor], rng: np.random.Generator, cfg: AugmentConfig) -> Dict[str, torch.Tensor]:
    """One random scale + rotation (+ horizontal flip) applied identically to every tensor."""
    any_t = next(iter(tensors.values()))
    h, w = any_t.shape[-2:]
    scale = float(rng.uniform(*cfg.scale))
    angle = float(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
    flip = rng.uniform() < cfg.flip_prob
    centre = torch.tensor([[w / 2.0, h / 2.0]])
    mat = get_rotation_matrix2d(centre, torch.tensor([angle]), torch.tensor([[scale, scale]]))
    out = {}
    for k, t in tensors.items():
        x = warp_affine(t[None], mat, dsize=(h, w), mode="bilinear", padding_mode="reflection",
                        align_corners=False)[0]
        out[k] = torch.flip(x, dims=[-1]) if flip else x
    return out


def choose_crop(alpha: torch.Tensor, size: int, rng: np.random.Generator, unknown_prob: float) -> tuple:
    """Top-left (y, x) of a size x size crop; centred on a 0 < alpha < 1 pixel with ``unknown_prob``."""
    h, w = alpha.shape[-2:]
    if rng.uniform() < unknown_prob:
        band = ((alpha[0] > 0.01) & (alpha[0] < 0.99)).nonzero()
        if len(band):
            cy, cx = band[int(rng.integers(0, len(band)))].tolist()
            y = int(np.clip(cy - size // 2, 0, max(h - size, 0)))
            x = int(np.clip(cx - size // 2, 0, max(w - size, 0)))
            return y, x
    return int(rng.integers(0, max(h - size, 0) + 1)), int(rng.integers(0, max(w - size, 0) + 1))


def pad_to(t: torch.Tensor, size: int) -> torch.Tensor:
    """Reflect-pad (C, H, W) so both sides are at least ``size``."""
    h, w = t.shape[-2:]
    ph, pw = max(size - h, 0), max(size - w, 0)
    if ph == 0 and pw == 0:
        return t
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(t[None], (0, pw, 0, ph), mode=mode)[0]


def crop(tensors: Dict[str, torch.Tensor], alpha_key: str, size: int, rng: np.random.Generator,
         unknown_prob: float) -> Dict[str, torch.Tensor]:
    tensors = {k: pad_to(v, size) for k, v in tensors.items()}
    y, x = choose_crop(tensors[alpha_key], size, rng, unknown_prob)
    return {k: v[..., y:y + size, x:x + size] for k, v in tensors.items()}


def colour_jitter(img: torch.Tensor, rng: np.random.Generator, cfg: AugmentConfig) -> torch.Tensor:
    """Brightness / contrast / saturation / hue jitter of a (3, H, W) image, kornia ops."""
    x = img[None]
    x = enhance.adjust_brightness(x, float(rng.uniform(-cfg.brightness, cfg.brightness)))
    x = enhance.adjust_contrast(x, float(rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)))
    x = enhance.adjust_saturation(x, float(rng.uniform(1 - cfg.saturation, 1 + cfg.saturation)))
    x = enhance.adjust_hue(x, float(rng.uniform(-cfg.hue, cfg.hue)) * 2 * np.pi)
    return x[0].clamp(0, 1)
