"""Validation with the exact metrics: SAD + Grad (the checkpoint-selection score), MSE, Conn."""

from __future__ import annotations

from typing import Dict

import numpy as np

from .. import GanMattingError
from .. import metrics as M
from ..config import Config
from ..data.io import read_alpha, to_uint8
from ..data.layouts import read_folder
from ..inference.predict import Job, generator_predictor, predict_many


class Validator:
    def __init__(self, cfg: Config):
        d = cfg.data
        folder = read_folder(d.val_root)
        trimaps = [t.strip() for t in (d.val_trimap or folder.default_trimap()).split(",")]
        keep = set(d.val_names)
        samples = [s for s in folder.samples if s.alpha is not None and (not keep or s.name in keep)]
        missing = [f"{s.name}/{t}" for s in samples for t in trimaps if t not in s.trimaps]
        if missing:
            raise GanMattingError(f"data.val_trimap: no trimap for {', '.join(missing[:5])}")
        # every image with every named trimap (comma-separated data.val_trimap, e.g. trimap1,trimap2)
        self.jobs = [Job(s.name, s.image, s.trimaps[t]) for t in trimaps for s in samples]
        self.gt = {s.name: to_uint8(read_alpha(s.alpha)) for s in samples}
        self.max_side = d.val_max_side

    def __call__(self, G, device) -> Dict[str, float]:
        was_training = G.training
        G.eval()
        rows = [M.matting_metrics(to_uint8(p.alpha), self.gt[p.name], p.trimap)
                for p in predict_many(generator_predictor(G, self.max_side, device), self.jobs)]
        G.train(was_training)
        out = {k: float(np.mean([r[k] for r in rows])) for k in ("sad", "mse", "grad", "conn")}
        out["score"] = out["sad"] + out["grad"]
        return out
