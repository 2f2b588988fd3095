"""Checks of what users pass in: numbers, device names and output paths, each where it enters.

    p.add_argument("--segments", type=int_at_least(1))       # argparse: "argument --segments: must be >= 1, got 0"
    device = resolve_device("cuda:1", "--device")             # GanMattingError if absent / unavailable
    out = output_dir("runs/x", "--out")                       # created, or one line on why it cannot be
    path = output_file("t.jpg", "--out", lossless=True)       # refused: a trimap must survive exactly

Output paths are checked *before* any work, so a long evaluation never dies at the end for want of a
writable folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from . import GanMattingError

LOSSLESS = (".png", ".tif", ".tiff", ".bmp")


def int_at_least(lo: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v
    parse.__name__ = f"integer >= {lo}"
    return parse


def float_in(lo: float, hi: float, allow: tuple = ()):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number in [{lo}, {hi}], got {text!r}") from None
        if v not in allow and not lo <= v <= hi:
            extra = f" (or {', '.join(str(a) for a in allow)})" if allow else ""
            raise argparse.ArgumentTypeError(f"must lie in [{lo}, {hi}]{extra}, got {v}")
        return v
    parse.__name__ = f"number in [{lo}, {hi}]"
    return parse


def resolve_device(name: str, option: str = "--device"):
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> torch.device, refusing devices that are not there."""
    import torch
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise GanMattingError(f"{option} {name!r}: not a device name (auto, cpu, cuda, cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise GanMattingError(f"{option} {name!r}: no CUDA device is available here (use auto or cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise GanMattingError(f"{option} {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise GanMattingError(f"{option} {name!r}: unsupported device type (auto, cpu, cuda, cuda:N)")
    return dev


def _first_existing_parent(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def output_dir(path, option: str = "--out") -> Path:
    """Create ``path`` (with parents) as a writable folder, or say in one line why it cannot be."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise GanMattingError(f"{option} {p}: exists and is not a folder")
    anc = _first_existing_parent(p)
    if not anc.is_dir():
        raise GanMattingError(f"{option} {p}: {anc} is a file, so no folder can be made under it")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise GanMattingError(f"{option} {p}: not writable ({exc.strerror or exc})") from None
    return p


def output_file(path, option: str = "--out", lossless: bool = False) -> Path:
    """Check that a file can be written at ``path`` (its folder is created)."""
    p = Path(path)
    if p.is_dir():
        raise GanMattingError(f"{option} {p}: is a folder; give a file name")
    if lossless and p.suffix.lower() not in LOSSLESS:
        raise GanMattingError(f"{option} {p}: a trimap must be stored losslessly ({', '.join(LOSSLESS)}), "
                              f"not {p.suffix or 'without extension'}")
    anc = _first_existing_parent(p.parent)
    if not anc.is_dir():
        raise GanMattingError(f"{option} {p}: {anc} is a file, so no folder can be made to hold {p.name}")
    output_dir(p.parent, option)
    if p.exists() and not os.access(p, os.W_OK):
        raise GanMattingError(f"{option} {p}: exists and is not writable")
    return p
