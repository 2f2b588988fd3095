"""Backgrounds for compositing: procedural patterns that are hard for matting, and photos that ship
inside installed wheels (scikit-image, scikit-learn, matplotlib), so nothing is downloaded.

All functions return (H, W, 3) float32 on [0, 1] and take a ``numpy.random.Generator`` for seeding.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..registry import Registry

PATTERNS = Registry("background pattern")  # name -> fn(h, w, rng) -> (h, w, 3)
register_pattern = PATTERNS.register


def _colours(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0, 1, size=(n, 3)).astype(np.float32)


def _grid(h: int, w: int):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


@register_pattern("stripes")
def stripes(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = _grid(h, w)
    theta = rng.uniform(0, np.pi)
    period = rng.uniform(3, max(4.0, min(h, w) / 6))
    t = (xx * np.cos(theta) + yy * np.sin(theta)) / period
    c = _colours(rng, 2)
    m = (np.sin(2 * np.pi * t) > rng.uniform(-0.5, 0.5)).astype(np.float32)[..., None]
    return m * c[0] + (1 - m) * c[1]


@register_pattern("checkers")
def checkers(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = _grid(h, w)
    s = rng.uniform(4, max(5.0, min(h, w) / 8))
    m = ((np.floor(xx / s) + np.floor(yy / s)) % 2).astype(np.float32)[..., None]
    c = _colours(rng, 2)
    return m * c[0] + (1 - m) * c[1]


def _upsampled_noise(h: int, w: int, rng: np.random.Generator, cells: int, ch: int = 3) -> np.ndarray:
    small = torch.from_numpy(rng.uniform(0, 1, size=(1, ch, cells, cells)).astype(np.float32))
    big = F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False)
    return big[0].permute(1, 2, 0).numpy()


@register_pattern("noise")
def noise(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Multi-octave value noise: smooth blobs plus fine grain, the clutter hair gets lost in."""
    out = np.zeros((h, w, 3), np.float32)
    amp, total = 1.0, 0.0
    for octave in range(5):
        cells = 2 ** (octave + 2)
        out += amp * _upsampled_noise(h, w, rng, min(cells, max(h, w)))
        total += amp
        amp *= rng.uniform(0.4, 0.7)
    return np.clip(out / total, 0, 1)


@register_pattern("gradient")
def gradient(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = _grid(h, w)
    theta = rng.uniform(0, 2 * np.pi)
    t = xx * np.cos(theta) + yy * np.sin(theta)
    t = ((t - t.min()) / max(float(np.ptp(t)), 1e-6))[..., None]
    c = _colours(rng, 2)
    return t * c[0] + (1 - t) * c[1]


@register_pattern("texture")
def texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Sum of random oriented sinusoids in colour: fabric-like high-frequency texture."""
    yy, xx = _grid(h, w)
    out = np.zeros((h, w, 3), np.float32)
    for _ in range(6):
        theta, freq = rng.uniform(0, np.pi), rng.uniform(0.02, 0.4)
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
        out += wave[..., None] * _colours(rng, 1)[0]
    out -= out.min()
    return out / max(float(out.max()), 1e-6)


@register_pattern("text")
def text_clutter(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Dark thin glyph-like strokes on a light page: edges at the scale of hair strands."""
    from PIL import Image, ImageDraw
    base = _colours(rng, 1)[0] * 0.3 + 0.7
    ink = _colours(rng, 1)[0] * 0.4
    im = Image.new("RGB", (w, h), tuple(int(v * 255) for v in base))
    d = ImageDraw.Draw(im)
    size = int(rng.integers(8, 24))
    for y in range(0, h, size + 4):
        x = int(rng.integers(0, size))
        while x < w:
            n = int(rng.integers(1, 4))
            pts = [(x + float(rng.uniform(0, size * 0.7)), y + float(rng.uniform(0, size))) for _ in range(n + 1)]
            d.line(pts, fill=tuple(int(v * 255) for v in ink), width=int(rng.integers(1, 3)))
            x += int(rng.integers(size // 2 + 1, size + 2))
    return np.asarray(im, np.float32) / 255.0


@lru_cache(maxsize=1)
def wheel_photo_paths() -> List[Path]:
    """Photos shipped inside installed packages (no download): scikit-image, scikit-learn, matplotlib."""
    paths: List[Path] = []
    try:
        import skimage
        d = Path(skimage.__file__).parent / "data"
        names = ("astronaut.png", "chelsea.png", "coffee.png", "brick.png", "grass.png", "gravel.png",
                 "rocket.jpg", "motorcycle_left.png", "color.png", "hubble_deep_field.jpg", "ihc.png")
        paths += [d / n for n in names if (d / n).exists()]
    except ImportError:
        pass
    try:
        import sklearn
        d = Path(sklearn.__file__).parent / "datasets" / "images"
        paths += sorted(d.glob("*.jpg"))
    except ImportError:
        pass
    try:
        import matplotlib
        p = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
        if p.exists():
            paths.append(p)
    except ImportError:
        pass
    return paths


@lru_cache(maxsize=32)
def _load_photo(path: str) -> np.ndarray:
    from .io import read_rgb
    return read_rgb(path)


def random_crop_resize(img: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of ``img`` resized to (h, w) with antialiasing."""
    H, W = img.shape[:2]
    scale = rng.uniform(0.5, 1.0)
    ch, cw = max(8, int(H * scale)), max(8, int(W * scale))
    y, x = int(rng.integers(0, H - ch + 1)), int(rng.integers(0, W - cw + 1))
    crop = torch.from_numpy(np.ascontiguousarray(img[y:y + ch, x:x + cw])).permute(2, 0, 1)[None]
    out = F.interpolate(crop, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return out[0].permute(1, 2, 0).clamp(0, 1).numpy()


def random_background(h: int, w: int, rng: np.random.Generator, photo_prob: float = 0.3,
                      photos: Optional[List[Path]] = None) -> np.ndarray:
    """A random background: a wheel photo (or one of ``photos``) with ``photo_prob``, else a pattern.

    Returns (h, w, 3) float32 on [0, 1].
    """
    pool = photos if photos is not None else wheel_photo_paths()
    if pool and rng.uniform() < photo_prob:
        img = _load_photo(str(pool[int(rng.integers(0, len(pool)))]))
        return random_crop_resize(img, h, w, rng)
    names = sorted(PATTERNS)
    return PATTERNS[names[int(rng.integers(0, len(names)))]](h, w, rng).astype(np.float32)
