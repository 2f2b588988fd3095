"""Dataset folder layouts, registered by name. Each reader turns a folder into ``MattingSample``s.

custom (users' own data)::

    root/images/NAME.png   root/alphas/NAME.png   [root/trimaps/NAME.png] [root/fg/NAME.png] [root/bg/NAME.png]
    or, for on-the-fly compositing:  root/fg/NAME.png + root/alphas/NAME.png (+ backgrounds folder)

composition-1k (``comp1k``)::

    train: root/fg/NAME.png  root/alpha/NAME.png            (+ backgrounds folder)
    test:  root/merged/NAME.png  root/alpha_copy/NAME.png  root/trimaps/NAME.png

alphamatting.com (``alphamatting``)::

    root/input/NAME.png  root/alpha/NAME.png (RGB, first channel)  root/trimap1/  root/trimap2/  [root/trimap3/]

Files pair up by stem (file name without extension); any image extension works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .. import GanMattingError
from ..registry import Registry
from .io import is_image_file


@dataclass
class MattingSample:
    """Paths of one sample. ``image`` is None when it must be composited from fg + alpha + a background."""

    name: str
    image: Optional[Path] = None
    alpha: Optional[Path] = None
    fg: Optional[Path] = None
    bg: Optional[Path] = None
    trimaps: Dict[str, Path] = field(default_factory=dict)
    region: Optional[Path] = None  # per-pixel region labels (synthetic data)


@dataclass
class MattingFolder:
    root: Path
    layout: str
    samples: List[MattingSample]
    # files present in one folder without a partner in the main folders: (path, what is missing)
    orphans: List[tuple] = field(default_factory=list)

    @property
    def trimap_names(self) -> List[str]:
        names = set()
        for s in self.samples:
            names.update(s.trimaps)
        return sorted(names)

    def names(self) -> List[str]:
        return [s.name for s in self.samples]

    def default_trimap(self) -> str:
        """The first trimap folder (sorted), for commands given no ``--trimap``."""
        if not self.trimap_names:
            raise GanMattingError(f"{self.root}: no trimap folder; make one with `gan-matting make-trimap`")
        return self.trimap_names[0]


LAYOUTS = Registry("layout")  # name -> reader(root) -> MattingFolder
register_layout = LAYOUTS.register


class _Stems(dict):
    """stem -> path, remembering files whose stem was already taken (x.png and x.jpg)."""

    def __init__(self):
        super().__init__()
        self.duplicates: List[tuple] = []


def _stems(folder: Path) -> Dict[str, Path]:
    out = _Stems()
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if p.is_file() and is_image_file(p) and not p.name.startswith("."):
            if p.stem in out:
                out.duplicates.append((p, f"same name as {out[p.stem].name}: only one of the two would be used; rename one"))
            else:
                out[p.stem] = p
    return out


def _pair(root: Path, layout: str, main: Dict[str, Path], main_key: str, partners: Dict[str, Dict[str, Path]],
          required: tuple, trimap_dirs: Dict[str, Dict[str, Path]]) -> MattingFolder:
    """Build samples from a main folder (by stem) and partner folders; record unpaired files."""
    samples, orphans = [], []
    for name, path in main.items():
        s = MattingSample(name=name, **{main_key: path})
        for key, files in partners.items():
            if name in files:
                setattr(s, key, files[name])
            elif key in required:
                orphans.append((path, f"no {key} file named {name}.*"))
        for tname, files in trimap_dirs.items():
            if name in files:
                s.trimaps[tname] = files[name]
        samples.append(s)
    for key, files in list(partners.items()) + list(trimap_dirs.items()):
        for name, path in files.items():
            if name not in main:
                orphans.append((path, f"no {main_key} file named {name}.*"))
    for files in [main, *partners.values(), *trimap_dirs.values()]:
        orphans.extend(getattr(files, "duplicates", []))
    return MattingFolder(root=root, layout=layout, samples=samples, orphans=orphans)


@register_layout("alphamatting")
def read_alphamatting(root: Path) -> MattingFolder:
    trimaps = {d.name: _stems(d) for d in sorted(root.glob("trimap*")) if d.is_dir()}
    alpha = _stems(root / "alpha")
    required = ("alpha",) if alpha else ()  # the test set has no ground truth
    f = _pair(root, "alphamatting", _stems(root / "input"), "image", {"alpha": alpha}, required, trimaps)
    return f


@register_layout("comp1k")
def read_comp1k(root: Path) -> MattingFolder:
    if (root / "merged").is_dir():
        return _pair(root, "comp1k", _stems(root / "merged"), "image", {"alpha": _stems(root / "alpha_copy")},
                     ("alpha",), {"trimaps": _stems(root / "trimaps")})
    return _pair(root, "comp1k", _stems(root / "fg"), "fg", {"alpha": _stems(root / "alpha")}, ("alpha",), {})


@register_layout("custom")
def read_custom(root: Path) -> MattingFolder:
    trimaps = {"trimaps": _stems(root / "trimaps")} if (root / "trimaps").is_dir() else {}
    partners = {"alpha": _stems(root / "alphas"), "fg": _stems(root / "fg"), "bg": _stems(root / "bg"),
                "region": _stems(root / "regions")}
    partners = {k: v for k, v in partners.items() if v}
    if (root / "images").is_dir():
        main, key = _stems(root / "images"), "image"
        partners.setdefault("alpha", {})
    else:  # foregrounds to composite onto backgrounds
        main, key = partners.pop("fg", {}), "fg"
        partners.setdefault("alpha", {})
    return _pair(root, "custom", main, key, partners, ("alpha",), trimaps)


def detect_layout(root: Path) -> str:
    """Guess the layout from the sub-folder names."""
    if (root / "input").is_dir():
        return "alphamatting"
    if (root / "merged").is_dir() or ((root / "fg").is_dir() and (root / "alpha").is_dir()):
        return "comp1k"
    if any((root / d).is_dir() for d in ("images", "alphas")):
        return "custom"
    subdirs = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    raise GanMattingError(
        f"{root}: cannot tell the dataset layout (sub-folders: {', '.join(subdirs) or 'none'}); expected "
        "images/+alphas/ (custom), fg/+alpha/ or merged/ (comp1k), or input/+trimap1/ (alphamatting)")


def read_folder(root, layout: str = "auto") -> MattingFolder:
    """Read a dataset folder in any registered layout ("auto" detects it). Raises on empty folders."""
    root = Path(root)
    if not root.exists():
        raise GanMattingError(f"{root}: dataset folder not found")
    if not root.is_dir():
        raise GanMattingError(f"{root}: not a folder")
    name = detect_layout(root) if layout == "auto" else layout
    if name not in LAYOUTS:
        raise GanMattingError(f"unknown layout {name!r}; choose from auto, {', '.join(sorted(LAYOUTS))}")
    folder = LAYOUTS[name](root)
    if not folder.samples:
        raise GanMattingError(f"{root}: no images found for the {name} layout (is the folder empty?)")
    return folder


def list_images(folder) -> List[Path]:
    """Image files directly inside ``folder`` (sorted). Raises on a missing or empty folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GanMattingError(f"{folder}: folder not found")
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and is_image_file(p)]
    if not files:
        raise GanMattingError(f"{folder}: no image files ({', '.join(e for e in ('.png', '.jpg'))} ...)")
    return files
