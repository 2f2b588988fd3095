"""Procedural hair / fur / jewellery matting data with exact ground truth.

    from gan_matting.data.synth import synth_sample, write_dataset, PRESETS, SynthStream

``synth_sample(index, seed, width, height)`` is a pure function of its arguments: the same call gives
the same arrays on every machine (for a given version). ``write_dataset`` writes the project's
custom layout (images/ alphas/ fg/ bg/ trimaps/ regions/ + meta.json + SHA256SUMS). ``SynthStream`` is
an endless, disk-free stream of training crops.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ... import GanMattingError, __version__
from ..backgrounds import random_background
from ..composite import composite
from ..dataset import to_chw
from ..io import read_rgba, write_image, write_trimap
from ..regions import LEVEL as REGION_LEVEL, REGION_IDS, encode_regions
from ..trimap import trimap_from_alpha
from ..trimap_format import trimap_to_unit
from .scene import SceneConfig, render_scene



@dataclass
class Preset:
    n: int
    min_size: int
    max_size: int
    seed: int
    ss: int = 4
    trimap_frac: Tuple[float, float] = (0.006, 0.012)  # erode/dilate radius as a fraction of min(H, W)
    aspects: Tuple[float, ...] = (1.0, 0.75, 4 / 3)
    scene: Dict = field(default_factory=dict)
    description: str = ""


PRESETS: Dict[str, Preset] = {
    "hair-bench": Preset(n=50, min_size=1024, max_size=2048, seed=20261122,
                         description="fixed hair-detail benchmark: 50 images, 1024-2048 px, trimaps, regions"),
    "demo": Preset(n=6, min_size=384, max_size=512, seed=7, description="small set used by `gan-matting demo`"),
    "train": Preset(n=0, min_size=320, max_size=640, seed=0,
                    description="training data: an endless on-the-fly stream (SynthStream), or --n images on disk"),
    "val": Preset(n=12, min_size=480, max_size=640, seed=424242,
                  description="synthetic validation set for checkpoint selection (disjoint seed)"),
    "tiny": Preset(n=4, min_size=96, max_size=128, seed=1, ss=4, description="tests and smoke runs"),
}


def _size(rng: np.random.Generator, p: Preset) -> Tuple[int, int]:
    long_side = int(rng.integers(p.min_size, p.max_size + 1))
    aspect = p.aspects[int(rng.integers(0, len(p.aspects)))]  # width / height
    if aspect >= 1:
        return long_side, max(16, int(round(long_side / aspect)))
    return max(16, int(round(long_side * aspect))), long_side


def synth_sample(index: int, seed: int, width: int, height: int, ss: int = 4,
                 trimap_frac: Tuple[float, float] = (0.006, 0.012), scene: Optional[Dict] = None,
                 photo_prob: float = 0.3) -> Dict[str, object]:
    """One composited sample. Arrays are float32 on [0, 1] except trimap (uint8 0/128/255) and
    region (uint8 ids 0 background, 1 hair, 2 jewellery, 3 body). Keys: image, alpha, fg, bg,
    trimap, region, info."""
    rng = np.random.default_rng([int(seed), int(index)])
    out = render_scene(width, height, rng, SceneConfig(ss=ss, **(scene or {})))
    alpha, fg = out["alpha"], out["fg"]
    if rng.uniform() < 0.25:  # background in the hair's own colours: the hardest case for matting
        mean = (fg * alpha[..., None]).sum(axis=(0, 1)) / max(float(alpha.sum()), 1.0)
        bg = np.clip(0.55 * random_background(height, width, rng, photo_prob=0.0) + 0.45 * mean, 0, 1)
        out["info"]["background"] = "hair-coloured"
    else:
        bg = random_background(height, width, rng, photo_prob=photo_prob)
    bg = bg.astype(np.float32)
    image = composite(alpha[..., None], fg, bg)
    lo, hi = (max(1, int(round(f * min(width, height)))) for f in trimap_frac)
    trimap = trimap_from_alpha(alpha, (lo, max(lo, hi)), rng)
    return {"image": np.clip(image, 0, 1).astype(np.float32), "alpha": alpha, "fg": fg, "bg": bg,
            "trimap": trimap, "region": out["region"], "info": out["info"]}


def _write_one(args) -> Dict[str, object]:
    out, name, index, seed, w, h, p = args
    t0 = time.perf_counter()
    s = synth_sample(index, seed, w, h, p.ss, p.trimap_frac, p.scene)
    root = Path(out)
    write_image(root / "images" / f"{name}.png", s["image"])
    write_image(root / "alphas" / f"{name}.png", s["alpha"])
    write_image(root / "fg" / f"{name}.png", s["fg"])
    write_image(root / "bg" / f"{name}.png", s["bg"])
    write_trimap(root / "trimaps" / f"{name}.png", s["trimap"])
    write_image(root / "regions" / f"{name}.png", encode_regions(s["region"]))
    return {"name": name, "width": w, "height": h, "seconds": round(time.perf_counter() - t0, 3), **s["info"]}


def write_dataset(out, preset: str = "hair-bench", n: Optional[int] = None, seed: Optional[int] = None,
                  size: Optional[int] = None, workers: int = 1, progress: bool = True,
                  scene: Optional[Dict] = None) -> Dict[str, object]:
    """Write a preset to ``out`` in the custom layout; ``scene`` overrides SceneConfig fields of the preset
    (e.g. {"specular": 0.6}). Returns the meta dict (also in meta.json)."""
    if preset not in PRESETS:
        raise GanMattingError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    p = PRESETS[preset]
    if scene:
        settable = {f.name for f in fields(SceneConfig)} - {"ss"}  # supersampling is the preset's
        unknown = set(scene) - settable
        if unknown:
            raise GanMattingError(f"synth: unknown scene setting(s) {', '.join(sorted(unknown))}")
        if not 0 <= float(scene.get("specular", 0)) <= 1:
            raise GanMattingError(f"synth: specular must lie in [0, 1], got {scene['specular']}")
        p = replace(p, scene={**p.scene, **scene})
    n = p.n if n is None else int(n)
    if n <= 0:
        raise GanMattingError(f"preset {preset!r} is a stream ({p.description}); give --n to write images")
    seed = p.seed if seed is None else int(seed)
    jobs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i, 1])  # sizes drawn apart from the scene's own stream
        w, h = (size, size) if size else _size(rng, p)
        jobs.append((str(out), f"synth_{i:04d}", i, seed, w, h, p))
    Path(out).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows: List[Dict[str, object]] = []
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        def tqdm(x, **k):
            return x
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            rows = list(tqdm(ex.map(_write_one, jobs), total=n, desc=f"synth {preset}", disable=not progress))
    else:
        rows = [_write_one(j) for j in tqdm(jobs, desc=f"synth {preset}", disable=not progress)]
    meta = {"generator": "gan_matting.data.synth", "version": __version__, "preset": preset, "seed": seed,
            "n": n, "params": {k: v for k, v in asdict(p).items() if k not in ("n", "seed")},
            "region_ids": dict(REGION_IDS),
            "region_encoding": f"grey level = id * {REGION_LEVEL}",
            "seconds": round(time.perf_counter() - t0, 2), "images": rows}
    (Path(out) / "meta.json").write_text(json.dumps(meta, indent=1))
    sums = []
    for f in sorted(Path(out).rglob("*.png")):
        sums.append(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.relative_to(out)}")
    (Path(out) / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return meta


def from_rgba(src, out, per_image: int = 2, seed: int = 0, trimap_frac=(0.006, 0.012)) -> int:
    """Composite users' RGBA cut-outs (transparent PNGs) onto patterned backgrounds; writes the custom
    layout with automatic trimaps. Returns the number of samples written."""
    from ..layouts import list_images
    files = list_images(src)
    count = 0
    for fi, f in enumerate(files):
        rgba = read_rgba(f)
        alpha, fg = rgba[..., 3], rgba[..., :3]
        if alpha.min() >= 1.0:
            raise GanMattingError(f"{f}: no transparency (alpha is 255 everywhere); not a cut-out")
        h, w = alpha.shape
        for k in range(per_image):
            rng = np.random.default_rng([seed, fi, k])
            bg = random_background(h, w, rng).astype(np.float32)
            name = f"{f.stem}_{k:02d}"
            lo, hi = (max(1, int(round(x * min(h, w)))) for x in trimap_frac)
            root = Path(out)
            write_image(root / "images" / f"{name}.png", composite(alpha[..., None], fg, bg))
            write_image(root / "alphas" / f"{name}.png", alpha)
            write_image(root / "fg" / f"{name}.png", fg)
            write_image(root / "bg" / f"{name}.png", bg)
            write_trimap(root / "trimaps" / f"{name}.png", trimap_from_alpha(alpha, (lo, hi), rng))
            count += 1
    return count


class SynthStream(IterableDataset):
    """Endless training crops rendered on the fly (no disk), in the MattingDataset item format:
    image, alpha, fg, bg (3|1, S, S) on [0, 1]; trimap (1, S, S) in {0, 0.5, 1}; has_fg = 1; name.

    Renders a scene between ``min_size`` and ``max_size`` px and crops ``crop`` px around the hair
    band. Sample k of worker w is a pure function of (seed, rank, w, k)."""

    def __init__(self, crop: int = 256, seed: int = 0, min_size: int = 320, max_size: int = 640,
                 ss: int = 4, rank: int = 0, unknown_crop_prob: float = 0.8, start: int = 0):
        self.crop, self.seed, self.min_size, self.max_size = crop, seed, min_size, max_size
        self.ss, self.rank, self.unknown_crop_prob, self.start = ss, rank, unknown_crop_prob, start

    def sample(self, k: int, worker: int = 0) -> Dict[str, object]:
        rng = np.random.default_rng([self.seed, self.rank, worker, k, 2])
        side = int(rng.integers(max(self.min_size, self.crop), max(self.max_size, self.crop) + 1))
        s = synth_sample(k, self.seed * 1000003 + self.rank * 101 + worker, side, side, self.ss,
                         trimap_frac=(0.01, 0.04))
        from ..augment import choose_crop
        t = {key: to_chw(s[key]) for key in ("image", "alpha", "fg", "bg")}
        t["trimap"] = to_chw(trimap_to_unit(s["trimap"]))
        y, x = choose_crop(t["alpha"], self.crop, rng, self.unknown_crop_prob)
        t = {key: v[..., y:y + self.crop, x:x + self.crop] for key, v in t.items()}
        t["has_fg"] = torch.tensor(1.0)
        t["name"] = f"stream_{worker}_{k}"
        return t

    def __iter__(self) -> Iterator[Dict[str, object]]:
        info = get_worker_info()
        worker = info.id if info is not None else 0
        k = self.start
        while True:
            yield self.sample(k, worker)
            k += 1
