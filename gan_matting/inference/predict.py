"""Matte whole images with a generator.

    alpha, fg = predict_image(G, image, trimap)   # image (H, W, 3) float on [0, 1]; trimap (H, W) uint8 0/128/255
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F


def apply_known(alpha: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
    """Copy the trimap's known regions into alpha (DIM protocol). alpha, trimap: (B, 1, H, W)."""
    return torch.where(trimap > 0.75, torch.ones_like(alpha), torch.where(trimap < 0.25, torch.zeros_like(alpha), alpha))


@torch.no_grad()
def predict_tensor(G: torch.nn.Module, image: torch.Tensor, trimap: Optional[torch.Tensor]) -> dict:
    """image (B, 3, H, W) in [0, 1]; trimap (B, 1, H, W) in {0, 0.5, 1} or None. Known regions copied."""
    out = G(image, None if getattr(G, "trimap_free", False) else trimap)
    if trimap is not None:
        out["alpha"] = apply_known(out["alpha"], trimap)
    return out


@torch.no_grad()
def predict_image(G: torch.nn.Module, image: np.ndarray, trimap: Optional[np.ndarray] = None,
                  max_side: int = 0, device: str | torch.device = "cpu") -> Tuple[np.ndarray, np.ndarray]:
    """Returns alpha (H, W) and fg (H, W, 3), float32 on [0, 1]. With max_side > 0 the image is
    processed at most that large and the result resized back (known trimap regions re-applied)."""
    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float().to(device)
    t = None
    if trimap is not None:
        t = torch.from_numpy(np.round(trimap.astype(np.float32) / 127.5) / 2.0)[None, None].to(device)
    scale = min(1.0, max_side / max(h, w)) if max_side else 1.0
    if scale < 1.0:
        size = (max(8, round(h * scale)), max(8, round(w * scale)))
        xs = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        ts = F.interpolate(t, size=size, mode="nearest") if t is not None else None
        out = predict_tensor(G, xs, ts)
        out = {k: F.interpolate(v, size=(h, w), mode="bilinear", align_corners=False) for k, v in out.items()
               if k in ("alpha", "fg")}
        if t is not None:
            out["alpha"] = apply_known(out["alpha"], t)
    else:
        out = predict_tensor(G, x, t)
    alpha = out["alpha"][0, 0].clamp(0, 1).cpu().numpy()
    fg = out["fg"][0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    return alpha.astype(np.float32), fg.astype(np.float32)
