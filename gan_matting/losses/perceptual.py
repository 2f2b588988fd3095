"""Optional LPIPS perceptual term that never downloads anything.

lpips ships its linear calibration layers inside the wheel, but the AlexNet/VGG backbone normally
comes from torchvision's ImageNet download. Here the backbone is built *without* weights and then
loaded from ``weights_path`` (a torchvision state dict, e.g. alexnet-owt-7be5be79.pth copied by hand).
Without a path the term is switched off and says so once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from .. import GanMattingError

log = logging.getLogger(__name__)


class LPIPSLoss(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """pred, target: (B, 3, H, W) on [0, 1]. Returns the mean LPIPS distance."""
        return self.net(pred * 2 - 1, target * 2 - 1).mean()


def build_perceptual(weights_path: str = "", net: str = "alex") -> Optional[nn.Module]:
    """An LPIPS loss with a locally loaded backbone, or None (with a clear message) when no path is given."""
    if not weights_path:
        log.warning("perceptual loss is off: set loss.lpips_weights to a local torchvision %s state dict "
                    "to enable it (nothing is downloaded at run time)", net)
        return None
    p = Path(weights_path)
    if not p.is_file():
        raise GanMattingError(f"{p}: LPIPS backbone weights not found (loss.lpips_weights)")
    import lpips
    model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)  # no backbone download
    state = torch.load(p, map_location="cpu", weights_only=True)
    features = {k.split("features.", 1)[1]: v for k, v in state.items() if k.startswith("features.")}
    target = model.net
    # lpips splits torchvision's `features` Sequential into slices; map indices back onto them
    own = {}
    for name, module in target.named_children():
        for idx, sub in module.named_children():
            for pname, _ in sub.named_parameters():
                key = f"{idx}.{pname}"
                if key not in features:
                    raise GanMattingError(f"{p}: missing backbone tensor features.{key}")
                own[f"{name}.{idx}.{pname}"] = features[key]
    target.load_state_dict(own, strict=True)
    return LPIPSLoss(model)
