"""Validation with the exact metrics: SAD + Grad (the checkpoint-selection score), MSE, Conn."""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from .. import metrics as M
from ..data.io import read_alpha, read_rgb, read_trimap
from ..data.layouts import read_folder
from ..evaluate import default_trimap
from ..inference.predict import predict_image
from .config import Config


class Validator:
    def __init__(self, cfg: Config):
        d = cfg.data
        folder = read_folder(d.val_root)
        self.trimap = d.val_trimap or default_trimap(folder)
        keep = set(d.val_names)
        self.samples = [s for s in folder.samples if s.alpha is not None and (not keep or s.name in keep)]
        self.max_side = d.val_max_side
        self.cache: List = []

    def _load(self):
        if not self.cache:
            for s in self.samples:
                self.cache.append((s.name, read_rgb(s.image), read_trimap(s.trimaps[self.trimap]),
                                   np.round(read_alpha(s.alpha) * 255).astype(np.uint8)))
        return self.cache

    def __call__(self, G, device) -> Dict[str, float]:
        was_training = G.training
        G.eval()
        rows = []
        for _name, img, tri, gt in self._load():
            alpha, _ = predict_image(G, img, tri, self.max_side, device)
            rows.append(M.matting_metrics(np.round(alpha * 255).astype(np.uint8), gt, tri))
        G.train(was_training)
        out = {k: float(np.mean([r[k] for r in rows])) for k in ("sad", "mse", "grad", "conn")}
        out["score"] = out["sad"] + out["grad"]
        return out
