"""Run configuration: defaults in dataclasses, YAML overrides, strict validation.

    cfg = load_config("experiments/cpu_light.yaml", overrides=["optim.lr_g=1e-4", "train.steps=50"])

An unknown key or a value of the wrong type stops the run at start with the key's full dotted name.
The resolved config is written beside each run (``config.yaml``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, get_args, get_origin, get_type_hints

import yaml

from . import GanMattingError

# The allowed values of the enumerated keys. The components that interpret these keys import them
# from here, so the schema, the validation and the code cannot drift apart.
NORMS = ("batch", "instance", "group", "none")
GAN_MODES = ("lsgan", "vanilla", "hinge")
SCHEDULERS = ("cosine", "constant", "step")
DATA_SOURCES = ("folder", "synth", "composites", "pennfudan")
PRIOR_METHODS = ("", "cf", "knn", "lkm", "cf+knn", "blend:cf+knn", "blend:cf+knn+lkm")  # "a+b": a is corrected, b is an extra
# input; "blend:a+b": a learned per-pixel blend of a and b is corrected (priors.py)
AMP_MODES = ("off", "bf16", "fp16")
OPTIMIZERS = ("adam", "rmsprop")  # the Mask R-CNN front-end uses SGD with optim.momentum


@dataclass
class GeneratorConfig:
    name: str = "unet"
    width: int = 16
    depth: int = 5
    max_width: int = 128
    norm: str = "batch"          # batch | instance | group | none
    trimap_free: bool = False
    error_head: bool = False
    prior: str = ""              # "" | cf | knn | lkm | cf+knn | blend:cf+knn[+lkm]: classical alpha(s) as input (priors.py)
    pretrained: str = ""         # Mask R-CNN front-end only: a local torchvision state dict (never downloaded)


@dataclass
class DiscriminatorConfig:
    enabled: bool = True
    width: int = 32
    n_layers: int = 3            # PatchGAN depth (local) / strided layers (global)
    spectral_norm: bool = True
    norm: str = "none"
    size: int = 128              # global D: the whole composite is resized to size x size
    crop: int = 64               # local D: crop side around the unknown band


@dataclass
class ModelConfig:
    name: str = "matting_gan"
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    d_global: DiscriminatorConfig = field(default_factory=lambda: DiscriminatorConfig(n_layers=5))
    d_local: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)


@dataclass
class LossConfig:
    gan_mode: str = "lsgan"      # lsgan | vanilla | hinge
    lambda_adv: float = 0.01     # small next to the pixel terms (pix2pix-style)
    lambda_alpha_unknown: float = 1.0
    lambda_alpha_known: float = 0.2
    lambda_comp: float = 0.5
    lambda_lap: float = 1.0
    lambda_grad: float = 0.5
    lambda_fg: float = 0.5
    lambda_trimap: float = 0.5   # trimap-free mode: coarse trimap cross-entropy
    lambda_error: float = 0.1    # error head: predict |alpha error|
    lambda_perceptual: float = 0.0
    lambda_hybrid: float = 0.0   # BASNet's BCE + SSIM + IoU on alpha (+ side alphas: deep supervision)
    lambda_mse: float = 0.0      # plain MSE on alpha over the whole image (the autoencoder baseline)
    lpips_weights: str = ""      # local torchvision backbone state dict; empty = perceptual off


@dataclass
class OptimConfig:
    optimizer: str = "adam"      # adam | rmsprop (the autoencoder baseline)
    momentum: float = 0.9        # SGD momentum (the Mask R-CNN front-end)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    d_steps: int = 1             # D updates per G update
    warmup_g_only: int = 0       # steps of G with pixel losses only (Iizuka et al. phase 1)
    warmup_d_only: int = 0       # then D alone (phase 2), then joint
    scheduler: str = "cosine"    # cosine | constant | step
    step_size: int = 10000       # for scheduler=step
    gamma: float = 0.5
    grad_clip: float = 0.0       # 0 = off


@dataclass
class DataConfig:
    source: str = "folder"       # folder | synth (on-the-fly stream, no disk) | composites (real photos of data.split)
                                 # | pennfudan (PNGImages/ + PedMasks/ instance masks, Mask R-CNN front-end only)
    root: str = ""               # training folder (any layout) for source=folder
    layout: str = "auto"
    exclude: List[str] = field(default_factory=list)  # sample names never trained on
    crop: int = 160
    batch_size: int = 4
    workers: int = 0
    backgrounds: str = ""        # folder of background photos for compositing (COCO/VOC-style); empty = built-in
    photo_prob: float = 0.3      # chance of a photo (from `backgrounds`, else wheel photos) vs a pattern
    trimap_radius: List[int] = field(default_factory=lambda: [3, 15])
    synth_min_size: int = 320
    synth_max_size: int = 640
    val_root: str = ""           # validation folder with GT alpha and trimaps (empty = no validation)
    val_trimap: str = ""
    val_names: List[str] = field(default_factory=list)  # subset of val_root; empty = all
    val_max_side: int = 800      # validation images larger than this are downscaled
    # source=composites: real photos of a fixed split, their foregrounds re-composited (data/real_composites.py)
    split: str = ""              # JSON file with "train" (and "validation") names of data.root
    variants: int = 8            # new-background composites per training photo (plus the photo with each trimap)
    band_frac: List[float] = field(default_factory=lambda: [0.05, 0.45])  # unknown-band share of the image
    synth_hair: int = 0          # + procedural portraits made to look photographed (data/synth/realism.py)
    # + real photos whose alpha is another model's prediction (pseudo-labels, e.g. the GFM fur mattes):
    # PSEUDO_ROOT/input/NAME.* with PSEUDO_ROOT/<pseudo_alpha>/NAME.png, long side scaled to pseudo_side,
    # pseudo_trimaps real-user trimaps each. Never the validation photos.
    pseudo_root: str = ""
    pseudo_alpha: str = "alpha"
    pseudo_side: int = 800
    pseudo_trimaps: int = 2


@dataclass
class TrainConfig:
    name: str = "run"
    out_dir: str = "runs"
    steps: int = 1000
    seed: int = 0
    device: str = "auto"         # auto | cpu | cuda | cuda:N
    amp: str = "off"             # off | bf16 | fp16 (CUDA only; CPU bf16 measured ~40x slower here)
    channels_last: bool = False
    compile: bool = False
    deterministic: bool = True
    sync_bn: bool = False
    threads: int = 0             # torch CPU threads; 0 = leave as is
    log_every: int = 10
    image_every: int = 200
    val_every: int = 200
    ckpt_every: int = 100
    keep_last: int = 3
    init_from: str = ""          # generator .safetensors to start from (warm start; not a resume)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _coerce(value: Any, typ: Any, key: str) -> Any:
    origin = get_origin(typ)
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, dict):
            raise GanMattingError(f"config key '{key}' must be a mapping, got {type(value).__name__}")
        return _build(typ, value, key)
    if origin in (list, List):
        if not isinstance(value, (list, tuple)):
            raise GanMattingError(f"config key '{key}' must be a list, got {value!r}")
        (inner,) = get_args(typ) or (Any,)
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is not None and type(None) in get_args(typ):  # Optional[X]
        return None if value is None else _coerce(value, [a for a in get_args(typ) if a is not type(None)][0], key)
    if typ is bool:
        if not isinstance(value, bool):
            raise GanMattingError(f"config key '{key}' must be true/false, got {value!r}")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GanMattingError(f"config key '{key}' must be an integer, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GanMattingError(f"config key '{key}' must be a number, got {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise GanMattingError(f"config key '{key}' must be a string, got {value!r}")
        return value
    return value


def _build(cls, data: Dict[str, Any], prefix: str = "", base=None):
    obj = base if base is not None else cls()
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if k not in names:
            close = ", ".join(sorted(names))
            raise GanMattingError(f"unknown config key '{key}' (valid here: {close})")
        current = getattr(obj, k)
        if dataclasses.is_dataclass(current) and isinstance(v, dict):
            setattr(obj, k, _build(type(current), v, key, base=current))
        else:
            setattr(obj, k, _coerce(v, hints[k], key))
    return obj


def _set_dotted(tree: Dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise GanMattingError(f"--set {dotted}: '{p}' is not a section")
    node[parts[-1]] = value


def load_config(path: Optional[str] = None, overrides: Optional[List[str]] = None, schema=None):
    """Defaults <- YAML file <- ``key.sub=value`` overrides (values parsed as YAML scalars).
    ``schema``: the config dataclass (default ``Config``; ``RefinerConfig`` for stage 2)."""
    schema = schema or Config
    tree: Dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise GanMattingError(f"{p}: config file not found")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise GanMattingError(f"{p}: not valid YAML ({exc})") from None
        if not isinstance(loaded, dict):
            raise GanMattingError(f"{p}: the top level must be a mapping")
        tree = loaded
    for item in overrides or []:
        if "=" not in item:
            raise GanMattingError(f"--set needs key=value, got {item!r}")
        k, v = item.split("=", 1)
        _set_dotted(tree, k.strip(), yaml.safe_load(v))
    cfg = _build(schema, tree)
    (validate if schema is Config else validate_refiner)(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Checks that span keys or need value ranges."""
    choices = {"loss.gan_mode": (cfg.loss.gan_mode, GAN_MODES),
               "optim.scheduler": (cfg.optim.scheduler, SCHEDULERS),
               "data.source": (cfg.data.source, DATA_SOURCES),
               "train.amp": (cfg.train.amp, AMP_MODES),
               "optim.optimizer": (cfg.optim.optimizer, OPTIMIZERS),
               "model.generator.norm": (cfg.model.generator.norm, NORMS),
               "model.generator.prior": (cfg.model.generator.prior, PRIOR_METHODS),
               "model.d_global.norm": (cfg.model.d_global.norm, NORMS),
               "model.d_local.norm": (cfg.model.d_local.norm, NORMS)}
    for key, (v, ok) in choices.items():
        if v not in ok:
            raise GanMattingError(f"config key '{key}' must be one of {', '.join(ok)}, got {v!r}")
    if cfg.data.source == "pennfudan" and cfg.model.name != "maskrcnn_trimap":
        raise GanMattingError("data.source pennfudan holds instance masks, not mattes: it trains model.name maskrcnn_trimap only")
    if not 0 <= cfg.optim.momentum < 1:
        raise GanMattingError(f"config key 'optim.momentum' must be in [0, 1), got {cfg.optim.momentum}")
    if cfg.data.source != "synth" and not cfg.data.root:
        raise GanMattingError("config key 'data.root' is empty: give a training folder (or data.source: synth)")
    if cfg.train.steps < 1 or cfg.data.batch_size < 1 or cfg.data.crop < 32:
        raise GanMattingError("train.steps and data.batch_size must be >= 1 and data.crop >= 32")
    at_least = {"train.log_every": (cfg.train.log_every, 1), "train.image_every": (cfg.train.image_every, 1),
                "train.val_every": (cfg.train.val_every, 1), "train.ckpt_every": (cfg.train.ckpt_every, 1),
                "train.keep_last": (cfg.train.keep_last, 1), "optim.d_steps": (cfg.optim.d_steps, 1),
                "optim.step_size": (cfg.optim.step_size, 1), "train.threads": (cfg.train.threads, 0),
                "optim.warmup_g_only": (cfg.optim.warmup_g_only, 0), "optim.warmup_d_only": (cfg.optim.warmup_d_only, 0),
                "data.workers": (cfg.data.workers, 0), "data.val_max_side": (cfg.data.val_max_side, 0)}
    for key, (v, lo) in at_least.items():
        if v < lo:
            raise GanMattingError(f"config key '{key}' must be >= {lo}, got {v}")
    for key, v in {"optim.lr_g": cfg.optim.lr_g, "optim.lr_d": cfg.optim.lr_d, "optim.gamma": cfg.optim.gamma}.items():
        if not v > 0:
            raise GanMattingError(f"config key '{key}' must be > 0, got {v}")
    for key in ("lambda_adv", "lambda_alpha_unknown", "lambda_alpha_known", "lambda_comp", "lambda_lap", "lambda_grad",
                "lambda_fg", "lambda_trimap", "lambda_error", "lambda_perceptual", "lambda_hybrid", "lambda_mse"):
        v = getattr(cfg.loss, key, 0.0)
        if v < 0:
            raise GanMattingError(f"config key 'loss.{key}' must be >= 0, got {v}")
    if not 0 <= cfg.data.photo_prob <= 1 or not 0 <= cfg.optim.beta1 < 1 or not 0 <= cfg.optim.beta2 < 1:
        raise GanMattingError("config keys 'data.photo_prob' (0..1) and 'optim.beta1/beta2' ([0, 1)) are out of range")
    if cfg.data.trimap_radius and cfg.data.trimap_radius[0] < 0:
        raise GanMattingError(f"config key 'data.trimap_radius' must be >= 0, got {cfg.data.trimap_radius}")
    lo, hi = (cfg.data.band_frac + [0, 0])[:2]
    if len(cfg.data.band_frac) != 2 or not 0 < lo <= hi < 1:
        raise GanMattingError(f"config key 'data.band_frac' must be [lo, hi] with 0 < lo <= hi < 1, got {cfg.data.band_frac}")
    if cfg.data.synth_hair < 0:
        raise GanMattingError(f"config key 'data.synth_hair' must be >= 0, got {cfg.data.synth_hair}")
    if cfg.data.pseudo_root and (cfg.data.pseudo_side < 64 or cfg.data.pseudo_trimaps < 1):
        raise GanMattingError("config keys 'data.pseudo_side' (>= 64) and 'data.pseudo_trimaps' (>= 1) are out of range, "
                              f"got {cfg.data.pseudo_side} and {cfg.data.pseudo_trimaps}")
    if cfg.data.pseudo_root and Path(cfg.data.pseudo_root).resolve() in {
            Path(r).resolve() for r in (cfg.data.root, cfg.data.val_root) if r}:
        raise GanMattingError(f"config key 'data.pseudo_root' ({cfg.data.pseudo_root}) is the training or validation "
                              "dataset: pseudo-labels must come from other photos")
    if cfg.data.variants < 0:
        raise GanMattingError(f"config key 'data.variants' must be >= 0, got {cfg.data.variants}")
    if len(cfg.data.trimap_radius) != 2 or cfg.data.trimap_radius[0] > cfg.data.trimap_radius[1]:
        raise GanMattingError("config key 'data.trimap_radius' must be [lo, hi] with lo <= hi")


@dataclass
class RefinerConfig:
    """Stage 2: the patch refiner (+ coarse error head) behind a frozen coarse generator."""
    coarse_weights: str = "checkpoints/gan_matting_real_cf.safetensors"
    coarse_sides: List[int] = field(default_factory=lambda: [320, 384, 512])  # sampled per training image
    real_root: str = ""               # alphamatting-layout folder with GT (its split's train part is used)
    real_split: str = ""              # split JSON ({"train": [...], "validation": [...]}); "" = every image
    real_trimaps: List[str] = field(default_factory=lambda: ["trimap1", "trimap2"])
    synth_root: str = ""              # custom-layout folder (images/alphas/fg/trimaps/regions), e.g. `synth --preset train`
    width: int = 16
    n_layers: int = 4                 # = context margin in px (valid 3x3 convs)
    features: bool = False            # also feed the coarse generator's hidden features to the refiner
    prior_channel: bool = False       # also feed it the guided-upsampled classical prior; it learns a per-pixel
                                      # gate between that and the coarse alpha (needs a generator with a prior)
    prior_share: float = 0.0          # coarse alpha averaged with the prior before upsampling (infer --prior-share)
    context_sigma: float = 0.0        # > 0: also feed it the coarse alpha blurred with this Gaussian sigma (coarse px)
    joint: bool = False               # also fine-tune the coarse generator (default: stage 2, generator frozen)
    lr_g: float = 1e-5                # its learning rate when joint
    error_width: int = 16
    train_patch: int = 32             # cell side while training (inference uses `patch`)
    patch: int = 16                   # cell side at inference
    budget: float = 0.08              # refined pixels / image pixels at inference
    coarse_side: int = 320            # coarse long side at inference
    cells: int = 64                   # cells per step
    hair_frac: float = 0.5            # share of cells drawn from hair / jewellery regions where known
    image_weights: Dict[str, float] = field(default_factory=dict)  # how often a training image is drawn, by
                                      # name or glob (e.g. {GT08: 15, "synth_*": 2.5}); others 1
    steps: int = 1000
    lr: float = 1e-3
    lr_d: float = 2e-4
    lambda_l1: float = 1.0
    lambda_grad: float = 1.0
    lambda_fg: float = 1.0
    lambda_error: float = 1.0
    lambda_adv: float = 0.05          # 0: no patch discriminator
    lambda_style: float = 1.0         # Gram matrices of Gabor features, on alpha and alpha * image
    lambda_gabor: float = 1.0         # oriented Gabor responses of alpha (strand orientation)
    d_width: int = 32
    d_layers: int = 2
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    ckpt_every: int = 100
    out_dir: str = "runs"
    name: str = "refiner"


def validate_refiner(cfg: RefinerConfig) -> None:
    if not cfg.real_root and not cfg.synth_root:
        raise GanMattingError("refiner config: give real_root and/or synth_root (training data with ground truth)")
    positive = {"width": cfg.width, "error_width": cfg.error_width, "cells": cfg.cells, "steps": cfg.steps,
                "patch": cfg.patch, "train_patch": cfg.train_patch, "ckpt_every": cfg.ckpt_every,
                "lr": cfg.lr, "lr_d": cfg.lr_d, "lr_g": cfg.lr_g, "d_layers": cfg.d_layers}
    for k, v in positive.items():
        if v <= 0:
            raise GanMattingError(f"refiner config key '{k}' must be > 0, got {v}")
    if cfg.n_layers < 2:
        raise GanMattingError(f"refiner config key 'n_layers' must be >= 2, got {cfg.n_layers}")
    if not 0 <= cfg.context_sigma <= 16:
        raise GanMattingError(f"refiner config key 'context_sigma' must lie in [0, 16] (coarse px), got {cfg.context_sigma}")
    if not 0 <= cfg.budget <= 1 or not 0 <= cfg.hair_frac <= 1 or not 0 <= cfg.prior_share <= 1:
        raise GanMattingError("refiner config keys 'budget', 'hair_frac' and 'prior_share' must lie in [0, 1]")
    if not isinstance(cfg.image_weights, dict) or any(
            not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0
            for k, v in cfg.image_weights.items()):
        raise GanMattingError(f"refiner config key 'image_weights' must map image names to numbers >= 0, "
                              f"got {cfg.image_weights!r}")
    if not cfg.coarse_sides or min(cfg.coarse_sides) < 16 or cfg.coarse_side < 16:
        raise GanMattingError("refiner config keys 'coarse_sides' / 'coarse_side' must be >= 16")
    for k in ("lambda_l1", "lambda_grad", "lambda_fg", "lambda_error", "lambda_adv", "lambda_style", "lambda_gabor"):
        if getattr(cfg, k) < 0:
            raise GanMattingError(f"refiner config key '{k}' must be >= 0")


def to_dict(cfg) -> Dict[str, Any]:
    return dataclasses.asdict(cfg)


def save_config(cfg, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))


def config_diff(saved: Dict[str, Any], current: Dict[str, Any], prefix: str = "") -> List[str]:
    """Dotted keys whose values differ between two config dicts, as 'key: saved -> current'."""
    out: List[str] = []
    for k in sorted(set(saved) | set(current)):
        a, b = saved.get(k, "<absent>"), current.get(k, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out
