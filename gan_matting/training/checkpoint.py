"""Checkpoints that resume exactly and load safely.

* ``step_XXXXXXX.pt``: the full training state (every network, optimiser, scheduler, the AMP scaler,
  the step, all RNG states, the config), written to a temporary file and renamed, loaded with
  ``torch.load(weights_only=True)``. The last ``keep_last`` are kept, plus ``best.pt``.
Generator-only release weights (safetensors) are written and read by ``models/weights.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch

from .. import GanMattingError
from ..atomic import atomic_write
from ..config import config_diff
from ..models.weights import unwrap

FORMAT = "gan_matting.train_state.v1"


def rng_state() -> Dict[str, Any]:
    np_state = np.random.get_state()
    st = {"torch": torch.get_rng_state(),
          "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
          "numpy_meta": torch.tensor([np_state[2], np_state[3]], dtype=torch.int64),
          "numpy_gauss": torch.tensor([np_state[4]], dtype=torch.float64),
          "python": torch.tensor(list(random.getstate()[1]), dtype=torch.int64)}
    if torch.cuda.is_available():
        st["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return st


def set_rng_state(st: Dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"])
    meta = st["numpy_meta"].tolist()
    np.random.set_state(("MT19937", st["numpy_keys"].numpy().astype(np.uint32), int(meta[0]), int(meta[1]),
                         float(st["numpy_gauss"][0])))
    random.setstate((3, tuple(int(x) for x in st["python"].tolist()), None))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(st["cuda"]))


def atomic_torch_save(obj: Any, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp), fsync=True)


def training_state(model, step: int, cfg_dict: Dict[str, Any], extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"format": FORMAT, "step": int(step), "config_json": json.dumps(cfg_dict),
            "networks": {k: unwrap(n).state_dict() for k, n in model.networks.items()},
            "optimizers": {k: o.state_dict() for k, o in model.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in model.schedulers.items()},
            "scaler": model.scaler.state_dict() if model.scaler is not None else {},
            "rng": rng_state(), "generators": {k: g.get_state() for k, g in getattr(model, "generators", {}).items()},
            "extra": extra or {}}


def save_checkpoint(model, step: int, cfg_dict: Dict[str, Any], ckpt_dir: Path, keep_last: int = 3,
                    extra: Optional[Dict[str, Any]] = None) -> Path:
    """Atomically write step_XXXXXXX.pt and prune all but the newest ``keep_last``."""
    path = Path(ckpt_dir) / f"step_{step:07d}.pt"
    atomic_torch_save(training_state(model, step, cfg_dict, extra), path)
    olds = sorted(Path(ckpt_dir).glob("step_*.pt"))
    for old in olds[:-keep_last] if keep_last > 0 else []:
        old.unlink()
    return path


def load_state(path) -> Dict[str, Any]:
    """Load a training state safely (weights_only); a corrupt or foreign file gives a clear error."""
    p = Path(path)
    if p.is_dir():
        cands = sorted(p.glob("step_*.pt"))
        if not cands:
            raise GanMattingError(f"{p}: no step_*.pt checkpoint in this folder")
        p = cands[-1]
    if not p.is_file():
        raise GanMattingError(f"{p}: checkpoint not found")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle refused by weights_only, ...
        raise GanMattingError(f"{p}: not a readable gan_matting checkpoint (corrupt or partial file?): "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GanMattingError(f"{p}: not a gan_matting training state (format {state.get('format') if isinstance(state, dict) else type(state).__name__!r})")
    state["path"] = str(p)
    return state


def restore(model, state: Dict[str, Any], restore_rng: bool = True, cfg_dict: Optional[Dict[str, Any]] = None) -> int:
    """Put every network/optimiser/scheduler/scaler back; returns the step to continue from.

    With ``cfg_dict`` (the current config) the saved config is compared with it: a network that does
    not fit is reported with the config keys that differ, and other differences are printed, so a
    resume under a changed config is never silent."""
    diff = config_diff(json.loads(state.get("config_json", "{}")), cfg_dict) if cfg_dict is not None else []
    why = f"; config keys that differ from the checkpoint's: {'; '.join(diff)}" if diff else ""
    for k, net in model.networks.items():
        if k not in state["networks"]:
            raise GanMattingError(f"{state.get('path')}: checkpoint has no network '{k}' "
                                  f"(has {', '.join(state['networks'])}); was it trained with another config?{why}")
        try:
            unwrap(net).load_state_dict(state["networks"][k])
        except RuntimeError as exc:
            raise GanMattingError(f"{state.get('path')}: network '{k}' does not match this config: "
                                  f"{str(exc).splitlines()[0]}{why}") from None
    if diff:
        print(f"resuming {state.get('path')} with a changed config: {'; '.join(diff)}", flush=True)
    for k, o in model.optimizers.items():
        o.load_state_dict(state["optimizers"][k])
    for k, s in model.schedulers.items():
        s.load_state_dict(state["schedulers"][k])
    if model.scaler is not None and state.get("scaler"):
        model.scaler.load_state_dict(state["scaler"])
    if restore_rng:
        set_rng_state(state["rng"])
        for k, g in getattr(model, "generators", {}).items():
            if k in state.get("generators", {}):
                g.set_state(state["generators"][k])
    return int(state["step"])
