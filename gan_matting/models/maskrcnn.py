"""Mask R-CNN as the auto-trimap front-end: an instance-segmentation network whose masks become trimaps.

    net = build_network("maskrcnn_mobilenet_v3")            # or "maskrcnn_resnet50_fpn"; no weights downloaded
    mask = net.foreground(image)                            # (H, W) float on [0, 1]: union of confident instances
    gan-matting train --config experiments/variants/maskrcnn.yaml      # SGD lr 0.005, momentum 0.9
    gan-matting make-trimap --method maskrcnn --weights W.safetensors --image photo.jpg --out trimap.png

torchvision builds both architectures with ``weights=None, weights_backbone=None``: nothing is fetched
at run time. Start from a local file instead with ``model.generator.pretrained`` (a torchvision state dict,
.pth/.pt read with ``weights_only=True``, or .safetensors), e.g. the COCO weights a user downloaded once:
every tensor whose name and shape fit is loaded and the class-specific heads of another label set are
left fresh; a file of which less than half fits is refused. ``train.init_from`` continues from this
project's own saved weights. Without either the network learns from scratch, which needs far more data
than the tests' tiny sets.

Training (``MaskRCNNTrimapModel``, registered as model ``maskrcnn_trimap``) runs under the same trainer as
the matting GAN: on Penn-Fudan data (``data.source: pennfudan``) each instance of the mask map is one
target; on matting data (procedural stream, folders, composites) the foreground alpha > 0.5 is one
"person" instance. The two classes are background and foreground.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn

from .. import GanMattingError
from ..config import Config
from .base import BaseModel
from .registry import build_network, register_model, register_network


class MaskRCNNNet(nn.Module):
    """torchvision's Mask R-CNN with a gan_matting face: built without downloads, ``foreground()`` for one
    image as a numpy array. Matting-generator config keys (width, depth, ...) are accepted and ignored so
    that the trainer and the weights loader treat it like any generator."""

    trimap_free = True

    def __init__(self, arch: str = "mobilenet_v3", min_size: int = 320, max_size: int = 640, **_matting_keys):
        super().__init__()
        from torchvision.models.detection import MaskRCNN, maskrcnn_resnet50_fpn
        self.arch, self.min_size, self.max_size = arch, min_size, max_size
        if arch == "resnet50_fpn":
            self.net = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2,
                                             min_size=min_size, max_size=max_size)
        elif arch == "mobilenet_v3":
            from torchvision.models.detection.anchor_utils import AnchorGenerator
            from torchvision.models.detection.backbone_utils import mobilenet_backbone
            backbone = mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                                          norm_layer=nn.BatchNorm2d, trainable_layers=6)
            anchors = AnchorGenerator(((32, 64, 128, 256, 512),) * 3, ((0.5, 1.0, 2.0),) * 3)
            self.net = MaskRCNN(backbone, num_classes=2, rpn_anchor_generator=anchors,
                                min_size=min_size, max_size=max_size)
        else:
            raise GanMattingError(f"unknown Mask R-CNN arch {arch!r}; choose resnet50_fpn or mobilenet_v3")

    def forward(self, images: List[torch.Tensor], targets=None):
        return self.net(images, targets)

    @torch.no_grad()
    def foreground(self, image: np.ndarray, score: float = 0.5) -> np.ndarray:
        """(H, W, 3) float image -> (H, W) soft mask: pixelwise max over detections scoring >= ``score``."""
        self.eval()
        dev = next(self.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().to(dev)
        det = self.net([x])[0]
        keep = det["scores"] >= score
        if not keep.any():
            return np.zeros(image.shape[:2], np.float32)
        return det["masks"][keep, 0].amax(0).clamp(0, 1).cpu().numpy().astype(np.float32)


register_network("maskrcnn_mobilenet_v3")(lambda **kw: MaskRCNNNet("mobilenet_v3", **kw))
register_network("maskrcnn_resnet50_fpn")(lambda **kw: MaskRCNNNet("resnet50_fpn", **kw))


def load_local_weights(net: nn.Module, path) -> int:
    """A torchvision Mask R-CNN state dict from a local file (.safetensors, or .pt/.pth read with
    weights_only=True) into ``net``; never downloads. Loads every tensor whose name and shape fit and
    returns how many were left out (another label set's class heads); refuses a file that mostly misfits."""
    p = Path(path)
    if not p.is_file():
        raise GanMattingError(f"{p}: Mask R-CNN weights file not found (nothing is downloaded; give a local file)")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file
            sd = load_file(str(p))
        else:
            sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise GanMattingError(f"{p}: not a readable weights file ({exc})") from None
    sd = {k.removeprefix("net."): v for k, v in sd.items()}
    want = net.state_dict()
    fit = {k: v for k, v in sd.items() if k in want and v.shape == want[k].shape}
    if len(fit) < len(want) / 2:
        bad = next(k for k in want if k not in fit)
        raise GanMattingError(f"{p}: does not fit this Mask R-CNN ({len(fit)} of {len(want)} tensors; "
                              f"first that differs: {bad})")
    net.load_state_dict(fit, strict=False)
    return len(want) - len(fit)


def _targets_from_masks(masks: torch.Tensor) -> Dict[str, torch.Tensor]:
    """(K, H, W) {0,1} instance masks (empty ones dropped) -> a torchvision detection target."""
    masks = masks[masks.flatten(1).amax(1) > 0]
    boxes = []
    for m in masks:
        ys, xs = torch.nonzero(m, as_tuple=True)
        boxes.append(torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float())
    return {"boxes": torch.stack(boxes) if boxes else torch.zeros(0, 4),
            "labels": torch.ones(len(boxes), dtype=torch.int64),
            "masks": masks.to(torch.uint8)}


@register_model("maskrcnn_trimap")
class MaskRCNNTrimapModel(BaseModel):
    def __init__(self, cfg: Config, device: torch.device):
        from .matting_gan import _scheduler
        self.cfg, self.device = cfg, device
        net = build_network(**self.generator_config())
        if cfg.model.generator.pretrained:
            left = load_local_weights(net.net, cfg.model.generator.pretrained)
            print(f"Mask R-CNN: loaded {cfg.model.generator.pretrained} ({left} tensor(s) left fresh)", flush=True)
        net = net.to(device)
        self.networks = {"G": net}
        o = cfg.optim
        self.optimizers = {"G": torch.optim.SGD(net.parameters(), lr=o.lr_g, momentum=o.momentum,
                                                weight_decay=o.weight_decay)}
        self.schedulers = {"G": _scheduler(self.optimizers["G"], o, cfg.train.steps)}
        self.generators = {}
        self.images: List[torch.Tensor] = []
        self.targets: List[Dict[str, torch.Tensor]] = []

    @property
    def generator(self) -> nn.Module:
        return self.networks["G"]

    def generator_config(self) -> Dict[str, object]:
        g = self.cfg.model.generator
        if not g.name.startswith("maskrcnn_"):
            raise GanMattingError(f"model maskrcnn_trimap needs model.generator.name maskrcnn_mobilenet_v3 or "
                                  f"maskrcnn_resnet50_fpn, got {g.name!r}")
        return {"name": g.name, "min_size": self.cfg.data.crop, "max_size": self.cfg.data.crop}

    def set_input(self, batch: Dict[str, object]) -> None:
        images = batch["image"].to(self.device)
        if "masks" in batch:  # Penn-Fudan: one target per instance
            masks = [m[:int(n)] for m, n in zip(batch["masks"], batch["n_instances"])]
        else:                 # matting data: the foreground is one instance
            masks = [(a > 0.5).float() for a in batch["alpha"]]
        self.images = list(images)
        self.targets = [{k: v.to(self.device) for k, v in _targets_from_masks(m).items()} for m in masks]

    def optimize_parameters(self, step: int) -> Dict[str, float]:
        net = self.networks["G"]
        net.train()
        opt = self.optimizers["G"]
        opt.zero_grad(set_to_none=True)
        losses = net(self.images, self.targets)
        total = sum(losses.values())
        if not torch.isfinite(total):
            opt.zero_grad(set_to_none=True)
            return {"skipped": 1.0, "nonfinite_g": 1.0}
        total.backward()
        if self.cfg.optim.grad_clip > 0:
            nn.utils.clip_grad_norm_(net.parameters(), self.cfg.optim.grad_clip)
        opt.step()
        logs = {"g_loss": float(total.detach()), "skipped": 0.0}
        logs.update({f"g_{k}": float(v.detach()) for k, v in losses.items()})
        return logs
