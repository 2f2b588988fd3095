"""Small building blocks shared by the networks (export-friendly: conv, norm, interpolate only)."""

from __future__ import annotations

import torch.nn as nn
from torch.nn.utils import parametrizations

from .. import GanMattingError
from ..config import NORMS


_NORM_LAYERS = {
    "batch": nn.BatchNorm2d,
    "instance": lambda c: nn.InstanceNorm2d(c, affine=True),
    "group": lambda c: nn.GroupNorm(min(8, c), c),
    "none": lambda c: nn.Identity(),
}
assert tuple(_NORM_LAYERS) == NORMS, "config.NORMS and the norm layers must list the same names"


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind not in _NORM_LAYERS:
        raise GanMattingError(f"unknown norm {kind!r}; choose from {', '.join(NORMS)}")
    return _NORM_LAYERS[kind](channels)


def maybe_sn(module: nn.Module, spectral_norm: bool) -> nn.Module:
    return parametrizations.spectral_norm(module) if spectral_norm else module


def conv_norm_act(cin: int, cout: int, norm: str, k: int = 3, stride: int = 1, dilation: int = 1,
                  act: str = "relu") -> nn.Sequential:
    """Conv (same padding for odd k) + norm + activation: the unit most variant networks stack."""
    pad = dilation * (k // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=norm == "none"),
                         norm_layer(norm, cout),
                         nn.LeakyReLU(0.2, inplace=True) if act == "lrelu" else nn.ReLU(inplace=True))


def generator_input(image, trimap, prior, trimap_free: bool, prior_name: str):
    """The input stack every generator sees: RGB, + one-hot trimap (bg/unknown/fg) unless trimap-free,
    + the classical prior's alphas when built with one. (B, 3 | 6 | 6 + P, H, W)."""
    import torch
    from ..data.trimap_format import trimap_onehot
    if trimap_free:
        x = image
    else:
        if trimap is None:
            raise ValueError("this generator needs a trimap (it was built with trimap_free=False)")
        x = torch.cat([image, trimap_onehot(trimap)], dim=1)
    if prior_name:
        if prior is None:
            raise ValueError(f"this generator needs its classical prior ({prior_name!r} alpha) as input")
        x = torch.cat([x, prior], dim=1)
    return x


def input_channels(trimap_free: bool, prior_name: str = "") -> int:
    """Channels of ``generator_input``; a prior with trimap-free mode is refused (solvers need a trimap)."""
    from ..priors import prior_methods
    if prior_name and trimap_free:
        raise GanMattingError("a classical prior needs a trimap: prior and trimap_free exclude each other")
    return (3 if trimap_free else 6) + len(prior_methods(prior_name))


def output_channels(error_head: bool, trimap_free: bool) -> int:
    """alpha (1) + F residual (3) [+ error (1)] [+ trimap logits (3)]."""
    return 4 + int(error_head) + 3 * int(trimap_free)


def matting_outputs(y, hidden, image, prior, error_head: bool, trimap_free: bool, n_blend: int = 0) -> dict:
    """The generators' common output dict from raw head channels ``y`` (B, output_channels [+ n_blend], H, W):
    alpha (clamped; a correction of the first prior, or of a per-pixel softmax blend of the ``n_blend``
    priors, when there is one), fg = image + residual (clamped), features (the head's hidden layer),
    error (softplus), trimap logits and the blend's ``prior_weights`` (B, n_blend, H, W) when built so."""
    import torch
    import torch.nn.functional as F
    out = {}
    if prior is None:
        base = 0
    elif n_blend:
        out["prior_weights"] = torch.softmax(y[:, -n_blend:], dim=1)
        base = (out["prior_weights"] * prior).sum(dim=1, keepdim=True)
    else:
        base = prior[:, 0:1]
    out.update({"alpha": (y[:, 0:1] + base).clamp(0, 1), "fg": (image + y[:, 1:4]).clamp(0, 1), "features": hidden})
    k = 4
    if error_head:
        out["error"] = F.softplus(y[:, k:k + 1])
        k += 1
    if trimap_free:
        out["trimap_logits"] = y[:, k:k + 3]
    return out


def output_head(cin: int, width: int, n_out: int, prior: str = "") -> nn.Sequential:
    """conv -> ReLU (the hidden ``features``) -> conv to the raw output channels. Starts at alpha = 0.5
    and F = image (inside the clamp's active range), or at exactly the prior when correcting one (an
    equal-weight blend for a "blend:" prior, whose weight logits are ``n_blend`` extra last channels)."""
    import torch
    from ..priors import prior_is_blend, prior_methods
    n_blend = len(prior_methods(prior)) if prior_is_blend(prior) else 0
    head = nn.Sequential(nn.Conv2d(cin, width, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(width, n_out + n_blend, 3, padding=1))
    head.n_blend = n_blend  # read by head_outputs; follows from the config, so not saved in the weights
    with torch.no_grad():
        head[-1].bias.zero_()
        if prior:
            head[-1].weight[0].zero_()
            if n_blend:
                head[-1].weight[-n_blend:].zero_()
        else:
            head[-1].bias[0] = 0.5
    return head


def head_outputs(head: nn.Sequential, features, x, image, prior, size, error_head: bool, trimap_free: bool) -> dict:
    """Run an ``output_head`` on the network's last features next to its (padded) input ``x``, crop to
    ``size`` = (h, w) and build the common output dict (``matting_outputs``; ``prior`` None when not built
    with one). Every generator ends here."""
    import torch
    h, w = size
    hidden = head[1](head[0](torch.cat([features, x], dim=1)))
    return matting_outputs(head[2](hidden)[..., :h, :w], hidden[..., :h, :w], image, prior, error_head, trimap_free,
                           getattr(head, "n_blend", 0))
