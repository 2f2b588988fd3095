"""Torch datasets over any registered layout, with on-the-fly compositing and seeded augmentation.

Each item is a dict:
    image:  (3, S, S) on [0, 1]        composite (or the photo itself when there is no fg)
    alpha:  (1, S, S) on [0, 1]
    fg:     (3, S, S) on [0, 1]        ground-truth foreground (= image where unknown; see has_fg)
    bg:     (3, S, S) on [0, 1]
    trimap: (1, S, S) in {0, 0.5, 1}   (0/128/255 divided by 255 and rounded to halves)
    has_fg: () float, 1 when fg and bg are true ground truth
    name:   str
A sample is a pure function of (seed, epoch, index): call ``set_epoch`` once per epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import GanMattingError
from .augment import AugmentConfig, affine, colour_jitter, crop
from .backgrounds import random_background
from .composite import composite
from .io import read_alpha, read_rgb, read_trimap
from .layouts import MattingFolder, MattingSample
from .trimap import trimap_from_alpha
from .trimap_format import trimap_to_unit

def to_chw(a: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) array -> float32 tensor (1 | C, H, W)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    return torch.from_numpy(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))


def load_sample(s: MattingSample, trimap_name: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Read every file of a sample, checking that sizes agree. Arrays are float32 on [0, 1]."""
    out: Dict[str, np.ndarray] = {}
    if s.image is not None:
        out["image"] = read_rgb(s.image)
    if s.fg is not None:
        out["fg"] = read_rgb(s.fg)
    if s.alpha is not None:
        out["alpha"] = read_alpha(s.alpha)
    if s.bg is not None:
        out["bg"] = read_rgb(s.bg)
    if trimap_name is not None:
        if trimap_name not in s.trimaps:
            raise GanMattingError(f"{s.name}: no trimap '{trimap_name}' (has: {', '.join(s.trimaps) or 'none'})")
        out["trimap"] = read_trimap(s.trimaps[trimap_name])
    sizes = {k: v.shape[:2] for k, v in out.items()}
    ref_key = next(iter(sizes))
    for k, hw in sizes.items():
        if hw != sizes[ref_key]:
            paths = {"image": s.image, "fg": s.fg, "alpha": s.alpha, "bg": s.bg,
                     "trimap": s.trimaps.get(trimap_name or "", None)}
            raise GanMattingError(f"size mismatch in sample {s.name}: {paths[ref_key]} is "
                                  f"{sizes[ref_key][1]}x{sizes[ref_key][0]} but {paths[k]} is {hw[1]}x{hw[0]}")
    return out


class MattingDataset(Dataset):
    """Training crops from a dataset folder, composited onto random (procedural or photo) backgrounds.

    folder: a read ``MattingFolder``; backgrounds: optional list of photo paths (else procedural +
    wheel photos); trimap radius range for erosion/dilation trimaps; ``augment=False`` gives a centre
    crop with no jitter (validation).
    """

    def __init__(self, folder: MattingFolder, crop_size: int = 256, seed: int = 0, augment: bool = True,
                 backgrounds: Optional[Sequence[Path]] = None, trimap_radius: tuple = (3, 15),
                 photo_prob: float = 0.3, samples_per_epoch: Optional[int] = None,
                 aug: Optional[AugmentConfig] = None):
        self.folder = folder
        self.samples: List[MattingSample] = [s for s in folder.samples if s.alpha is not None]
        if not self.samples:
            raise GanMattingError(f"{folder.root}: no samples with ground-truth alpha to train on")
        self.seed, self.augment, self.epoch = int(seed), bool(augment), 0
        self.aug = aug or AugmentConfig(crop=crop_size)
        self.aug.crop = crop_size
        self.backgrounds = list(backgrounds) if backgrounds is not None else None
        self.trimap_radius = tuple(trimap_radius)
        self.photo_prob = photo_prob
        self.length = samples_per_epoch or len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def rng_for(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch if self.augment else 0, index])

    def __getitem__(self, index: int) -> Dict[str, object]:
        s = self.samples[index % len(self.samples)]
        rng = self.rng_for(index)
        arr = load_sample(s)
        has_fg = "fg" in arr
        t = {"alpha": to_chw(arr["alpha"])}
        t["fg"] = to_chw(arr["fg"] if has_fg else arr["image"])
        if self.augment:
            t = affine(t, rng, self.aug)
            t["alpha"] = t["alpha"].clamp(0, 1)
        t = crop(t, "alpha", self.aug.crop, rng, self.aug.unknown_crop_prob if self.augment else 0.0)
        size = self.aug.crop
        if has_fg:
            if self.augment:
                t["fg"] = colour_jitter(t["fg"], rng, self.aug)
            bg = random_background(size, size, rng, self.photo_prob, self.backgrounds)
            t["bg"] = to_chw(bg)
            if self.augment:
                t["bg"] = colour_jitter(t["bg"], rng, self.aug)
            t["image"] = composite(t["alpha"], t["fg"], t["bg"]).clamp(0, 1)
        else:  # a real photo: no compositing, F and B are unknown
            t["image"] = t["fg"]
            t["bg"] = t["fg"].clone()
        tri = trimap_from_alpha(t["alpha"][0].numpy(), self.trimap_radius, rng)
        t["trimap"] = to_chw(trimap_to_unit(tri))
        t["has_fg"] = torch.tensor(1.0 if has_fg else 0.0)
        t["name"] = s.name
        return t
