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
# the default weights of `infer` (quality mode), `serve` and the demo: the best released model on real photos
# (checkpoints/README.md); it corrects a learned blend of closed-form and KNN alpha, so it pays both solves
RELEASED_WEIGHTS = CHECKPOINTS / "gan_matting_real_u2net_blend.safetensors"
# the coarse generator of `infer --mode fast` (cf prior only, solved at the coarse size): the one the
# released refiner was trained behind
FAST_WEIGHTS = CHECKPOINTS / "gan_matting_real_cf.safetensors"
REFINER_FORMAT = "gan_matting.refiner.v1"
# the default refiner of `infer --mode fast` (since 2026-11-26 18:30 the context refiner trained with more
# real hair in its draws: it reads the cf prior and the blurred coarse alpha in its cells), trained behind
# FAST_WEIGHTS; gan_matting_refiner_context.safetensors is the same network trained with uniform draws
RELEASED_REFINER = CHECKPOINTS / "gan_matting_refiner_context_hair.safetensors"
# the first released refiner: it reads neither the prior nor the context, so it runs behind any generator;
# the default behind generators without a classical prior (the GPU paths' prior-free G, CUDA graphs)
PRIOR_FREE_REFINER = CHECKPOINTS / "gan_matting_refiner.safetensors"


def default_refiner(G: torch.nn.Module) -> Path:
    """The released refiner for the coarse generator G: RELEASED_REFINER where G has a classical prior to
    feed it, else PRIOR_FREE_REFINER."""
    return RELEASED_REFINER if getattr(unwrap(G), "prior", "") else PRIOR_FREE_REFINER


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
    try:
        gcfg = json.loads(md["generator"])
        g = build_network(gcfg.pop("name", "unet"), **gcfg)
    except (KeyError, TypeError, ValueError, GanMattingError) as exc:
        raise GanMattingError(f"{p}: the generator described in its metadata cannot be built ({exc})") from None
    _load_checked(g, tensors, p, "generator")
    return g.to(device).eval(), md


def _load_checked(net: torch.nn.Module, tensors: Dict[str, torch.Tensor], p: Path, what: str) -> None:
    """load_state_dict, but a disagreement is one line naming the first tensor that differs."""
    want = net.state_dict()
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    shape = [k for k in want if k in tensors and tensors[k].shape != want[k].shape]
    if missing or extra or shape:
        if shape:
            k = shape[0]
            why = f"tensor {k} is {tuple(tensors[k].shape)} in the file, {tuple(want[k].shape)} in the network"
        elif missing:
            why = f"{len(missing)} tensor(s) missing, first {missing[0]}"
        else:
            why = f"{len(extra)} unexpected tensor(s), first {extra[0]}"
        raise GanMattingError(f"{p}: {what} weights disagree with their metadata: {why}")
    net.load_state_dict(tensors)


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


REFINER_SETTINGS = {"coarse_side": int, "budget": float, "prior_share": float}  # what `infer --mode fast` reads


def set_refiner_settings(path, **settings) -> Path:
    """Change the inference settings stored with refiner weights (``REFINER_SETTINGS``: what ``infer --mode
    fast`` uses unless told otherwise), tensors untouched, file rewritten atomically. How a released refiner
    gets a new default without retraining, e.g. ``set_refiner_settings(p, prior_share=0.5)``."""
    p = Path(path)
    tensors, md = _read_safetensors(p)
    if md.get("format") != REFINER_FORMAT:
        raise GanMattingError(f"{p}: not gan_matting refiner weights (format {md.get('format')!r})")
    unknown = set(settings) - set(REFINER_SETTINGS)
    if unknown:
        raise GanMattingError(f"refiner settings: unknown {sorted(unknown)}; known: {sorted(REFINER_SETTINGS)}")
    md.update({k: str(REFINER_SETTINGS[k](v)) for k, v in settings.items()})
    return atomic_write(p, lambda tmp: save_file(tensors, str(tmp), metadata=md), mode=0o644)


def load_refiner(path, device: str | torch.device = "cpu") -> Tuple[Dict[str, torch.nn.Module], Dict[str, str]]:
    p = Path(path)
    tensors, md = _read_safetensors(p)
    if md.get("format") != REFINER_FORMAT:
        raise GanMattingError(f"{p}: not gan_matting refiner weights (format {md.get('format')!r})")
    nets = {}
    for name in ("refiner", "error_head"):
        if name not in md:
            continue
        try:
            cfg = json.loads(md[name])
            net = build_network(cfg.pop("name"), **cfg)
        except (KeyError, TypeError, ValueError, GanMattingError) as exc:
            raise GanMattingError(f"{p}: the {name} described in its metadata cannot be built ({exc})") from None
        _load_checked(net, {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}, p, name)
        nets[name] = net.to(device).eval()
    return nets, md
