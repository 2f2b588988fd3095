"""Real foregrounds, re-composited: training data from a fixed split of real matting photos.

For every training photo (ground-truth alpha known) the foreground colour F is estimated once
(pymatting's ``estimate_foreground_ml`` on the photo and the true alpha). The pool then holds, per photo:

* the photo itself with each of its own trimaps (F, B unknown: has_fg = 0), and
* ``variants`` composites alpha*F + (1-alpha)*B' on new backgrounds B': procedural patterns, the
  photos shipped in the scikit-image/scikit-learn/matplotlib wheels, or another training photo,
  each with a random erode/dilate trimap whose unknown band covers ``band_frac`` of the image
  (the range of alphamatting's Trimap1/Trimap2), quantised to 8 bits like a real photo
  (F and B exact up to that rounding and the added sensor noise: has_fg = 1), and
* ``synth_hair`` procedural portraits made to look photographed (``synth/realism.py``: faint strands,
  defocus, motion blur, noise, JPEG), for the hair detail that 12 photos cannot teach (has_fg = 1), and
* ``pseudo`` photos whose alpha is another matting model's prediction (pseudo-labels: real fur and hair
  that no ground truth covers here), scaled to the photos' size, each with random real-user trimaps
  (has_fg = 0, like the photos themselves).

Each pool entry also stores the classical prior (e.g. closed-form alpha) of its image and trimap,
because a prior-based generator needs it as input and a solve costs seconds. Entries are built
once, deterministically from (split, seed, settings), and cached under the priors cache directory.

    pool = build_pool(root, names, variants=8, seed=0, prior="cf")       # -> list of .npz paths
    ds = CompositePool(pool, crop=256, seed=0); item = ds[k]              # the MattingDataset item format + prior
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import GanMattingError
from ..atomic import atomic_write
from .augment import choose_crop
from .backgrounds import random_background, random_crop_resize
from .composite import composite
from .dataset import to_chw
from .io import read_alpha, read_rgb, read_trimap, to_uint8
from .layouts import read_folder
from .trimap import trimap_from_alpha
from .trimap_format import trimap_to_unit

POOL_VERSION = 2
NOISE_SIGMA = (0.004, 0.015)  # per composite, on [0, 1]
SYNTH_SIZE = (512, 384)  # the procedural portraits of the pool (landscape or portrait), near the photos' scale


def _band_radius(alpha: np.ndarray, frac: float) -> int:
    """Erode/dilate radius whose unknown band covers about ``frac`` of the image."""
    from scipy import ndimage
    partial = (alpha > 0.001) & (alpha < 0.999)
    edge = partial | (ndimage.binary_dilation(alpha >= 0.999) ^ (alpha >= 0.999))
    d_out = ndimage.distance_transform_edt(~edge)  # distance of every pixel to the transition
    return max(1, int(np.quantile(d_out, min(frac, 0.95))))


def _user_trimap(alpha: np.ndarray, band_frac: Tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A trimap like a user's: irregular erode/dilate band covering about U(band_frac) of the image."""
    r = _band_radius(alpha, float(rng.uniform(*band_frac)))
    return trimap_from_alpha(alpha, (max(1, int(r * 0.6)), int(r * 1.4) + 1), rng)


def _write_entry(path: Path, prior: str, img8: np.ndarray, alpha: np.ndarray, fg8: np.ndarray, bg8: np.ndarray,
                 tri: np.ndarray, has_fg: int) -> str:
    """Solve the entry's classical prior on (img8, tri) and write the entry atomically; returns the path."""
    from ..priors import prior_stack
    h, w = tri.shape
    p = prior_stack(prior, img8.astype(np.float64) / 255.0, tri) if prior else np.zeros((h, w, 1), np.float32)
    p = p[..., 0] if p.shape[-1] == 1 else p  # (H, W) for one prior (the pool format of version 2), (H, W, K) for several

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, image=img8, alpha=to_uint8(alpha), fg=fg8, bg=bg8, trimap=tri,
                     prior=p.astype(np.float16), has_fg=np.array(has_fg))
    atomic_write(path, write)
    return str(path)


def _make_entry(args) -> str:
    """Build one pool entry (runs in a worker process). Returns the written path."""
    (path, photo, alpha_path, fg_cache, trimap_path, others, k, seed, prior, band_frac) = args
    rng = np.random.default_rng([seed, k, int(hashlib.sha256(str(photo).encode()).hexdigest()[:8], 16)])
    image = read_rgb(photo)
    alpha = read_alpha(alpha_path)
    h, w = alpha.shape
    if trimap_path is not None:  # the photo itself, with one of its own trimaps
        img8, tri = to_uint8(image), read_trimap(trimap_path)
        fg, bg, has_fg = img8, img8, 0
    else:
        fg = np.load(fg_cache)
        pick = rng.uniform()
        if pick < 0.3 and others:
            other = read_rgb(others[int(rng.integers(len(others)))])
            bgf = random_crop_resize(other, h, w, rng)
        else:
            bgf = random_background(h, w, rng, photo_prob=0.5)
        comp = composite(alpha[..., None], fg.astype(np.float32) / 255.0, bgf)
        # sensor noise, as every real photo has: it also keeps the matting Laplacian of flat synthetic
        # backgrounds well conditioned (without it closed-form matting took minutes instead of seconds)
        comp = comp + rng.normal(0.0, rng.uniform(*NOISE_SIGMA), comp.shape)
        img8 = to_uint8(np.clip(comp, 0, 1))
        tri = _user_trimap(alpha, band_frac, rng)
        bg, has_fg = to_uint8(bgf), 1
    return _write_entry(path, prior, img8, alpha, fg, bg, tri, has_fg)


def _make_synth_entry(args) -> str:
    """One procedural portrait, photographed (``synth/realism.py``), with a real-user trimap and its prior."""
    path, k, seed, prior, band_frac = args
    from .synth import synth_sample
    from .synth.realism import photographed_image, photographed_layer
    rng = np.random.default_rng([seed, k, 31])
    w, h = SYNTH_SIZE if rng.uniform() < 0.5 else SYNTH_SIZE[::-1]
    s = synth_sample(k, seed + 7919, w, h)
    alpha, fg = photographed_layer(s["alpha"], s["fg"], s["region"], rng)
    img8 = photographed_image(alpha, fg, s["bg"], rng)
    tri = _user_trimap(alpha, band_frac, rng)
    return _write_entry(path, prior, img8, alpha, to_uint8(fg), to_uint8(s["bg"]), tri, 1)


def _make_pseudo_entry(args) -> str:
    """One pseudo-labelled photo (its alpha predicted by another model), scaled so its long side is at
    most ``side``, with a random real-user trimap and its prior."""
    path, photo, alpha_path, k, seed, prior, band_frac, side = args
    from PIL import Image
    rng = np.random.default_rng([seed, k, int(hashlib.sha256(str(photo).encode()).hexdigest()[:8], 16)])
    image, alpha = read_rgb(photo), read_alpha(alpha_path)
    if image.shape[:2] != alpha.shape:
        raise GanMattingError(f"{alpha_path}: {alpha.shape[1]}x{alpha.shape[0]}, but {photo} is "
                              f"{image.shape[1]}x{image.shape[0]}")
    h, w = alpha.shape
    scale = min(1.0, side / max(h, w))
    if scale < 1.0:  # area-like downscaling (PIL's box filter): strands thin out as a camera's would
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        img8 = np.asarray(Image.fromarray(to_uint8(image)).resize(size, Image.BOX))
        alpha = np.asarray(Image.fromarray(alpha.astype(np.float32), "F").resize(size, Image.BOX))
    else:
        img8 = to_uint8(image)
    alpha = np.clip(alpha, 0, 1)
    return _write_entry(path, prior, img8, alpha, img8, img8, _user_trimap(alpha, band_frac, rng), 0)


def pseudo_photos(root, alpha_dir: str = "alpha") -> List[Tuple[str, Path, Path]]:
    """(name, photo, pseudo alpha) for every ROOT/input image with a ROOT/ALPHA_DIR/NAME.png matte."""
    from .io import is_image_file
    root = Path(root)
    inputs, mattes = root / "input", root / alpha_dir
    if not inputs.is_dir() or not mattes.is_dir():
        raise GanMattingError(f"data.pseudo_root: {root} needs input/ and {alpha_dir}/ (data.pseudo_alpha) folders")
    out = [(p.stem, p, mattes / f"{p.stem}.png") for p in sorted(inputs.iterdir())
           if p.is_file() and is_image_file(p) and (mattes / f"{p.stem}.png").is_file()]
    if not out:
        raise GanMattingError(f"data.pseudo_root: no image in {inputs} has a matte {mattes}/NAME.png")
    return out


def _make(job) -> str:
    if job[0] == "synth":
        return _make_synth_entry(job[1:])
    if job[0] == "pseudo":
        return _make_pseudo_entry(job[1:])
    return _make_entry(job)


def _foreground(photo: Path, alpha_path: Path, out: Path) -> Path:
    if not out.is_file():
        from ..baselines import ml_foreground
        img, a = read_rgb(photo).astype(np.float64), read_alpha(alpha_path).astype(np.float64)
        fg = to_uint8(ml_foreground(img, a))

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, fg)
        atomic_write(out, write)
    return out


def build_pool(root, names: Sequence[str], variants: int = 8, seed: int = 0, prior: str = "cf",
               band_frac: Tuple[float, float] = (0.05, 0.45), workers: int = 1,
               cache: Optional[Path] = None, progress: bool = True, synth_hair: int = 0,
               pseudo: Sequence[Tuple[str, Path, Path]] = (), pseudo_side: int = 800,
               pseudo_trimaps: int = 2) -> List[Path]:
    """Build (or find in the cache) every pool entry for the photos ``names`` of dataset ``root``, plus
    ``synth_hair`` photographed procedural portraits, plus ``pseudo_trimaps`` entries per pseudo-labelled
    photo (``pseudo_photos``)."""
    from ..priors import cache_dir
    folder = read_folder(root)
    by_name = {s.name: s for s in folder.samples}
    missing = [n for n in names if n not in by_name or by_name[n].alpha is None]
    if missing:
        raise GanMattingError(f"{root}: no image with ground-truth alpha for {', '.join(missing)}")
    if not names:
        raise GanMattingError("the training split is empty")
    settings = json.dumps({"v": POOL_VERSION, "names": sorted(names), "variants": variants, "seed": seed,
                           "prior": prior, "band": list(band_frac),
                           **({"synth_hair": synth_hair} if synth_hair else {}),
                           **({"pseudo": [[n, str(a)] for n, _, a in pseudo], "pseudo_side": pseudo_side,
                               "pseudo_trimaps": pseudo_trimaps} if pseudo else {})}, sort_keys=True)
    base = Path(cache or cache_dir().parent / "pools") / hashlib.sha256(settings.encode()).hexdigest()[:16]
    jobs = []
    photos = [by_name[n].image for n in names]
    for n in sorted(names):
        s = by_name[n]
        fg_cache = base / "fg" / f"{n}.npy"
        for tname, tpath in sorted(s.trimaps.items()):
            jobs.append((base / f"{n}_{tname}.npz", s.image, s.alpha, None, tpath, [], 0, seed, prior, band_frac))
        others = [p for p in photos if p != s.image]
        for k in range(variants):
            jobs.append((base / f"{n}_comp{k:02d}.npz", s.image, s.alpha, fg_cache, None, others, k, seed, prior, band_frac))
    jobs += [("synth", base / f"synth{k:03d}.npz", k, seed, prior, band_frac) for k in range(synth_hair)]
    jobs += [("pseudo", base / f"pseudo_{n}_{k}.npz", photo, alpha, k, seed, prior, band_frac, pseudo_side)
             for n, photo, alpha in pseudo for k in range(pseudo_trimaps)]
    path_of = [j[1] if j[0] in ("synth", "pseudo") else j[0] for j in jobs]
    todo = [j for j, p in zip(jobs, path_of) if not Path(p).is_file()]
    if todo:
        for n in sorted(names):
            _foreground(by_name[n].image, by_name[n].alpha, base / "fg" / f"{n}.npy")
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc=f"composite pool ({prior or 'no'} prior)", disable=not progress)
        if workers > 1:
            import multiprocessing as mp
            # spawn, not fork: the parent has started numba's thread pool (foreground estimation),
            # and a forked copy of a running thread pool deadlocks
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
                for _ in ex.map(_make, todo):
                    bar.update(1)
        else:
            for j in todo:
                _make(j)
                bar.update(1)
        bar.close()
        (base / "settings.json").write_text(settings)
    return [Path(p) for p in path_of]


class CompositePool(Dataset):
    """Random crops of pool entries. Item = MattingDataset's dict plus ``prior`` (K, S, S), K priors.

    Item k of epoch e is a pure function of (seed, e, k): crop position (centred on the unknown band
    with probability ``unknown_prob``) and a horizontal flip."""

    def __init__(self, entries: Sequence[Path], crop: int = 256, seed: int = 0, unknown_prob: float = 0.9):
        if not entries:
            raise GanMattingError("the composite pool is empty")
        self.entries, self.crop, self.seed, self.unknown_prob, self.epoch = list(entries), crop, seed, unknown_prob, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Dict[str, object]:
        rng = np.random.default_rng([self.seed, self.epoch, index, 11])
        with np.load(self.entries[index]) as z:
            arr = {k: z[k] for k in z.files}
        t = {k: to_chw(arr[k]) / 255.0 for k in ("image", "alpha", "fg", "bg")}
        t["trimap"] = to_chw(trimap_to_unit(arr["trimap"]))
        t["prior"] = to_chw(arr["prior"])
        h, w = t["alpha"].shape[-2:]
        s = min(self.crop, h, w)
        unk = (t["trimap"] == 0.5).float()
        y, x = choose_crop(unk * 0.5, s, rng, self.unknown_prob)  # centre on the trimap's band
        t = {k: v[..., y:y + s, x:x + s] for k, v in t.items()}
        if rng.uniform() < 0.5:
            t = {k: v.flip(-1) for k, v in t.items()}
        t = {k: v.contiguous() for k, v in t.items()}
        t["has_fg"] = torch.tensor(float(arr["has_fg"]))
        t["name"] = Path(self.entries[index]).stem
        return t
