"""A picture of the generator's output: rows of image | alpha | region mask | alpha zoom."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import write_image
from . import synth_sample

REGION_COLOURS = np.array([[0, 0, 0], [0.95, 0.75, 0.2], [0.3, 0.8, 1.0], [0.6, 0.6, 0.6]], np.float32)


def write_grid(path: Path, n: int = 4, seed: int = 0, size: int = 384) -> Path:
    rows = []
    for i in range(n):
        s = synth_sample(i, seed, size, size)
        a = s["alpha"]
        # zoom x4 on the 1/4-size window with the most partial alpha (the hair band)
        k = size // 4
        partial = ((a > 0) & (a < 1)).astype(np.float32)
        sums = partial.reshape(4, k, 4, k).sum(axis=(1, 3))
        by, bx = np.unravel_index(np.argmax(sums), sums.shape)
        zoom = np.kron(a[by * k:(by + 1) * k, bx * k:(bx + 1) * k], np.ones((4, 4), np.float32))
        rows.append(np.concatenate([s["image"], np.repeat(a[..., None], 3, 2),
                                    REGION_COLOURS[s["region"]], np.repeat(zoom[..., None], 3, 2)], axis=1))
    grid = np.concatenate(rows, axis=0)
    write_image(path, grid)
    return path
