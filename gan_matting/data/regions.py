"""Region labels of the procedural data (which structure a pixel belongs to), and their file encoding.

Region id k is stored as grey level k * LEVEL in ``regions/NAME.png`` (0, 80, 160, 240), so the masks
are viewable and survive 8-bit PNG exactly.
"""

from __future__ import annotations

import numpy as np

REGION_IDS = {"background": 0, "hair": 1, "jewellery": 2, "body": 3}
REGION_NAMES = {v: k for k, v in REGION_IDS.items() if v}  # scored regions: id -> name
LEVEL = 80


def encode_regions(ids: np.ndarray) -> np.ndarray:
    """uint8 ids -> uint8 grey levels for the PNG."""
    return (ids.astype(np.uint8) * LEVEL).astype(np.uint8)


def decode_regions(grey: np.ndarray) -> np.ndarray:
    """Grey levels read as floats on [0, 1] (read_alpha) -> int64 ids."""
    return np.round(grey * 255.0 / LEVEL).astype(np.int64)
