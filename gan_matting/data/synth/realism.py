"""Make procedural hair look photographed (issue 9's lever 3): faint strands, defocus, motion blur,
sensor noise and JPEG, applied to the *foreground layer* so that alpha and F stay exact.

Real hair photos differ from the crisp renders in ways a matting network must see: most strands at the
edge of a hairdo are faint (alpha well under 0.25), out of focus or smeared by motion, and the photo
is noisy and compressed. Blurring the image alone would break image = alpha F + (1 - alpha) B, so the
blur acts on the premultiplied layer (alpha F, alpha) before compositing, as a lens or a moving subject
does, and F is recovered as (alpha F) / alpha.

    alpha, fg = photographed_layer(alpha, fg, region, rng)     # (H, W), (H, W, 3) float32 on [0, 1]
    image8 = photographed_image(alpha, fg, bg, rng)            # composite + noise + JPEG -> uint8 (H, W, 3)
"""

from __future__ import annotations

import io

import numpy as np
import torch

from ..regions import REGION_IDS

FAINT_SCALE = (0.15, 0.6)    # partial-alpha hair is scaled by this (per image): many strands end under 0.25
P_DEFOCUS, DEFOCUS_SIGMA = 0.6, (0.4, 1.6)   # px, Gaussian lens blur of the layer
P_MOTION, MOTION_LEN = 0.3, (3, 9)           # px, a straight motion-blur kernel of the layer (odd lengths)
NOISE_SIGMA = (0.004, 0.02)
JPEG_QUALITY = (60, 95)


def photographed_layer(alpha: np.ndarray, fg: np.ndarray, region: np.ndarray, rng: np.random.Generator):
    """Faint strands, then defocus and/or motion blur of the premultiplied layer. Returns (alpha, fg)."""
    import kornia.filters as KF
    alpha = alpha.astype(np.float32).copy()
    strands = (region == REGION_IDS["hair"]) & (alpha < 0.999)  # the partial hair, not the solid cap
    alpha[strands] *= rng.uniform(*FAINT_SCALE)
    layer = torch.from_numpy(np.concatenate([fg * alpha[..., None], alpha[..., None]], -1).transpose(2, 0, 1).copy())[None]
    if rng.uniform() < P_DEFOCUS:
        s = float(rng.uniform(*DEFOCUS_SIGMA))
        k = 2 * int(np.ceil(3 * s)) + 1
        layer = KF.gaussian_blur2d(layer, (k, k), (s, s), border_type="replicate")
    if rng.uniform() < P_MOTION:
        n = int(rng.integers(MOTION_LEN[0] // 2, MOTION_LEN[1] // 2 + 1)) * 2 + 1
        layer = KF.motion_blur(layer, n, float(rng.uniform(0, 180)), 0.0, border_type="replicate")
    layer = layer[0].numpy().transpose(1, 2, 0)
    a = np.clip(layer[..., 3], 0, 1)
    # F where the layer has any coverage; elsewhere the unblurred F (it is never seen there)
    f = np.where(a[..., None] > 1e-4, layer[..., :3] / np.maximum(a[..., None], 1e-4), fg)
    return a.astype(np.float32), np.clip(f, 0, 1).astype(np.float32)


def photographed_image(alpha: np.ndarray, fg: np.ndarray, bg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """alpha F + (1 - alpha) B with sensor noise, then a JPEG round trip at a random quality -> uint8."""
    from PIL import Image
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    img = img + rng.normal(0.0, rng.uniform(*NOISE_SIGMA), img.shape)
    img8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img8).save(buf, format="JPEG", quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))
