"""Robust image reading and writing shared by every entry point.

Every reader returns float32 arrays on [0, 1]:
    read_rgb(path)    -> (H, W, 3)
    read_alpha(path)  -> (H, W)
    read_trimap(path) -> (H, W) uint8 on 0/128/255 (the one exception: trimaps stay categorical)

Handled: EXIF orientation, greyscale / palette / CMYK / RGBA / LA / 16-bit / 32-bit float inputs,
truncated or corrupt files, 0-byte files, missing files and Pillow's decompression-bomb limit
(refused unless ``allow_huge=True``). Each failure raises ``ImageReadError`` whose message is one
line naming the file, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import GanMattingError
from ..atomic import atomic_write
from .trimap_format import TRIMAP_VALUES

PathLike = Union[str, os.PathLike]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Pillow's own default limit (~89.5 Mpx); huge images must be asked for explicitly.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485  # module-level so callers/tests can change it


class ImageReadError(GanMattingError, ValueError):
    """An image could not be read; the message names the file and the reason."""


def is_image_file(path: PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def _open(path: PathLike, allow_huge: bool) -> Image.Image:
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p}: file not found")
    if p.is_dir():
        raise ImageReadError(f"{p}: is a folder, not an image")
    if p.stat().st_size == 0:
        raise ImageReadError(f"{p}: empty file (0 bytes)")
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None if allow_huge else MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x the limit; treat that as the error it should be
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(p)
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{p}: image too large ({exc}); run `gan-matting --allow-huge ...` to read it anyway") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{p}: not an image file Pillow can read (corrupt or unknown format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{p}: corrupt or truncated image ({exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    try:
        im = ImageOps.exif_transpose(im)  # camera images: apply the EXIF rotation
    except Exception:  # a broken EXIF block should not lose the pixels
        pass
    return im


def _to_float(im: Image.Image) -> np.ndarray:
    """Pillow image -> float32 array on [0, 1], keeping 16-bit precision."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im, dtype=np.uint16).astype(np.float32) / 65535.0
    if im.mode == "I":
        a = np.asarray(im, dtype=np.int64)
        # 16-bit PNGs decode to mode I; values above 255 mean a 16-bit range
        scale = 65535.0 if a.max(initial=0) > 255 else 255.0
        return np.clip(a.astype(np.float32) / scale, 0, 1)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float32)
        return np.clip(a / 255.0 if a.max(initial=0) > 1.0 else a, 0, 1)
    return np.asarray(im, dtype=np.uint8).astype(np.float32) / 255.0


def read_rgb(path: PathLike, allow_huge: bool = False) -> np.ndarray:
    """Read a colour image. Returns (H, W, 3) float32 on [0, 1].

    Greyscale is replicated to 3 channels, palette/CMYK are converted, an alpha channel is dropped
    (use ``read_rgba`` to keep it), 16-bit precision is kept.
    """
    im = _open(path, allow_huge)
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        g = _to_float(im)
        return np.repeat(g[..., None], 3, axis=2)
    if im.mode != "RGB":
        im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
        if im.mode == "RGBA":
            im = im.convert("RGB")
    arr = _to_float(im)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageReadError(f"{path}: unexpected image layout {arr.shape}")
    return arr


def read_rgba(path: PathLike, allow_huge: bool = False) -> np.ndarray:
    """Read a cut-out with transparency. Returns (H, W, 4) float32 on [0, 1]; opaque if it has none."""
    im = _open(path, allow_huge)
    if im.mode != "RGBA":
        im = im.convert("RGBA")
    return _to_float(im)


def read_alpha(path: PathLike, allow_huge: bool = False) -> np.ndarray:
    """Read a matte. Returns (H, W) float32 on [0, 1].

    Mattes stored as RGB (alphamatting.com, DIM) take the first channel, as the MATLAB code's
    gt(:,:,1). RGBA files use their alpha channel when it is not constant, else the first channel.
    """
    im = _open(path, allow_huge)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
        a = rgba[..., 3]
        chan = a if a.min() != a.max() else rgba[..., 0]
        return chan.astype(np.float32) / 255.0
    if im.mode in ("RGB", "CMYK", "YCbCr", "P", "LAB", "HSV"):
        return np.asarray(im.convert("RGB"), dtype=np.uint8)[..., 0].astype(np.float32) / 255.0
    if im.mode in ("1", "L"):
        return np.asarray(im.convert("L"), dtype=np.uint8).astype(np.float32) / 255.0
    return _to_float(im)


def read_trimap(path: PathLike, snap: bool = False, allow_huge: bool = False) -> np.ndarray:
    """Read a trimap. Returns (H, W) uint8 with values in {0, 128, 255}.

    Other values (a JPEG-compressed or resized trimap) raise ``ImageReadError`` listing them,
    unless ``snap=True``: then < 64 -> 0, > 191 -> 255, the rest -> 128.
    """
    a = np.round(read_alpha(path, allow_huge) * 255.0).astype(np.uint8)
    bad = ~np.isin(a, TRIMAP_VALUES)
    if bad.any():
        if not snap:
            vals = np.unique(a[bad])
            shown = ", ".join(str(v) for v in vals[:8]) + (" ..." if len(vals) > 8 else "")
            raise ImageReadError(
                f"{path}: trimap has values other than 0/128/255 ({bad.mean():.1%} of pixels: {shown}); "
                "re-save it losslessly as PNG with only 0/128/255 (snap_trimap() maps any values)")
        a = snap_trimap(a)
    return a


def snap_trimap(a: np.ndarray) -> np.ndarray:
    """Map any 0..255 array to 0/128/255: < 64 -> 0, > 191 -> 255, else 128."""
    out = np.full(a.shape, 128, np.uint8)
    out[a < 64] = 0
    out[a > 191] = 255
    return out


def _atomic_save(im: Image.Image, path: PathLike) -> None:
    p = Path(path)
    fmt = Image.registered_extensions().get(p.suffix.lower())
    if fmt is None:
        raise GanMattingError(f"{p}: unknown image extension {p.suffix!r}")
    atomic_write(p, lambda tmp: im.save(tmp, format=fmt))


def to_uint8(a: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 with rounding (the benchmarks' PNG quantisation)."""
    return np.clip(np.round(np.asarray(a, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def write_image(path: PathLike, arr: np.ndarray) -> None:
    """Write (H, W) or (H, W, 3|4) floats on [0, 1] (or uint8) as an 8-bit image, atomically."""
    a = arr if arr.dtype == np.uint8 else to_uint8(arr)
    _atomic_save(Image.fromarray(a), path)


def write_trimap(path: PathLike, trimap: np.ndarray) -> None:
    """Write a 0/128/255 trimap losslessly (use .png)."""
    t = np.asarray(trimap)
    if not np.isin(t, TRIMAP_VALUES).all():
        raise GanMattingError(f"{path}: refusing to write a trimap with values other than 0/128/255")
    _atomic_save(Image.fromarray(t.astype(np.uint8)), path)
