"""The matting GAN: U-Net generator against a global and a local discriminator, pix2pix-style loss.

Real and fake examples for both discriminators are composites on a *new* background B' (as in
Background Matting): real = alpha * F + (1 - alpha) * B', fake = alpha_hat * F_hat + (1 - alpha_hat) * B',
each concatenated with the conditioning input image and one-hot trimap. The global D sees the whole
composite (resized); the local D sees the same crop of real and fake, centred on the unknown band.

Training phases (Iizuka et al. 2017): steps < warmup_g_only train G on pixel losses only; the next
warmup_d_only steps train the Ds only; then both, with d_steps D updates per G update.
"""

from __future__ import annotations

import contextlib
from typing import Dict, Optional

import torch
import torch.nn as nn

from ..losses import (GANLoss, alpha_l1, build_perceptual, composition_loss, deep_supervision, fg_l1, gradient_loss,
                      hybrid_loss, laplacian_loss, trimap_ce)
from ..data.composite import composite
from ..data.trimap_format import trimap_onehot, unknown_mask
from ..config import Config
from .base import BaseModel
from .discriminators import band_crops
from .registry import build_network, register_model

BATCH_KEYS = ("image", "alpha", "fg", "bg", "trimap", "has_fg")


def _optimizer(params, lr, cfg) -> torch.optim.Optimizer:
    if cfg.optimizer == "rmsprop":  # the autoencoder baseline's recipe; beta2 doubles as the squared-grad decay
        return torch.optim.RMSprop(params, lr=lr, alpha=cfg.beta2, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)


def _scheduler(opt, cfg, total: int):
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1), eta_min=0.0)
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _s: 1.0)


@register_model("matting_gan")
class MattingGAN(BaseModel):
    def __init__(self, cfg: Config, device: torch.device):
        self.cfg, self.device = cfg, device
        G = build_network(**self.generator_config()).to(device)
        self.networks: Dict[str, nn.Module] = {"G": G}
        self.optimizers = {"G": _optimizer(G.parameters(), cfg.optim.lr_g, cfg.optim)}
        use_adv = cfg.loss.lambda_adv > 0
        for key, name in (("d_global", "global_d"), ("d_local", "patch_d")):
            d = getattr(cfg.model, key)
            if d.enabled and use_adv:
                kw = dict(width=d.width, n_layers=d.n_layers, spectral_norm=d.spectral_norm, norm=d.norm)
                if name == "global_d":
                    kw["size"] = d.size
                net = build_network(name, **kw).to(device)
                self.networks[key] = net
                self.optimizers[key] = _optimizer(net.parameters(), cfg.optim.lr_d, cfg.optim)
        self.schedulers = {k: _scheduler(o, cfg.optim, cfg.train.steps) for k, o in self.optimizers.items()}
        self.gan = GANLoss(cfg.loss.gan_mode)
        self.perceptual = build_perceptual(cfg.loss.lpips_weights) if cfg.loss.lambda_perceptual > 0 else None
        if self.perceptual is not None:
            self.perceptual.to(device)
        amp = cfg.train.amp if device.type == "cuda" else "off"
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=(amp == "fp16"))
        self.crop_gen = torch.Generator().manual_seed(cfg.train.seed + 17)
        self.generators = {"local_d_crops": self.crop_gen}  # saved in checkpoints for exact resume
        self.batch: Dict[str, torch.Tensor] = {}
        self.out: Dict[str, torch.Tensor] = {}

    @property
    def G(self) -> nn.Module:
        return self.networks["G"]  # through self.networks, so DDP / compile wrappers are seen

    @property
    def generator(self) -> nn.Module:
        return self.G

    def generator_config(self) -> Dict[str, object]:
        g = self.cfg.model.generator
        return {"name": g.name, "width": g.width, "depth": g.depth, "max_width": g.max_width, "norm": g.norm,
                "trimap_free": g.trimap_free, "error_head": g.error_head, "prior": g.prior}

    # ------------------------------------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def set_input(self, batch: Dict[str, object]) -> None:
        cl = torch.channels_last if self.cfg.train.channels_last else torch.contiguous_format
        keys = BATCH_KEYS + (("prior",) if "prior" in batch else ())
        self.batch = {k: batch[k].to(self.device, non_blocking=True) for k in keys}
        for k in ("image", "alpha", "fg", "bg", "trimap"):
            self.batch[k] = self.batch[k].contiguous(memory_format=cl)

    def forward(self) -> None:
        b = self.batch
        with self._autocast():
            self.out = self.G(b["image"], None if self.cfg.model.generator.trimap_free else b["trimap"], b.get("prior"))

    def _d_inputs(self, alpha, fg):
        """Conditional composite on a new background: (B, 9, H, W)."""
        b = self.batch
        new_bg = b["bg"].flip(-1).roll(1, dims=0)  # another sample's background, mirrored
        comp = composite(alpha, fg, new_bg)
        return torch.cat([comp, b["image"], trimap_onehot(b["trimap"])], dim=1)

    def _real_input(self) -> torch.Tensor:
        """Ground truth on the new background (F = the photo itself where F is not known)."""
        b = self.batch
        real_fg = torch.where(b["has_fg"].view(-1, 1, 1, 1) > 0, b["fg"], b["image"])
        return self._d_inputs(b["alpha"], real_fg)

    def _fake_input(self, detach: bool) -> torch.Tensor:
        a, f = self.out["alpha"], self.out["fg"]
        return self._d_inputs(a.detach(), f.detach()) if detach else self._d_inputs(a, f)

    def _discriminate(self, real: Optional[torch.Tensor], fake: torch.Tensor, sync: bool = True):
        """Logits (real or None, fake) of each enabled D. Real and fake go through one forward
        (concatenated), and the local D sees the same crops of both. sync=False bypasses DDP, for
        the generator step in which the Ds are frozen."""
        res = {}
        pairs = [fake] if real is None else [real, fake]
        for key in ("d_global", "d_local"):
            if key not in self.networks:
                continue
            net = self.networks[key] if sync else getattr(self.networks[key], "module", self.networks[key])
            xs = pairs if key == "d_global" else band_crops(pairs, self.batch["trimap"], self.cfg.model.d_local.crop,
                                                            self.crop_gen)
            logits = net(torch.cat(xs)).chunk(len(xs))
            res[key] = (None, logits[0]) if real is None else (logits[0], logits[1])
        return res

    def pixel_losses(self) -> Dict[str, torch.Tensor]:
        b, o, L = self.batch, self.out, self.cfg.loss
        unk = unknown_mask(b["trimap"])
        alpha = o["alpha"].float()
        terms = {
            "alpha_unknown": (L.lambda_alpha_unknown, alpha_l1(alpha, b["alpha"], unk)),
            "alpha_known": (L.lambda_alpha_known, alpha_l1(alpha, b["alpha"], 1 - unk)),
            "comp": (L.lambda_comp, composition_loss(alpha, b["fg"], b["bg"], b["image"],
                                                     b["has_fg"].view(-1, 1, 1, 1).expand_as(alpha))),
            "lap": (L.lambda_lap, laplacian_loss(alpha, b["alpha"])),
            "grad": (L.lambda_grad, gradient_loss(alpha, b["alpha"], unk)),
            "fg": (L.lambda_fg, fg_l1(o["fg"].float(), b["fg"], b["alpha"], b["has_fg"])),
        }
        if L.lambda_hybrid > 0:
            terms["hybrid"] = (L.lambda_hybrid, deep_supervision(o, b["alpha"], hybrid_loss))
        if L.lambda_mse > 0:
            terms["mse"] = (L.lambda_mse, ((alpha - b["alpha"]) ** 2).mean())
        if "trimap_logits" in o:
            terms["trimap"] = (L.lambda_trimap, trimap_ce(o["trimap_logits"].float(), b["trimap"]))
        if "error" in o:
            target = (alpha.detach() - b["alpha"]).abs()
            terms["error"] = (L.lambda_error, (o["error"].float() - target).abs().mean())
        if self.perceptual is not None and L.lambda_perceptual > 0:
            comp = composite(alpha, o["fg"].float(), b["bg"])
            terms["perceptual"] = (L.lambda_perceptual, self.perceptual(comp, b["image"]))
        return {k: w * v for k, (w, v) in terms.items() if w > 0}

    # ------------------------------------------------------------------------------------------
    def _step(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[name]
        self.scaler.scale(loss).backward()
        if self.cfg.optim.grad_clip > 0:
            self.scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(self.networks[name].parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(opt)

    def optimize_parameters(self, step: int) -> Dict[str, float]:
        """One step. Returns floats for logging; 'skipped' = 1 when a non-finite loss was refused."""
        oc = self.cfg.optim
        d_names = [k for k in ("d_global", "d_local") if k in self.networks]
        g_phase = step < oc.warmup_g_only or step >= oc.warmup_g_only + oc.warmup_d_only
        d_phase = bool(d_names) and step >= oc.warmup_g_only
        adv_on = d_phase and step >= oc.warmup_g_only + oc.warmup_d_only
        logs: Dict[str, float] = {}
        for o in self.optimizers.values():
            o.zero_grad(set_to_none=True)
        with contextlib.nullcontext() if g_phase else torch.no_grad():
            self.forward()

        if d_phase:  # --- discriminators ---
            for _ in range(max(1, oc.d_steps)):
                with self._autocast():
                    outs = self._discriminate(self._real_input(), self._fake_input(detach=True))
                    d_loss = sum(self.gan.d_loss(r, f) for r, f in outs.values())
                if not torch.isfinite(d_loss):
                    return self._skip(logs, "d")
                for k in d_names:
                    self.optimizers[k].zero_grad(set_to_none=True)
                self.scaler.scale(d_loss).backward()
                for k in d_names:
                    self.scaler.step(self.optimizers[k])
                logs["d_loss"] = float(d_loss.detach())
                for k, (r, f) in outs.items():
                    logs[f"{k}_real"] = float(r.detach().float().mean())
                    logs[f"{k}_fake"] = float(f.detach().float().mean())

        if g_phase:  # --- generator ---
            with self._autocast():
                terms = self.pixel_losses()
                if adv_on:
                    fake = self._fake_input(detach=False)
                    for p in (p for k in d_names for p in self.networks[k].parameters()):
                        p.requires_grad_(False)
                    outs = self._discriminate(None, fake, sync=False)
                    for k, (_r, f) in outs.items():
                        terms[f"adv_{k}"] = self.cfg.loss.lambda_adv * self.gan.g_loss(f)
                g_loss = sum(terms.values())
            if adv_on:
                for p in (p for k in d_names for p in self.networks[k].parameters()):
                    p.requires_grad_(True)
            if not torch.isfinite(g_loss):
                return self._skip(logs, "g")
            self.optimizers["G"].zero_grad(set_to_none=True)
            self._step("G", g_loss)
            logs["g_loss"] = float(g_loss.detach())
            logs.update({f"g_{k}": float(v.detach()) for k, v in terms.items()})
        self.scaler.update()
        logs["skipped"] = 0.0
        return logs

    def _skip(self, logs: Dict[str, float], where: str) -> Dict[str, float]:
        for o in self.optimizers.values():
            o.zero_grad(set_to_none=True)
        logs.update({"skipped": 1.0, f"nonfinite_{where}": 1.0})
        return logs

    def visuals(self) -> Dict[str, torch.Tensor]:
        b, o = self.batch, self.out
        if not o:
            return {}
        comp = composite(o["alpha"], o["fg"], b["bg"].flip(-1))
        return {"input": b["image"], "trimap": b["trimap"].expand(-1, 3, -1, -1), "gt_alpha": b["alpha"].expand(-1, 3, -1, -1),
                "pred_alpha": o["alpha"].float().expand(-1, 3, -1, -1), "pred_fg": o["fg"].float(), "composite": comp.float()}
