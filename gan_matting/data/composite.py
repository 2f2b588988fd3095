"""The matting equation: image = alpha * F + (1 - alpha) * B."""

from __future__ import annotations

from typing import TypeVar

Array = TypeVar("Array")  # numpy array or torch tensor: only arithmetic is used


def composite(alpha: Array, fg: Array, bg: Array) -> Array:
    """Blend a matte over a background.

    alpha: (..., 1, H, W) torch or (H, W, 1) numpy, on [0, 1]; fg, bg: same layout with 3 channels on [0, 1].
    Returns the composite with fg's shape, on [0, 1].
    """
    return alpha * fg + (1 - alpha) * bg
