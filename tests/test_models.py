"""Generator and discriminators: shapes, ranges, gradients, registry."""
from __future__ import annotations

import pytest
import torch

from gan_matting import GanMattingError
from gan_matting.losses import GANLoss
from gan_matting.models import NETWORKS, build_model, build_network, count_parameters
from gan_matting.models.discriminators import band_crops
from gan_matting.config import load_config

from .conftest import toy_batch


@pytest.mark.parametrize("trimap_free", [False, True])
@pytest.mark.parametrize("hw", [(33, 47), (64, 64), (17, 90)])
def test_generator_any_size_both_modes(trimap_free, hw):
    G = build_network("unet", width=8, depth=3, max_width=32, trimap_free=trimap_free, error_head=True)
    x = torch.rand(2, 3, *hw)
    tri = torch.full((2, 1, *hw), 0.5)
    out = G(x, None if trimap_free else tri)
    assert out["alpha"].shape == (2, 1, *hw) and out["fg"].shape == (2, 3, *hw) and out["error"].shape == (2, 1, *hw)
    assert 0 <= out["alpha"].min() and out["alpha"].max() <= 1 and 0 <= out["fg"].min() and out["fg"].max() <= 1
    assert ("trimap_logits" in out) == trimap_free
    if not trimap_free:
        with pytest.raises(ValueError, match="needs a trimap"):
            G(x)


def test_generator_starts_in_active_range():
    G = build_network("unet", width=8, depth=3).eval()
    out = G(torch.rand(1, 3, 32, 32), torch.full((1, 1, 32, 32), 0.5))
    frac_clamped = ((out["alpha"] == 0) | (out["alpha"] == 1)).float().mean()
    assert frac_clamped < 0.5  # not dead on arrival at the clamp


def test_build_network_by_name_and_param_counts():
    light = build_network("unet", width=16, depth=5, max_width=128)
    assert isinstance(light, NETWORKS["unet"])
    assert 1_000_000 < count_parameters(light) < 2_000_000  # the documented ~1.4 M CPU model
    with pytest.raises(GanMattingError, match="unknown network 'nope'; registered: .*unet"):
        build_network("nope")


def test_discriminator_outputs():
    g = build_network("global_d", width=8, n_layers=3, size=32)
    p = build_network("patch_d", width=8, n_layers=2)
    x = torch.rand(3, 9, 50, 70)
    assert g(x).shape == (3, 1)
    # PatchGAN: two stride-2 convs (32 -> 8), then two 4x4 stride-1 convs with padding 1 (8 -> 7 -> 6)
    assert p(x[..., :32, :32]).shape == (3, 1, 6, 6)
    # the global D resizes: any input size gives the same logit as the pre-resized input
    small = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=True)
    g.eval()  # spectral norm updates its power iteration at every training-mode forward
    assert torch.allclose(g(x), g(small), atol=1e-6)


def test_band_crops_centre_on_unknown():
    tri = torch.zeros(2, 1, 40, 40)
    tri[0, :, 30:32, 5:7] = 0.5
    tri[1, :, 2:4, 35:37] = 0.5
    x = torch.arange(2 * 40 * 40, dtype=torch.float32).view(2, 1, 40, 40)
    (t,), = [band_crops([tri], tri, 16, torch.Generator().manual_seed(0))]
    assert t.shape == (2, 1, 16, 16) and ((t - 0.5).abs() < 0.1).any(dim=(1, 2, 3)).all()
    a, b = band_crops([x, x * 2], tri, 16, torch.Generator().manual_seed(0))
    assert torch.equal(a * 2, b)  # the same window from every tensor


@pytest.mark.parametrize("mode", ["lsgan", "vanilla", "hinge"])
def test_gan_losses_prefer_correct_labels(mode):
    L = GANLoss(mode)
    hi, lo = torch.full((4, 1), 3.0), torch.full((4, 1), -3.0)
    assert L.d_loss(hi, lo) < L.d_loss(lo, hi)
    assert L.g_loss(hi) < L.g_loss(lo)


def _tiny_model(**over):
    args = ["data.source=synth", "model.generator.width=8", "model.generator.depth=3", "model.generator.max_width=32",
            "model.d_global.width=8", "model.d_global.n_layers=3", "model.d_global.size=32",
            "model.d_local.width=8", "model.d_local.n_layers=2", "model.d_local.crop=24", "data.crop=48"]
    args += [f"{k}={v}" for k, v in over.items()]
    return build_model(load_config(None, args), torch.device("cpu"))


_batch = toy_batch


def test_gradients_reach_generator_and_both_discriminators():
    m = _tiny_model()
    m.set_input(_batch())
    grads = {}
    for name, net in m.networks.items():  # capture grads as each optimiser steps
        opt = m.optimizers[name]
        orig = opt.step

        def step(*a, _n=name, _net=net, _orig=orig, **k):
            grads[_n] = sum(float(p.grad.abs().sum()) for p in _net.parameters() if p.grad is not None)
            return _orig(*a, **k)
        opt.step = step
    logs = m.optimize_parameters(step=10)
    assert set(grads) == {"G", "d_global", "d_local"} and all(v > 0 for v in grads.values()), grads
    assert {"g_adv_d_global", "g_adv_d_local", "d_global_real", "d_local_fake"} <= set(logs)


def test_warmup_phases_and_adv_ablation():
    m = _tiny_model(**{"optim.warmup_g_only": 2, "optim.warmup_d_only": 2})
    m.set_input(_batch())
    assert "d_loss" not in m.optimize_parameters(0) and "g_loss" in m.optimize_parameters(1)
    phase2 = m.optimize_parameters(2)
    assert "d_loss" in phase2 and "g_loss" not in phase2
    joint = m.optimize_parameters(4)
    assert "d_loss" in joint and "g_adv_d_global" in joint
    m0 = _tiny_model(**{"loss.lambda_adv": 0})
    assert set(m0.networks) == {"G"}
    m0.set_input(_batch())
    assert not any(k.startswith("g_adv") for k in m0.optimize_parameters(5))


def test_trimap_free_model_trains_its_trimap_head():
    m = _tiny_model(**{"model.generator.trimap_free": "true", "model.generator.error_head": "true"})
    m.set_input(_batch())
    logs = m.optimize_parameters(3)
    assert "g_trimap" in logs and "g_error" in logs


def test_steps_on_a_fixed_batch_lower_the_loss():
    torch.manual_seed(0)
    m = _tiny_model(**{"optim.lr_g": 2e-3, "optim.scheduler": "constant"})
    m.set_input(_batch())
    first = m.optimize_parameters(0)["g_alpha_unknown"]
    for s in range(1, 25):
        last = m.optimize_parameters(s)["g_alpha_unknown"]
    assert last < 0.7 * first


def test_nonfinite_loss_is_skipped_and_weights_untouched():
    m = _tiny_model()
    b = _batch()
    b["image"][0, 0, 0, 0] = float("nan")
    m.set_input(b)
    before = [p.detach().clone() for p in m.networks["G"].parameters()]
    logs = m.optimize_parameters(10)
    assert logs["skipped"] == 1.0
    assert all(torch.equal(a, p) for a, p in zip(before, m.networks["G"].parameters()))
