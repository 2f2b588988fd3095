"""Instance-mask data in the Penn-Fudan layout, for fine-tuning the Mask R-CNN auto-trimap front-end.

    ROOT/PNGImages/NAME.png        the photos (any format Pillow reads)
    ROOT/PedMasks/NAME_mask.png    one 8-bit map per photo: 0 = background, k = instance k (1, 2, ...)

    ds = PennFudanDataset(root, size=320)     # ds[i] -> {"image": (3, S, S), "masks": (MAX_INSTANCES, S, S),
                                              #           "n_instances": int}
    write_pennfudan(root, n=6, size=96)       # a tiny procedural set in this layout (tests, demos)

Images are letterboxed into S x S (aspect kept, zero padding at the bottom/right) so batches collate;
instances beyond MAX_INSTANCES (by area) are dropped. Each photo must have its mask of the same size;
missing partners and unreadable files are one-line errors naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .. import GanMattingError
from .io import is_image_file, read_rgb

MAX_INSTANCES = 8


def pennfudan_pairs(root) -> List[Tuple[Path, Path]]:
    """(photo, mask) pairs of a Penn-Fudan folder, sorted by name; errors name what is missing."""
    root = Path(root)
    img_dir, mask_dir = root / "PNGImages", root / "PedMasks"
    for d in (img_dir, mask_dir):
        if not d.is_dir():
            raise GanMattingError(f"{root}: not a Penn-Fudan folder (no {d.name}/; expected PNGImages/ + PedMasks/)")
    photos = sorted(p for p in img_dir.iterdir() if is_image_file(p))
    if not photos:
        raise GanMattingError(f"{img_dir}: no images")
    masks = {p.stem: p for p in mask_dir.iterdir() if is_image_file(p)}
    pairs, missing = [], []
    for p in photos:
        m = masks.get(f"{p.stem}_mask") or masks.get(p.stem)
        (pairs if m else missing).append((p, m))
    if missing:
        raise GanMattingError(f"{mask_dir}: no mask for {', '.join(p.name for p, _ in missing[:5])}"
                              f"{' ...' if len(missing) > 5 else ''} (expected NAME_mask.png)")
    return pairs


def read_instances(path: Path) -> np.ndarray:
    """The instance-id map as int (H, W); ids are the raw 8/16-bit values (0 = background)."""
    from .io import _open
    im = _open(path, allow_huge=False)
    if im.mode not in ("L", "P", "I", "I;16", "1"):
        im = im.convert("L")
    return np.asarray(im).astype(np.int64)


def letterbox(x: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """(C, H, W) -> (C, size, size): scaled to fit, zero-padded at the bottom/right."""
    h, w = x.shape[-2:]
    s = size / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    y = F.interpolate(x[None].float(), size=(nh, nw), mode=mode, **({"align_corners": False, "antialias": True}
                                                                   if mode == "bilinear" else {}))[0]
    return F.pad(y, (0, size - nw, 0, size - nh))


class PennFudanDataset(Dataset):
    def __init__(self, root, size: int = 320):
        self.pairs = pennfudan_pairs(root)
        self.size = size

    def __len__(self) -> int:
        return len(self.pairs)

    def set_epoch(self, epoch: int) -> None:  # FolderByStep's hook; nothing random here
        pass

    def __getitem__(self, i: int) -> Dict[str, object]:
        photo, mask_path = self.pairs[i]
        img = read_rgb(photo)
        ids = read_instances(mask_path)
        if ids.shape != img.shape[:2]:
            raise GanMattingError(f"size mismatch: {photo} is {img.shape[1]}x{img.shape[0]}, "
                                  f"{mask_path} is {ids.shape[1]}x{ids.shape[0]}")
        labels = [k for k in np.unique(ids) if k != 0]
        labels = sorted(labels, key=lambda k: -(ids == k).sum())[:MAX_INSTANCES]
        masks = torch.zeros(MAX_INSTANCES, *ids.shape)
        for j, k in enumerate(labels):
            masks[j] = torch.from_numpy(ids == k)
        image = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return {"image": letterbox(image, self.size, "bilinear"),
                "masks": (letterbox(masks, self.size, "nearest") > 0.5).float(),
                "n_instances": len(labels)}


def write_pennfudan(root, n: int = 6, size: int = 96, seed: int = 0) -> Path:
    """A tiny procedural Penn-Fudan set: 1-3 upright 'pedestrians' (ellipse head over a rounded body)
    in distinct colours on a textured background, with their instance map."""
    from PIL import Image
    root = Path(root)
    (root / "PNGImages").mkdir(parents=True, exist_ok=True)
    (root / "PedMasks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size + size // 3].astype(np.float32)
    h, w = yy.shape
    for k in range(n):
        img = 0.35 + 0.15 * np.sin(xx[..., None] / rng.uniform(2, 6) + np.array([0, 1, 2])) * np.cos(yy[..., None] / 5)
        ids = np.zeros((h, w), np.uint8)
        for j in range(int(rng.integers(1, 4))):
            cx, top = rng.uniform(0.15, 0.85) * w, rng.uniform(0.1, 0.3) * h
            bh = rng.uniform(0.45, 0.6) * h
            head = ((xx - cx) / (0.05 * h)) ** 2 + ((yy - top) / (0.07 * h)) ** 2 < 1
            body = (np.abs(xx - cx) < 0.09 * h) & (yy > top + 0.05 * h) & (yy < top + bh)
            person = (head | body) & (ids == 0)
            ids[person] = j + 1
            img[person] = rng.uniform(0.0, 1.0, 3)
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(root / "PNGImages" / f"Ped{k:05d}.png")
        Image.fromarray(ids).save(root / "PedMasks" / f"Ped{k:05d}_mask.png")
    return root
