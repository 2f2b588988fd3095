"""Shared fixtures. Data from ../shared is read by path and skipped with a message when absent."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAN_MATTING_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not present (the ../shared data folder is read by path, never committed)")
    return p


def save(path: Path, arr: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = arr if arr.dtype != np.float32 and arr.dtype != np.float64 else np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(a, mode=mode).save(path) if mode else Image.fromarray(a).save(path)
    return path


def disk_alpha(h: int = 48, w: int = 56, r: float = 14.0, soft: float = 4.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.sqrt((yy - h / 2) ** 2 + (xx - w / 2) ** 2)
    return np.clip((r + soft - d) / (2 * soft), 0, 1).astype(np.float32)


@pytest.fixture
def tiny_custom(tmp_path) -> Path:
    """custom layout: images/ alphas/ trimaps/ fg/ bg/ with 3 samples of a soft disk."""
    from gan_matting.data.trimap import trimap_from_alpha
    root = tmp_path / "custom"
    rng = np.random.default_rng(0)
    for i in range(3):
        a = disk_alpha(r=10 + 2 * i)
        fg = np.broadcast_to(rng.uniform(0, 1, 3), a.shape + (3,)).astype(np.float32)
        bg = rng.uniform(0, 1, a.shape + (3,)).astype(np.float32)
        img = a[..., None] * fg + (1 - a[..., None]) * bg
        save(root / "images" / f"s{i}.png", img)
        save(root / "alphas" / f"s{i}.png", a)
        save(root / "fg" / f"s{i}.png", fg)
        save(root / "bg" / f"s{i}.png", bg)
        save(root / "trimaps" / f"s{i}.png", trimap_from_alpha(a, 3))
    return root


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """The `tiny` synthetic preset written once per session."""
    from gan_matting.data.synth import write_dataset
    out = tmp_path_factory.mktemp("synth") / "tiny"
    write_dataset(out, "tiny", n=3, progress=False)
    return out


def toy_batch(b: int = 2, s: int = 48, seed: int = 0) -> dict:
    """A training batch (CPU tensors) of a square with a fractional band: image, alpha, fg, bg, trimap."""
    import torch
    g = torch.Generator().manual_seed(seed)
    alpha = torch.zeros(b, 1, s, s)
    alpha[..., s // 4: 3 * s // 4, s // 4: 3 * s // 4] = 1
    alpha[..., s // 4 - 4: s // 4, :] = torch.rand(b, 1, 4, s, generator=g)
    tri = torch.where(alpha > 0.99, torch.ones_like(alpha), torch.zeros_like(alpha))
    tri[..., s // 4 - 6: s // 4 + 2, :] = 0.5
    fg, bg = torch.rand(b, 3, s, s, generator=g), torch.rand(b, 3, s, s, generator=g)
    return {"image": alpha * fg + (1 - alpha) * bg, "alpha": alpha, "fg": fg, "bg": bg, "trimap": tri, "has_fg": torch.ones(b)}


def away_from_seams(h: int, w: int, tile: int, overlap: int, reach: int):
    """(h, w) bool mask of the pixels more than ``reach`` px (a network's receptive field) from every tile's
    inner edge, where tiled inference must equal the untiled one exactly."""
    import torch
    from gan_matting.inference.tiles import tile_starts
    far = torch.ones(h, w, dtype=torch.bool)
    for length, view in ((h, lambda a, b: far[a:b]), (w, lambda a, b: far[:, a:b])):
        starts = tile_starts(length, tile, overlap)
        for s in starts[1:]:
            view(s, s + reach)[...] = False
        for s in starts[:-1]:
            view(s + tile - reach, s + tile)[...] = False
    return far

