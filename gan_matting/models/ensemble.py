"""Several trained generators as one: the same inputs (and the same classical prior, solved once), their
alpha / fg / error averaged. Seeds of one recipe differ a lot on real photos (README, *Real photos*);
averaging them trades one network pass per member for lower variance.

    G = build_network("ensemble", members=[{"name": "u2net", ...}, {"name": "u2net", ...}])
    G = ensemble_from_weights(["seed0.safetensors", "seed1.safetensors"])   # then save_generator(G, ...)

Saved like any generator (``save_generator``): the config is ``{"name": "ensemble", "members": [...]}``
and the weights are ``members.<i>.<tensor>``, so ``load_generator``, ``infer``, export and the tables
take an ensemble file wherever they take a generator file.
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional

import torch
import torch.nn as nn

from .. import GanMattingError
from .registry import build_network, register_network

AVERAGED = ("alpha", "fg", "error", "prior_weights")  # outputs every member has; others (features) are dropped


@register_network("ensemble")
class EnsembleGenerator(nn.Module):
    def __init__(self, members: List[Dict]):
        super().__init__()
        if len(members) < 2:
            raise GanMattingError("an ensemble needs at least 2 member generators")
        self.member_configs = [dict(m) for m in members]  # what save_generator writes as {"members": ...}
        self.members = nn.ModuleList(build_network(**dict(m)) for m in members)
        priors = {getattr(m, "prior", "") for m in self.members}
        free = {bool(getattr(m, "trimap_free", False)) for m in self.members}
        if len(priors) > 1 or len(free) > 1:
            raise GanMattingError(f"ensemble members must share the prior and trimap mode (got priors {sorted(priors)}, "
                                  f"trimap-free {sorted(free)})")
        self.prior, self.trimap_free = priors.pop(), free.pop()
        self.depth = max(int(m.depth) for m in self.members)
        # the exported graph's padding: exact for members that pad alike (seeds of one recipe)
        self.pad_multiple = max(int(getattr(m, "pad_multiple", 2 ** int(m.depth))) for m in self.members)

    def forward(self, image: torch.Tensor, trimap: Optional[torch.Tensor] = None,
                prior: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """image (B, 3, H, W), trimap (B, 1, H, W), prior (B, K, H, W) as each member takes them; returns the
        members' mean of alpha (B, 1, H, W), fg (B, 3, H, W) and, where all have them, error / prior_weights."""
        outs = [m(image, trimap, prior) if self.prior else m(image, trimap) for m in self.members]
        keys = [k for k in AVERAGED if all(k in o for o in outs)]
        return {k: torch.stack([o[k] for o in outs]).mean(0) for k in keys}


def ensemble_from_weights(paths) -> EnsembleGenerator:
    """An ensemble of released generator files (eval mode), ready for ``save_generator``."""
    from .weights import load_generator
    loaded = [load_generator(p) for p in paths]
    cfgs = [json.loads(md["generator"]) for _g, md in loaded]
    ens = EnsembleGenerator(cfgs)
    for slot, (g, _md) in zip(ens.members, loaded):
        slot.load_state_dict(g.state_dict())
    return ens.eval()
