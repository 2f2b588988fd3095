"""Generator weights as released artefacts: safetensors with the network's config in the metadata.

    save_generator(G, "checkpoints/x.safetensors", {"name": "unet", "width": 16, ...}, {"step": 1200})
    G, meta = load_generator("checkpoints/x.safetensors", device="cpu")
    save_refiner({"refiner": (net, cfg), "error_head": (net, cfg)}, path, {"coarse_side": 384, ...})
    nets, meta = load_refiner(path)     # {"refiner": PatchRefiner, "error_head": CoarseErrorHead}, metadata

This is what ``checkpoints/`` holds and what inference loads; the full resumable training state
(optimisers, RNGs, discriminators) lives in ``training/checkpoint.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .. import GanMattingError
from ..atomic import atomic_write
from .registry import build_network

FORMAT = "gan_matting.generator.v1"
CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
# the default weights of `infer` and the demo: the best released model on real photos (see checkpoints/README.md)
RELEASED_WEIGHTS = CHECKPOINTS / "gan_matting_real_cf.safetensors"
REFINER_FORMAT = "gan_matting.refiner.v1"
# the default refiner of `infer --mode fast`, trained behind RELEASED_WEIGHTS
RELEASED_REFINER = CHECKPOINTS / "gan_matting_refiner.safetensors"


def unwrap(net: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DDP and torch.compile wrappers."""
    net = getattr(net, "module", net)  # DDP
    return getattr(net, "_orig_mod", net)  # torch.compile


def save_generator(net: torch.nn.Module, path, gen_cfg: Dict[str, Any], meta: Optional[Dict[str, Any]] = None) -> Path:
    """Write the generator's weights (atomically, world-readable) with ``gen_cfg`` in the metadata."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in unwrap(net).state_dict().items()}
    md = {"format": FORMAT, "generator": json.dumps(gen_cfg)}
    md.update({k: str(v) for k, v in (meta or {}).items()})
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=md), mode=0o644)


def load_generator(path, device: str | torch.device = "cpu") -> Tuple[torch.nn.Module, Dict[str, str]]:
    """Build the generator described in a .safetensors file's metadata and load its weights (eval mode)."""
    p = Path(path)
    tensors, md = _read_safetensors(p)
    if md.get("format") != FORMAT:
        raise GanMattingError(f"{p}: no gan_matting generator metadata in this safetensors file")
    gcfg = json.loads(md["generator"])
    g = build_network(gcfg.pop("name", "unet"), **gcfg)
    g.load_state_dict(tensors)
    return g.to(device).eval(), md


def _read_safetensors(p: Path):
    if not p.is_file():
        raise GanMattingError(f"{p}: weights file not found")
    try:
        with safe_open(str(p), framework="pt") as fh:
            md = fh.metadata() or {}
        return load_file(str(p)), md
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanMattingError(f"{p}: not a readable safetensors file ({exc})") from None


def save_refiner(nets: Dict[str, Tuple[torch.nn.Module, Dict[str, Any]]], path, meta: Optional[Dict[str, Any]] = None) -> Path:
    """Stage-2 networks in one file: tensors prefixed by their name, each network's config in the metadata."""
    tensors, md = {}, {"format": REFINER_FORMAT}
    for name, (net, cfg) in nets.items():
        tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in unwrap(net).state_dict().items()})
        md[name] = json.dumps(cfg)
    md.update({k: str(v) for k, v in (meta or {}).items()})
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=md), mode=0o644)


def load_refiner(path, device: str | torch.device = "cpu") -> Tuple[Dict[str, torch.nn.Module], Dict[str, str]]:
    p = Path(path)
    tensors, md = _read_safetensors(p)
    if md.get("format") != REFINER_FORMAT:
        raise GanMattingError(f"{p}: not gan_matting refiner weights (format {md.get('format')!r})")
    nets = {}
    for name in ("refiner", "error_head"):
        if name not in md:
            continue
        cfg = json.loads(md[name])
        net = build_network(cfg.pop("name"), **cfg)
        own = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
        try:
            net.load_state_dict(own)
        except RuntimeError as exc:
            raise GanMattingError(f"{p}: {name} weights do not match its metadata: {str(exc).splitlines()[0]}") from None
        nets[name] = net.to(device).eval()
    return nets, md
