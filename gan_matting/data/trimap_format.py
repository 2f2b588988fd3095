"""The one owner of the trimap encoding.

On disk a trimap holds 0 (background), 128 (unknown) and 255 (foreground). In tensors it holds
exactly 0, 0.5 and 1. Anything below LOW is background, above HIGH foreground, in between unknown:
the thresholds are generous so that resized (interpolated) trimaps still classify sensibly.

    t = trimap_to_unit(uint8_trimap)      # numpy or torch, 0/128/255 -> 0/0.5/1 (float32)
    trimap_onehot(t)                      # (B, 1, H, W) -> (B, 3, H, W) planes bg / unknown / fg
    unknown_mask(t)                       # float mask of the unknown band, t's dtype
    apply_known(alpha, t)                 # copy the known regions into alpha (DIM protocol)
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

BG, UNKNOWN, FG = 0, 128, 255
TRIMAP_VALUES = (BG, UNKNOWN, FG)
LOW, HIGH = 0.25, 0.75  # unit-scale thresholds: < LOW background, > HIGH foreground

ArrayOrTensor = Union[np.ndarray, torch.Tensor]


def trimap_to_unit(t: ArrayOrTensor) -> ArrayOrTensor:
    """0/128/255 -> exactly 0/0.5/1 as float32 (numpy in, numpy out; torch in, torch out)."""
    if isinstance(t, np.ndarray):
        return np.round(t.astype(np.float32) / 127.5) / 2.0
    return torch.round(t.float() / 127.5) / 2.0


def trimap_onehot(trimap: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in {0, 0.5, 1} -> (B, 3, H, W) one-hot planes bg / unknown / fg."""
    return torch.cat([trimap < LOW, (trimap >= LOW) & (trimap <= HIGH), trimap > HIGH], dim=1).to(trimap.dtype)


def unknown_mask(trimap: torch.Tensor) -> torch.Tensor:
    """(..., H, W) in {0, 0.5, 1} -> float mask (same dtype) of the unknown band."""
    return ((trimap - 0.5).abs() < LOW).to(trimap.dtype)


def apply_known(alpha: ArrayOrTensor, trimap: ArrayOrTensor) -> ArrayOrTensor:
    """Copy the trimap's known regions into alpha (DIM protocol). Unit-scale trimap, same layout as alpha."""
    if isinstance(alpha, np.ndarray):
        return np.where(trimap > HIGH, 1.0, np.where(trimap < LOW, 0.0, alpha)).astype(alpha.dtype)
    return torch.where(trimap > HIGH, torch.ones_like(alpha), torch.where(trimap < LOW, torch.zeros_like(alpha), alpha))
