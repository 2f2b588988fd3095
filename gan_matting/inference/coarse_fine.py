"""Fast full-resolution matting: a coarse pass at reduced size, then refinement of selected patches.

    pipe = CoarseToFine(G, refiner, error_head, coarse_side=320, patch=16, budget=0.08)
    out = pipe(image, trimap)   # image (1, 3, H, W) on [0, 1], trimap (1, 1, H, W) in {0, .5, 1} or None
    out["alpha"] (1, 1, H, W), out["fg"] (1, 3, H, W), out["cells"] (N, 3) refined cells, out["error"] coarse error

1. coarse: the generator (with its classical prior, if it has one, computed at the coarse size) runs with
   the long side at most ``coarse_side``. Alpha is brought to full size by a *fast guided filter*
   (He & Sun 2015; Wu et al. 2018's guided upsampling): the local linear model alpha ~ A . I + b is fitted
   at the coarse size and A, b are upsampled and applied to the full-resolution image, so edges follow the
   photo, not the coarse grid. Foreground colour is upsampled bilinearly. With ``prior_share`` s the coarse
   alpha is first averaged with the generator's classical prior, ``(1 - s) * alpha + s * prior``.
2. error: the generator's own error head if it has one, else the refiner's ``coarse_error`` head.
3. selection: ``patch x patch`` cells of the unknown band, highest mean predicted error first, at most
   ``budget * H * W`` pixels (BackgroundMattingV2's idea, on a pixel budget).
4. refine: the patch refiner on each cell with its context, in chunks, results scattered back; known
   trimap regions are copied last. A refiner with the prior channel also gets the guided-upsampled prior,
   made inside its windows only, and learns a per-pixel gate between it and the coarse alpha.
``CoarseToFine(G, None, upsample="bilinear")`` is the naive "downscale -> predict -> upscale" baseline.
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from kornia.filters import box_blur, gaussian_blur2d

from ..data.trimap_format import apply_known, unknown_mask
from .patches import cell_scores, extract_cells, extract_cells_resampled, scatter_cells, select_cells_static
from .predict import _prior, predict_tensor


def coarse_size(h: int, w: int, side: int) -> tuple:
    s = min(1.0, side / max(h, w))
    return max(8, round(h * s)), max(8, round(w * s))


@torch.no_grad()
def coarse_pass(G: nn.Module, x: torch.Tensor, t: Optional[torch.Tensor], side: int) -> Dict[str, torch.Tensor]:
    """The generator at the coarse size. Returns image / trimap / alpha / fg (and error, when G has a head)
    at that size."""
    size = coarse_size(x.shape[-2], x.shape[-1], side)
    # antialiased resampling has no fp16 kernel on CPU: downscale in fp32, then back to the pipeline's dtype
    xs = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=True).to(x.dtype)
    ts = F.interpolate(t, size=size, mode="nearest") if t is not None else None
    prior = _prior(G, xs, ts)
    out = predict_tensor(G, xs, ts, prior)
    res = {"image": xs, "trimap": ts if ts is not None else torch.full_like(xs[:, :1], 0.5),
           "alpha": out["alpha"].clamp(0, 1), "fg": out["fg"].clamp(0, 1)}
    if prior is not None:
        res["prior"] = prior
    for k in ("error", "features"):
        if k in out:
            res[k] = out[k]
    return res


def refiner_cells(image: torch.Tensor, coarse_up: torch.Tensor, error_up: torch.Tensor, trimap: torch.Tensor,
                  idx: torch.Tensor, patch: int, margin: int, features: Optional[torch.Tensor] = None,
                  prior_coef: Optional[torch.Tensor] = None, context: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The refiner's input windows (N, 9 [+ 1] [+ 1] [+ C], P + 2m, P + 2m), channels in REFINER_INPUTS order:
    image, coarse alpha + fg (``coarse_up``, 4 channels at full size), error, trimap; then the guided-upsampled
    classical prior when ``prior_coef`` (its ``guided_coefficients``, (B, 4, h, w)) is given, the blurred
    coarse alpha ``context`` (B, 1, h, w, from ``coarse_context``) and the coarse generator's ``features``
    (B, C, h, w), the last two at the coarse size; all three made only inside the windows. Cut from each map
    separately, so no full-size 9-channel copy is ever made."""
    parts = [extract_cells(v, idx, patch, margin) for v in (image, coarse_up, error_up, trimap)]
    if prior_coef is not None:
        parts.append(guided_apply_cells(prior_coef, image, idx, patch, margin).clamp(0, 1))
    if context is not None:
        parts.append(extract_cells_resampled(context, idx, patch, margin, image.shape[-2:]))
    if features is not None:
        parts.append(extract_cells_resampled(features, idx, patch, margin, image.shape[-2:]))
    return torch.cat(parts, dim=1)


def _up(v: torch.Tensor, size) -> torch.Tensor:
    return F.interpolate(v, size=size, mode="bilinear", align_corners=False)


UPSAMPLERS = ("guided", "bilinear")


def guided_coefficients(image_lo: torch.Tensor, p_lo: torch.Tensor, radius: int = 1, eps: float = 1e-5) -> torch.Tensor:
    """The fast guided filter's local linear model fitted at low resolution: (B, 4, h, w) float32, channels
    A (3, per colour) and b of ``p ~ A . I + b``, already window-averaged. ``guided_upsample`` applies it to
    a full-size image; ``guided_apply_cells`` only inside selected windows.

    image_lo (B, 3, h, w), p_lo (B, 1, h, w). In each (2r+1)^2 window A is ridge-regularised (3x3 colour
    covariance + eps). kornia has the same-size guided filter (guided_blur), not this cross-resolution form."""
    k = (2 * radius + 1, 2 * radius + 1)
    # the statistics run in float32 whatever the pipeline's precision: var = E[II] - E[I]E[I] cancels
    # catastrophically in fp16 (flat regions would get noise-sized, even negative, variances), and it is
    # all at the coarse size, so it costs little; only the full-size apply runs in the caller's dtype
    image_lo, p_lo = image_lo.float(), p_lo.float()
    mean_i, mean_p = box_blur(image_lo, k), box_blur(p_lo, k)
    r = [box_blur(image_lo[:, i:i + 1] * p_lo, k) - mean_i[:, i:i + 1] * mean_p for i in range(3)]  # cov(I_i, p)

    def cov(i: int, j: int) -> torch.Tensor:
        c = box_blur(image_lo[:, i:i + 1] * image_lo[:, j:j + 1], k) - mean_i[:, i:i + 1] * mean_i[:, j:j + 1]
        return c + eps if i == j else c
    s00, s01, s02, s11, s12, s22 = cov(0, 0), cov(0, 1), cov(0, 2), cov(1, 1), cov(1, 2), cov(2, 2)
    # the symmetric 3x3 systems solved in closed form (adjugate / determinant): elementwise ops only, so
    # no solver kernels, no host synchronisation, capturable in a CUDA graph and exportable
    c00, c01, c02 = s11 * s22 - s12 * s12, s02 * s12 - s01 * s22, s01 * s12 - s02 * s11
    c11, c12, c22 = s00 * s22 - s02 * s02, s01 * s02 - s00 * s12, s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    a = torch.cat([c00 * r[0] + c01 * r[1] + c02 * r[2], c01 * r[0] + c11 * r[1] + c12 * r[2],
                   c02 * r[0] + c12 * r[1] + c22 * r[2]], dim=1) / det
    b = mean_p - (a * mean_i).sum(1, keepdim=True)
    return torch.cat([box_blur(a, k), box_blur(b, k)], dim=1)


def _apply(coef: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    coef = coef.to(image.dtype)
    return (coef[:, :3] * image).sum(1, keepdim=True) + coef[:, 3:]


def guided_upsample(image_lo: torch.Tensor, p_lo: torch.Tensor, image_hi: torch.Tensor, radius: int = 1,
                    eps: float = 1e-5) -> torch.Tensor:
    """Colour guided filter fitted at low resolution, applied at high resolution (He & Sun 2015).

    image_lo (B, 3, h, w), p_lo (B, 1, h, w), image_hi (B, 3, H, W) -> (B, 1, H, W): the coefficients of
    ``guided_coefficients`` upsampled bilinearly and applied to image_hi. Linear in p_lo."""
    return _apply(_up(guided_coefficients(image_lo, p_lo, radius, eps), image_hi.shape[-2:]), image_hi)


def guided_apply_cells(coef: torch.Tensor, image: torch.Tensor, idx: torch.Tensor, patch: int,
                       margin: int) -> torch.Tensor:
    """``extract_cells(guided_upsample(...), idx, patch, margin)`` without the full-size map: the
    coefficients (B, 4, h, w) are resampled and applied inside the windows only -> (N, 1, S, S)."""
    c = extract_cells_resampled(coef, idx, patch, margin, image.shape[-2:])
    return _apply(c, extract_cells(image, idx, patch, margin))


def _prior_alpha(coarse: Dict[str, torch.Tensor]) -> torch.Tensor:
    """The classical prior the coarse generator corrects (its first prior channel), (B, 1, h, w) on [0, 1]."""
    return coarse["prior"][:, :1].to(coarse["alpha"].dtype).clamp(0, 1)


def mix_prior(coarse: Dict[str, torch.Tensor], share: float) -> Dict[str, torch.Tensor]:
    """The coarse result with alpha averaged with the classical prior the generator corrects:
    ``(1 - share) * alpha + share * prior``, at the coarse size. The guided upsampling is linear in the
    matte, so this costs one full-size apply, not two (``infer --prior-share``). Unchanged when share is 0
    or the generator has no prior."""
    if share <= 0 or "prior" not in coarse:
        return coarse
    return {**coarse, "alpha": (1 - share) * coarse["alpha"] + share * _prior_alpha(coarse)}


def prior_coefficients(coarse: Dict[str, torch.Tensor]) -> torch.Tensor:
    """``guided_coefficients`` of the classical prior: what a refiner with the prior channel reads in its
    cells (``refiner_cells(prior_coef=...)``), the same in training and inference."""
    return guided_coefficients(coarse["image"], _prior_alpha(coarse))


def coarse_context(coarse: Dict[str, torch.Tensor], sigma: float) -> torch.Tensor:
    """The coarse alpha blurred with a Gaussian of ``sigma`` coarse pixels, (B, 1, h, w): the surround a
    context refiner (``PatchRefiner(context_sigma=...)``) reads in its cells, the same in training and inference."""
    k = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur2d(coarse["alpha"].float(), (k, k), (sigma, sigma), border_type="replicate").to(coarse["alpha"].dtype)


def refiner_extras(refiner: nn.Module, coarse: Dict[str, torch.Tensor]) -> Dict[str, Optional[torch.Tensor]]:
    """The optional inputs ``refiner`` reads beside REFINER_INPUTS (``refiner_cells``' keyword arguments),
    made from the coarse result: the generator's features, the prior's guided coefficients, the blurred
    coarse alpha, each only where the refiner was built for it. One owner, so training and inference feed
    a refiner the same channels."""
    sigma = getattr(refiner, "context_sigma", 0.0)
    return {"features": coarse.get("features") if getattr(refiner, "feat_channels", 0) else None,
            "prior_coef": prior_coefficients(coarse) if getattr(refiner, "prior_channel", False) else None,
            "context": coarse_context(coarse, sigma) if sigma > 0 else None}


def upsample_coarse(x: torch.Tensor, coarse: Dict[str, torch.Tensor], how: str = "guided") -> torch.Tensor:
    """Coarse alpha + fg at the size of x: (B, 4, H, W)."""
    if how not in UPSAMPLERS:
        raise ValueError(f"upsample must be one of {UPSAMPLERS}, got {how!r}")
    size = x.shape[-2:]
    fg = _up(coarse["fg"], size)
    if how == "bilinear":
        return torch.cat([_up(coarse["alpha"], size), fg], 1)
    return torch.cat([guided_upsample(coarse["image"], coarse["alpha"], x).clamp(0, 1), fg], 1)


class CoarseToFine:
    def __init__(self, G: nn.Module, refiner: Optional[nn.Module] = None, error_head: Optional[nn.Module] = None,
                 coarse_side: int = 320, patch: int = 16, budget: float = 0.08, chunk: int = 1024,
                 upsample: str = "guided", fg_method: str = "model", prior_share: float = 0.0):
        """``prior_share`` > 0: the coarse alpha is averaged with the classical prior the coarse generator
        corrects (its first channel, closed-form matting at the coarse size) before the guided upsampling
        (``mix_prior``): ``(1 - s) * alpha + s * prior``. The two err in different places (README, *Fast
        full-resolution inference*). A refiner built with ``prior_channel`` also sees the guided-upsampled
        prior in its cells and needs a generator with a prior."""
        if coarse_side < 16 or patch < 1 or not 0 <= budget <= 1 or chunk < 1 or upsample not in UPSAMPLERS \
                or fg_method not in ("model", "blur") or not 0 <= prior_share <= 1:
            raise ValueError(f"coarse_side >= 16, patch >= 1, 0 <= budget <= 1, chunk >= 1, upsample in {UPSAMPLERS}, "
                             "fg_method 'model' or 'blur', 0 <= prior_share <= 1")
        self.upsample, self.fg_method, self.prior_share = upsample, fg_method, prior_share
        if getattr(refiner, "prior_channel", False) and not getattr(G, "prior", ""):
            raise ValueError("this refiner reads the coarse generator's classical prior: use a generator with one "
                             "(e.g. checkpoints/gan_matting_real_cf.safetensors)")
        self.G, self.refiner, self.error_head = G, refiner, error_head
        self.coarse_side, self.patch, self.budget, self.chunk = coarse_side, patch, budget, chunk

    def coarse_error(self, coarse: Dict[str, torch.Tensor]) -> torch.Tensor:
        if "error" in coarse:
            return coarse["error"]
        if self.error_head is not None:
            return self.error_head(coarse["image"], coarse["alpha"], coarse["fg"], coarse["trimap"])
        # no learned error: the alpha's own uncertainty, largest at 0.5
        return 1 - (2 * coarse["alpha"] - 1).abs()

    @property
    def dtype(self) -> torch.dtype:
        """The networks' precision (``half()`` the pipeline for fp16 on CUDA); inputs are cast to it."""
        return next(self.G.parameters()).dtype

    def half(self) -> "CoarseToFine":
        """fp16 weights for every network of the pipeline (CUDA; the guided filter's solves stay fp32)."""
        for net in (self.G, self.refiner, self.error_head):
            if net is not None:
                net.half()
        return self

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, t: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """x (B, 3, H, W), t (B, 1, H, W) or None, any float dtype; outputs in the pipeline's dtype.
        ``cells`` (N, 3) are the refined cells only."""
        out = self._run(x, t, static=False)
        del out["valid"]
        return out

    @torch.no_grad()
    def run_static(self, x: torch.Tensor, t: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The whole pipeline with shapes fixed by the input size and no host synchronisation (what a CUDA
        graph can capture): exactly ``k`` cells always go through the refiner, and ``valid`` (K,) marks
        the real choices; the others (cells without unknown pixels, when fewer than k have any) keep
        their coarse values, so alpha and fg equal the eager call's."""
        return self._run(x, t, static=True)

    def _run(self, x: torch.Tensor, t: Optional[torch.Tensor], static: bool) -> Dict[str, torch.Tensor]:
        x = x.to(self.dtype)
        t = t.to(self.dtype) if t is not None else None
        size = x.shape[-2:]
        coarse = mix_prior(coarse_pass(self.G, x, t, self.coarse_side), self.prior_share)
        error = self.coarse_error(coarse)
        coarse_up = upsample_coarse(x, coarse, self.upsample)
        alpha, fg = coarse_up[:, :1], coarse_up[:, 1:]
        cells = torch.zeros(0, 3, dtype=torch.long, device=x.device)
        valid = torch.zeros(0, dtype=torch.bool, device=x.device)
        if self.refiner is not None and self.budget > 0:
            tt = t if t is not None else torch.full_like(alpha, 0.5)
            error_up = _up(error, size)
            k = math.ceil(self.budget * size[0] * size[1] / self.patch ** 2)
            cells, valid = select_cells_static(cell_scores(error_up, unknown_mask(tt), self.patch), k)
            if not static:  # eager: refine the real choices only (one host sync, fewer cells on narrow bands)
                cells, valid = cells[valid], valid[valid]
            a_parts, f_parts = [], []
            extras = refiner_extras(self.refiner, coarse)
            m = self.refiner.margin
            for i in range(0, len(cells), self.chunk):
                win = refiner_cells(x, coarse_up, error_up, tt, cells[i:i + self.chunk], self.patch, m, **extras)
                out = self.refiner(win)
                keep = valid[i:i + self.chunk, None, None, None]
                core = win[:, 3:7, m:-m, m:-m]  # the coarse alpha + fg of each cell: what a non-choice keeps
                a_parts.append(torch.where(keep, out["alpha"], core[:, :1].to(out["alpha"].dtype)))
                f_parts.append(torch.where(keep, out["fg"], core[:, 1:].to(out["fg"].dtype)))
            if a_parts:
                alpha = scatter_cells(alpha, torch.cat(a_parts), cells, self.patch)
                fg = scatter_cells(fg, torch.cat(f_parts), cells, self.patch)
        if t is not None:
            alpha = apply_known(alpha, t)
        if self.fg_method == "blur":  # F from the final alpha, on the device (fp32: prefix sums need it)
            from ..foreground import blur_fusion
            fg = blur_fusion(x.float(), alpha.float(), cells=False if static else None).to(x.dtype)
        return {"alpha": alpha, "fg": fg, "cells": cells, "valid": valid, "error": error}


class CudaGraphPipeline:
    """A ``CoarseToFine`` captured once as a CUDA graph for one input size, then replayed per frame: the
    pipeline's few hundred small kernels cost one launch (video, or folders of equal-sized frames).

        fast = CudaGraphPipeline(pipe, (1, 3, 1080, 1920), with_trimap=True)
        out = fast(x, t)     # x, t on the GPU, shapes as captured; outputs live in static buffers:
                             # clone them before the next call if you keep them
    """

    def __init__(self, pipe: CoarseToFine, shape, with_trimap: bool = True, device: str | torch.device = "cuda"):
        device = torch.device(device)
        if device.type != "cuda":
            raise ValueError("CudaGraphPipeline needs a CUDA device")
        if getattr(pipe.G, "prior", ""):
            raise ValueError("a generator with a classical prior solves it on the CPU: it cannot be graph-captured")
        self.pipe, self.shape = pipe, tuple(shape)
        self.x = torch.zeros(self.shape, device=device, dtype=pipe.dtype)
        self.t = torch.zeros(self.shape[0], 1, *self.shape[2:], device=device, dtype=pipe.dtype) if with_trimap else None
        if self.t is not None:
            self.t[..., :, : self.shape[-1] // 2] = 0.5  # an unknown band, so every branch runs while warming up
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up off the capture: cuDNN algorithm choice, allocator pools
            for _ in range(3):
                pipe.run_static(self.x, self.t)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = pipe.run_static(self.x, self.t)

    def __call__(self, x: torch.Tensor, t: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        if tuple(x.shape) != self.shape:
            raise ValueError(f"captured for input {self.shape}, got {tuple(x.shape)}")
        self.x.copy_(x)
        if self.t is not None:
            if t is None:
                raise ValueError("captured with a trimap: pass one")
            self.t.copy_(t)
        self.graph.replay()
        return self.out


def load_pipeline(G: nn.Module, refiner_path, device: str | torch.device = "cpu", coarse_side: int = 0,
                  budget: float = -1.0, prior_share: float = -1.0) -> CoarseToFine:
    """CoarseToFine from refiner weights, in G's precision; the settings stored with them unless given
    (0 / -1 = stored; a file without a stored prior share has none)."""
    from ..models.weights import load_refiner
    nets, md = load_refiner(refiner_path, device)
    pipe = CoarseToFine(G, nets.get("refiner"), nets.get("error_head"),
                        coarse_side=coarse_side or int(md.get("coarse_side", 320)), patch=int(md.get("patch", 16)),
                        budget=budget if budget >= 0 else float(md.get("budget", 0.08)),
                        prior_share=prior_share if prior_share >= 0 else float(md.get("prior_share", 0.0)))
    return pipe.half() if pipe.dtype == torch.float16 else pipe


def pipeline_predictor(pipe: CoarseToFine, device: str | torch.device = "cpu"):
    """``predict_many``'s callable for the coarse-to-fine pipeline (numpy in, numpy out)."""
    from ..data.trimap_format import trimap_to_unit

    def predict(img, tri):
        x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None].float().to(device)
        t = torch.from_numpy(trimap_to_unit(tri))[None, None].to(device) if tri is not None else None
        out = pipe(x, t)
        return (out["alpha"][0, 0].clamp(0, 1).float().cpu().numpy(),
                out["fg"][0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy())
    return predict
