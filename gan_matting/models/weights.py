"""Generator weights as released artefacts: safetensors with the network's config in the metadata.

    save_generator(G, "checkpoints/x.safetensors", {"name": "unet", "width": 16, ...}, {"step": 1200})
    G, meta = load_generator("checkpoints/x.safetensors", device="cpu")

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
    if not p.is_file():
        raise GanMattingError(f"{p}: weights file not found")
    try:
        with safe_open(str(p), framework="pt") as fh:
            md = fh.metadata() or {}
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise GanMattingError(f"{p}: not a readable safetensors file ({exc})") from None
    if md.get("format") != FORMAT:
        raise GanMattingError(f"{p}: no gan_matting generator metadata in this safetensors file")
    gcfg = json.loads(md["generator"])
    g = build_network(gcfg.pop("name", "unet"), **gcfg)
    g.load_state_dict(tensors)
    return g.to(device).eval(), md
