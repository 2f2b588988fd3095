"""Training data addressed by a *global sample id*, so that step s always sees the same batch.

Sample id g = (step * world_size + rank) * batch_size + i. A folder dataset maps g to epoch g // N
and a per-epoch permutation; the synthetic stream renders sample g. Resuming at step s therefore
continues with exactly the batches an uninterrupted run would have seen, on any number of workers.
This replaces DistributedSampler (which shards the same way) because it can restart mid-epoch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterator, List

import numpy as np
from torch.utils.data import DataLoader, Dataset, Sampler

from .. import GanMattingError
from ..data.dataset import MattingDataset
from ..data.layouts import read_folder
from ..config import Config

HUGE = 2 ** 62


class FolderByStep(Dataset):
    def __init__(self, base: Dataset, seed: int):
        self.base, self.seed, self.n = base, seed, len(base)

    def __len__(self) -> int:
        return HUGE

    def __getitem__(self, g: int):
        epoch, k = divmod(int(g), self.n)
        perm = np.random.default_rng([self.seed, epoch, 7]).permutation(self.n)
        self.base.set_epoch(epoch)
        return self.base[int(perm[k])]


class SynthByStep(Dataset):
    def __init__(self, cfg: Config):
        from ..data.synth import SynthStream
        d = cfg.data
        self.stream = SynthStream(crop=d.crop, seed=cfg.train.seed, min_size=d.synth_min_size, max_size=d.synth_max_size)

    def __len__(self) -> int:
        return HUGE

    def __getitem__(self, g: int):
        return self.stream.sample(int(g))


class StepSampler(Sampler):
    """Yields this rank's sample ids for steps start, start+1, ..., steps-1."""

    def __init__(self, batch_size: int, start_step: int, steps: int, rank: int = 0, world: int = 1):
        self.b, self.start, self.steps, self.rank, self.world = batch_size, start_step, steps, rank, world

    def __iter__(self) -> Iterator[int]:
        for s in range(self.start, self.steps):
            base = (s * self.world + self.rank) * self.b
            yield from range(base, base + self.b)

    def __len__(self) -> int:
        return max(0, self.steps - self.start) * self.b


def train_dataset(cfg: Config) -> Dataset:
    d = cfg.data
    if d.source == "synth":
        return SynthByStep(cfg)
    if d.source == "composites":
        return FolderByStep(composite_pool(cfg), cfg.train.seed)
    if d.source == "pennfudan":
        from ..data.pennfudan import PennFudanDataset
        return FolderByStep(PennFudanDataset(d.root, size=d.crop), cfg.train.seed)
    folder = read_folder(d.root, d.layout)
    if d.exclude:
        folder.samples = [s for s in folder.samples if s.name not in set(d.exclude)]
    from ..data.layouts import list_images
    photos = list_images(d.backgrounds) if d.backgrounds else None
    base = MattingDataset(folder, crop_size=d.crop, seed=cfg.train.seed, augment=True, backgrounds=photos,
                          trimap_radius=tuple(d.trimap_radius), photo_prob=d.photo_prob)
    return FolderByStep(base, cfg.train.seed)


def read_split(path: str) -> Dict[str, List[str]]:
    """A split file: {"train": [...], "validation": [...]} (names of data.root); the two must not overlap."""
    p = Path(path)
    if not p.is_file():
        raise GanMattingError(f"data.split: {p} not found (a JSON file with 'train' and 'validation' names)")
    try:
        split = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise GanMattingError(f"data.split: {p} is not valid JSON ({exc})") from None
    if not isinstance(split.get("train"), list):
        raise GanMattingError(f"data.split: {p} has no 'train' list")
    overlap = set(split["train"]) & set(split.get("validation", []))
    if overlap:
        raise GanMattingError(f"data.split: {p} puts {', '.join(sorted(overlap))} in both train and validation")
    return split


def composite_pool(cfg: Config):
    from ..data.real_composites import CompositePool, build_pool, pseudo_photos
    d = cfg.data
    if not d.split:
        raise GanMattingError("data.source composites needs data.split (a JSON file naming the training photos)")
    pseudo = pseudo_photos(d.pseudo_root, d.pseudo_alpha) if d.pseudo_root else []  # not the data itself: config.validate
    entries = build_pool(d.root, read_split(d.split)["train"], d.variants, cfg.train.seed, cfg.model.generator.prior,
                         tuple(d.band_frac), workers=max(1, d.workers), synth_hair=d.synth_hair,
                         pseudo=pseudo, pseudo_side=d.pseudo_side, pseudo_trimaps=d.pseudo_trimaps)
    return CompositePool(entries, d.crop, cfg.train.seed)


def train_loader(cfg: Config, start_step: int, rank: int = 0, world: int = 1) -> DataLoader:
    ds = train_dataset(cfg)
    sampler = StepSampler(cfg.data.batch_size, start_step, cfg.train.steps, rank, world)
    if cfg.data.batch_size < 1:
        raise GanMattingError("data.batch_size must be >= 1")
    return DataLoader(ds, batch_size=cfg.data.batch_size, sampler=sampler, num_workers=cfg.data.workers,
                      drop_last=True, persistent_workers=cfg.data.workers > 0)
