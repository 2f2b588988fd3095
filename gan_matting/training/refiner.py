"""Stage 2: train the patch refiner and the coarse error head behind a frozen coarse generator.

    gan-matting train-refiner --config experiments/refiner.yaml [--set steps=500] [--resume] [--stop-after N]

Data: full-resolution images with ground truth alpha: the train part of a real split (alphamatting
layout, each trimap) and/or a procedural folder (custom layout, with exact F and hair / jewellery region
masks). Each image is run once through the frozen generator at every ``coarse_sides`` size (its classical
prior is cached by content hash), and each step then draws cells from the unknown band, weighted by the
coarse result's true error, ``hair_frac`` of them from hair / jewellery where regions are known.

Losses on each cell: L1 and gradient L1 of alpha, F L1 where alpha > 0 (when F is known), an oriented
Gabor structure term, a Gram-matrix style term on alpha and on alpha * image, and an LSGAN term against a
PatchGAN that sees (image, alpha) cells. The error head learns |upsampled coarse alpha - alpha| at the
coarse size. The run folder holds resumable ``step_*.pt`` states and ``refiner_last.safetensors``.
"""

from __future__ import annotations

import fnmatch
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from kornia.filters import spatial_gradient

from .. import GanMattingError
from ..atomic import remove_leftovers
from ..config import RefinerConfig, save_config, to_dict
from ..data.io import read_alpha, read_rgb, read_trimap
from ..data.layouts import read_folder
from ..data.regions import decode_regions, REGION_IDS
from ..data.trimap_format import trimap_to_unit, unknown_mask
from ..inference.coarse_fine import coarse_pass, mix_prior, refiner_cells, refiner_extras, upsample_coarse
from ..inference.patches import cell_scores, extract_cells
from ..losses import GANLoss
from ..losses.texture import gabor_structure_loss, gram_style_loss
from ..models.registry import build_network, count_parameters
from ..models.weights import load_generator, save_refiner
from ..priors import prior_methods
from .checkpoint import load_state, restore, save_checkpoint
from .data import read_split
from ..validation import output_dir, resolve_device


@dataclass
class Entry:
    """One training image at full size (1, C, H, W) tensors, with its coarse results per coarse side."""
    name: str
    image: torch.Tensor
    trimap: torch.Tensor
    alpha: torch.Tensor
    fg: Optional[torch.Tensor]
    detail: Optional[torch.Tensor]   # 1 on hair / jewellery pixels, when regions are known
    coarse: Dict[int, Dict[str, torch.Tensor]]   # per coarse side (alpha already averaged with the prior
                                                 # when the config has a prior_share)
    _up: Optional[Dict[int, torch.Tensor]] = None

    def upsampled(self, side: int) -> torch.Tensor:
        """Coarse alpha and fg at full size (1, 4, H, W), as inference makes them, once per coarse side."""
        self._up = self._up if self._up is not None else {}
        if side not in self._up:
            with torch.no_grad():
                self._up[side] = upsample_coarse(self.image, self.coarse[side])
        return self._up[side]


def _t(a: np.ndarray) -> torch.Tensor:
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()


def image_weight(weights: Dict[str, float], name: str) -> float:
    """The draw weight of training image ``name`` ("GT08/trimap1": the part before the slash counts): its
    own key if ``weights`` has one, else the first matching glob pattern ("synth_*"), else 1."""
    base = name.split("/")[0]
    if base in weights:
        return float(weights[base])
    return next((float(v) for k, v in weights.items() if fnmatch.fnmatchcase(base, k)), 1.0)


def training_files(cfg: RefinerConfig) -> List[tuple]:
    """(name, image, alpha, trimap, fg or None, region or None) paths; refused before any work if empty."""
    files = []
    if cfg.real_root:
        folder = read_folder(cfg.real_root)
        keep = set(read_split(cfg.real_split)["train"]) if cfg.real_split else None
        for s in folder.samples:
            if keep is not None and s.name not in keep:
                continue
            for tn in cfg.real_trimaps:
                if tn not in s.trimaps:
                    raise GanMattingError(f"{cfg.real_root}: {s.name} has no {tn} (real_trimaps)")
                files.append((f"{s.name}/{tn}", s.image, s.alpha, s.trimaps[tn], None, None))
    if cfg.synth_root:
        folder = read_folder(cfg.synth_root)
        for s in folder.samples:
            tri = next(iter(s.trimaps.values()), None)
            if s.image is None or s.alpha is None or tri is None:
                raise GanMattingError(f"{cfg.synth_root}: {s.name} needs image, alpha and trimap")
            files.append((s.name, s.image, s.alpha, tri, s.fg, s.region))
    if not files:
        raise GanMattingError("refiner training: no training images found (real_root / real_split / synth_root)")
    names = {f[0].split("/")[0] for f in files}
    unknown = [k for k in cfg.image_weights if not any(fnmatch.fnmatchcase(n, k) for n in names)]
    if unknown:  # a typo, or a validation image: neither may pass silently
        raise GanMattingError(f"refiner config 'image_weights': no training image named {', '.join(sorted(unknown))}")
    return files


@torch.no_grad()
def load_entries(cfg: RefinerConfig, G: torch.nn.Module, progress: bool = True) -> List[Entry]:
    from tqdm import tqdm
    entries = []
    for name, img_p, a_p, t_p, fg_p, reg_p in tqdm(training_files(cfg), desc="coarse passes", disable=not progress):
        img, alpha, tri = read_rgb(img_p), read_alpha(a_p), read_trimap(t_p)
        if img.shape[:2] != alpha.shape or tri.shape != alpha.shape:
            raise GanMattingError(f"{img_p}: image, alpha and trimap sizes differ")
        x, t = _t(img), _t(trimap_to_unit(tri))
        detail = None
        if reg_p is not None:
            reg = decode_regions(read_alpha(reg_p))
            detail = _t(np.isin(reg, [REGION_IDS["hair"], REGION_IDS["jewellery"]]).astype(np.float32))
        coarse = {s: mix_prior(coarse_pass(G, x, t, s), cfg.prior_share) for s in cfg.coarse_sides}
        entries.append(Entry(name, x, t, _t(alpha), _t(read_rgb(fg_p)) if fg_p is not None else None, detail, coarse))
    return entries


def coarse_feature_channels(G: torch.nn.Module) -> int:
    """Channels of the coarse generator's ``features`` output (0 if it has none)."""
    with torch.no_grad():
        x, t = torch.rand(1, 3, 32, 32), torch.full((1, 1, 32, 32), 0.5)
        kw = {"prior": torch.rand(1, len(prior_methods(G.prior)), 32, 32)} if getattr(G, "prior", "") else {}
        out = G(x, None if getattr(G, "trimap_free", False) else t, **kw)
    return int(out["features"].shape[1]) if "features" in out else 0


class RefinerGAN:
    """Networks, optimisers and the step; the attributes follow the trainer's checkpoint contract."""

    def __init__(self, cfg: RefinerConfig, device: torch.device, feat_channels: int = 0,
                 G: Optional[torch.nn.Module] = None):
        self.cfg, self.device = cfg, device
        self.g_config: Dict[str, object] = {}  # the coarse generator's config, for a joint release
        self.refiner_cfg = {"name": "patch_refiner", "width": cfg.width, "n_layers": cfg.n_layers,
                            "feat_channels": feat_channels if cfg.features else 0}
        if cfg.prior_channel:  # (only then: files of refiners without it keep loading on older versions)
            self.refiner_cfg["prior_channel"] = True
        if cfg.context_sigma > 0:
            self.refiner_cfg["context_sigma"] = cfg.context_sigma
        self.error_cfg = {"name": "coarse_error", "width": cfg.error_width}
        self.networks = {"refiner": build_network(**self.refiner_cfg).to(device),
                         "error_head": build_network(**self.error_cfg).to(device)}
        self.optimizers = {k: torch.optim.Adam(n.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
                           for k, n in self.networks.items()}
        if cfg.lambda_adv > 0:
            self.networks["d"] = build_network("patch_d", in_channels=4, width=cfg.d_width, n_layers=cfg.d_layers).to(device)
            self.optimizers["d"] = torch.optim.Adam(self.networks["d"].parameters(), lr=cfg.lr_d, betas=(0.5, 0.999))
        if cfg.joint:  # joint fine-tuning: the coarse generator learns too (BatchNorm statistics stay frozen)
            if G is None:
                raise GanMattingError("refiner training with joint: true needs the coarse generator")
            self.networks["G"] = G
            self.optimizers["G"] = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(0.5, 0.999))
        self.schedulers = {k: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=cfg.steps) for k, o in self.optimizers.items()}
        self.scaler = None
        self.cell_gen = torch.Generator().manual_seed(cfg.seed + 31)
        self.generators = {"cells": self.cell_gen}
        self.gan = GANLoss("lsgan")

    # -- data ---------------------------------------------------------------------------------------
    def _coarse_crop(self, size, side: int):
        h, w = size
        y = int(torch.randint(max(1, h - side + 1), (1,), generator=self.cell_gen))
        x = int(torch.randint(max(1, w - side + 1), (1,), generator=self.cell_gen))
        return (..., slice(y, y + side), slice(x, x + side))

    def _draw(self, scores: torch.Tensor, n: int) -> torch.Tensor:
        """n cells drawn without replacement with probability ~ score among finite cells; (n, 3) indices."""
        flat = scores.reshape(-1)
        ok = torch.isfinite(flat)
        if int(ok.sum()) == 0 or n <= 0:
            return torch.zeros(0, 3, dtype=torch.long)
        w = torch.where(ok, flat.clamp_min(0) + 0.02, torch.zeros_like(flat))
        pick = torch.multinomial(w, min(n, int(ok.sum())), replacement=False, generator=self.cell_gen)
        hc, wc = scores.shape[-2:]
        return torch.stack([torch.zeros_like(pick), pick // wc, pick % wc], dim=1)

    def pick_entry(self, entries: List[Entry]) -> int:
        """Index of the next training image: uniform, or by ``image_weights`` (keyed by the image's name,
        without its trimap). Without weights the draw is the one every earlier run made (same stream)."""
        if not self.cfg.image_weights:
            return int(torch.randint(len(entries), (1,), generator=self.cell_gen))
        w = torch.tensor([image_weight(self.cfg.image_weights, e.name) for e in entries])
        if float(w.sum()) <= 0:
            raise GanMattingError("refiner config 'image_weights': every training image has weight 0")
        return int(torch.multinomial(w, 1, generator=self.cell_gen))

    def batch(self, entries: List[Entry]) -> Dict[str, torch.Tensor]:
        """Cells from 4 images (coarse side drawn per image) -> refiner inputs and targets."""
        cfg, P = self.cfg, self.cfg.train_patch
        m = cfg.n_layers
        per = max(1, cfg.cells // 4)
        keys = ("stack", "alpha", "fg", "has_fg", "image")
        parts: Dict[str, list] = {k: [] for k in keys}
        err_losses = []
        for _ in range(4):
            e = entries[self.pick_entry(entries)]
            side = cfg.coarse_sides[int(torch.randint(len(cfg.coarse_sides), (1,), generator=self.cell_gen))]
            c = {k: v.to(self.device) for k, v in e.coarse[side].items()}
            x, t, a = e.image.to(self.device), e.trimap.to(self.device), e.alpha.to(self.device)
            if "G" in self.networks:  # joint: the coarse result is recomputed, with gradients into G
                out = self.networks["G"](c["image"], c["trimap"], c.get("prior"))
                c.update(alpha=out["alpha"], fg=out["fg"], features=out["features"])
                c = mix_prior(c, cfg.prior_share)
            head = self.networks["error_head"]
            with torch.no_grad():  # the refiner's input: the whole coarse error map
                err = head(c["image"], c["alpha"], c["fg"], c["trimap"])
            up = upsample_coarse(x, c) if "G" in self.networks else e.upsampled(side)
            true_err = (up[:, :1] - a).abs()
            # the head learns on one random coarse crop per image (cheaper than the whole map, same convolution)
            crop = self._coarse_crop(c["alpha"].shape[-2:], 96)
            target = F.interpolate(true_err, size=err.shape[-2:], mode="area")[crop]
            # (detached: in joint mode the generator must not learn to make its error easy to predict)
            err_losses.append(F.l1_loss(head(*(c[k][crop].detach() for k in ("image", "alpha", "fg", "trimap"))),
                                        target.detach()))
            err_up = F.interpolate(err, size=x.shape[-2:], mode="bilinear", align_corners=False)
            unk = unknown_mask(t)
            n_hair = round(per * cfg.hair_frac) if e.detail is not None else 0
            idx = self._draw(cell_scores(true_err, unk, P), per - n_hair)
            if n_hair:
                hair = cell_scores(e.detail.to(self.device), unk, P)
                hair = torch.where(hair > 0, hair, torch.full_like(hair, float("-inf")))
                idx = torch.cat([idx, self._draw(hair, n_hair)])
            if len(idx) == 0:
                continue
            extras = refiner_extras(self.networks["refiner"], c)  # the same channels inference makes
            parts["stack"].append(refiner_cells(x, up, err_up, t, idx, P, m, **extras))
            parts["alpha"].append(extract_cells(a, idx, P, 0))
            parts["image"].append(extract_cells(x, idx, P, 0))
            fg = e.fg.to(self.device) if e.fg is not None else x
            parts["fg"].append(extract_cells(fg, idx, P, 0))
            parts["has_fg"].append(torch.full((len(idx), 1, 1, 1), float(e.fg is not None), device=self.device))
        if not parts["stack"]:
            raise GanMattingError("refiner training: no unknown pixels in the drawn images")
        b = {k: torch.cat(v) for k, v in parts.items()}
        b["error_loss"] = torch.stack(err_losses).mean()
        return b

    # -- step ---------------------------------------------------------------------------------------
    def step(self, entries: List[Entry]) -> Dict[str, float]:
        cfg = self.cfg
        for o in self.optimizers.values():
            o.zero_grad(set_to_none=True)
        b = self.batch(entries)
        out = self.networks["refiner"](b["stack"])
        pa, a, img = out["alpha"], b["alpha"], b["image"]
        logs: Dict[str, float] = {}
        if "d" in self.networks:
            d = self.networks["d"]
            real, fake = d(torch.cat([img, a], 1)), d(torch.cat([img, pa.detach()], 1))
            d_loss = self.gan.d_loss(real, fake)
            d_loss.backward()
            self.optimizers["d"].step()
            logs["d_loss"] = float(d_loss.detach())
        fg_mask = (a > 0).float() * b["has_fg"]
        terms = {
            "l1": cfg.lambda_l1 * (pa - a).abs().mean(),
            "grad": cfg.lambda_grad * (spatial_gradient(pa) - spatial_gradient(a)).abs().mean(),
            "fg": cfg.lambda_fg * ((out["fg"] - b["fg"]).abs() * fg_mask).sum() / (3 * fg_mask.sum() + 1e-6),
            "error": cfg.lambda_error * b["error_loss"],
        }
        if cfg.lambda_gabor > 0:
            terms["gabor"] = cfg.lambda_gabor * gabor_structure_loss(pa, a)
        if cfg.lambda_style > 0:
            terms["style"] = cfg.lambda_style * (gram_style_loss(pa, a) + gram_style_loss(pa * img, a * img))
        if "d" in self.networks:
            for p in self.networks["d"].parameters():
                p.requires_grad_(False)
            terms["adv"] = cfg.lambda_adv * self.gan.g_loss(self.networks["d"](torch.cat([img, pa], 1)))
            for p in self.networks["d"].parameters():
                p.requires_grad_(True)
        loss = sum(terms.values())
        if not torch.isfinite(loss):
            raise GanMattingError("refiner training: non-finite loss (lower lr?)")
        loss.backward()
        for k in ("refiner", "error_head", "G"):
            if k in self.optimizers:
                self.optimizers[k].step()
        for s in self.schedulers.values():
            s.step()
        logs["loss"] = float(loss.detach())
        m = cfg.n_layers  # the coarse alpha of the same cells: what the refiner has to beat
        logs["coarse_l1"] = float((b["stack"][:, 3:4, m:-m, m:-m] - a).abs().mean().detach())
        logs.update({k: float(v.detach()) for k, v in terms.items()})
        return logs

    def release(self, path: Path, step: int) -> Path:
        c = self.cfg
        coarse_name = Path(c.coarse_weights).name
        if "G" in self.networks:  # the fine-tuned generator goes beside the refiner; use the two together
            from ..models.weights import save_generator
            g_path = path.with_name("generator_joint.safetensors")
            save_generator(self.networks["G"], g_path, self.g_config, {"step": step, "joint_with": path.name})
            coarse_name = g_path.name
        return save_refiner({"refiner": (self.networks["refiner"], self.refiner_cfg),
                             "error_head": (self.networks["error_head"], self.error_cfg)}, path,
                            {"step": step, "coarse_weights": coarse_name, "coarse_side": c.coarse_side,
                             "patch": c.patch, "budget": c.budget, "prior_share": c.prior_share,
                             "losses": json.dumps({k: getattr(c, k) for k in dir(c) if k.startswith("lambda_")})})


def train_refiner(cfg: RefinerConfig, resume: bool = False, stop_after: Optional[int] = None,
                  progress: bool = True) -> Dict[str, float]:
    """Train (or continue) stage 2; returns the last step's losses."""
    device = resolve_device(cfg.device, "device")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    run_dir = Path(cfg.out_dir) / cfg.name
    fresh = not run_dir.exists()
    try:  # as in train(): a start that fails leaves no new run folder behind
        output_dir(run_dir, "out_dir / name")
        remove_leftovers(run_dir, run_dir / "checkpoints")
        G, g_meta = load_generator(cfg.coarse_weights, device)
        if (cfg.prior_channel or cfg.prior_share > 0) and not getattr(G, "prior", ""):
            raise GanMattingError(f"refiner config: prior_channel / prior_share need a coarse generator with a "
                                  f"classical prior; {cfg.coarse_weights} has none")
        model = RefinerGAN(cfg, device, feat_channels=coarse_feature_channels(G), G=G)
        model.g_config = json.loads(g_meta["generator"])
        start = 0
        if resume:
            start = restore(model, load_state(run_dir / "checkpoints"), cfg_dict=to_dict(cfg))
        entries = load_entries(cfg, G, progress)  # every file read (and checked) before step 1
    except BaseException:
        if fresh and run_dir.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    save_config(cfg, run_dir / "config.yaml")
    sizes = ", ".join(f"{k} {count_parameters(n):,}" for k, n in model.networks.items())
    print(f"refiner: {len(entries)} training images; parameters {sizes}; steps {start} -> {cfg.steps}; "
          f"run folder {run_dir}", flush=True)
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm
    tb = SummaryWriter(str(run_dir / "tb"), purge_step=start + 1 if start else None)  # stale events of a killed run
    last = cfg.steps if stop_after is None else min(cfg.steps, start + stop_after)
    logs: Dict[str, float] = {}
    for n in model.networks.values():
        n.train()
    G.eval()  # frozen, or (joint) fine-tuned with its BatchNorm statistics kept
    for step in tqdm(range(start, last), initial=start, total=cfg.steps, desc=cfg.name, disable=not progress):
        logs = model.step(entries)
        done = step + 1
        for k, v in logs.items():
            tb.add_scalar(f"refiner/{k}", v, done)
        if done % cfg.ckpt_every == 0 or done == last:
            save_checkpoint(model, done, to_dict(cfg), run_dir / "checkpoints")
            model.release(run_dir / "refiner_last.safetensors", done)
    tb.close()
    print(f"refiner weights: {run_dir / 'refiner_last.safetensors'}; resumable state: {run_dir / 'checkpoints'}", flush=True)
    return logs
