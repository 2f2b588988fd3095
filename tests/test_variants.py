"""Issue 12's generator variants: forward/backward on odd sizes in both modes, the pieces that make each
one what it is (RSU blocks, the RRM's zero start, per-channel branches, BiSeNet's branches, the
autoencoder's recipe), the hybrid loss, and every config under experiments/variants/ training from an
empty folder on the procedural stream."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_matting.cli import main
from gan_matting.config import load_config
from gan_matting.losses import deep_supervision, hybrid_loss
from gan_matting.models import build_model, build_network
from gan_matting.models.u2net import RSU

from .test_models import _batch

VARIANTS = ("u2net", "basnet", "cross_channel", "autoencoder", "bisenet")
CONFIGS = sorted(Path(__file__).resolve().parents[1].joinpath("experiments", "variants").glob("*.yaml"))


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("trimap_free", [False, True])
def test_variant_forward_backward_on_odd_sizes(name, trimap_free):
    torch.manual_seed(0)
    G = build_network(name, width=8, depth=4, max_width=32, trimap_free=trimap_free, error_head=True)
    if name == "basnet":  # the RRM's output starts at zero, which blocks its inner gradients until a step moves it
        torch.nn.init.normal_(G.refine.out.weight, std=0.01)
    x = torch.rand(2, 3, 45, 77)
    t = torch.randint(0, 3, (2, 1, 45, 77)).float() / 2
    out = G(x, None if trimap_free else t)
    assert out["alpha"].shape == (2, 1, 45, 77) and out["fg"].shape == (2, 3, 45, 77)
    assert out["error"].shape == (2, 1, 45, 77) and (out["error"] >= 0).all()
    assert ("trimap_logits" in out) == trimap_free
    assert 0 <= float(out["alpha"].detach().min()) and float(out["alpha"].detach().max()) <= 1
    loss = (out["alpha"] - 0.3).abs().mean() + out["fg"].mean() + deep_supervision(out, (x[:, :1] > 0.5).float(), hybrid_loss)
    loss.backward()
    no_grad = [n for n, p in G.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not no_grad, f"parameters without gradient: {no_grad[:5]}"


@pytest.mark.parametrize("name", VARIANTS)
def test_variants_need_a_trimap_unless_trimap_free(name):
    from gan_matting import GanMattingError
    G = build_network(name, width=8, depth=3, max_width=16, trimap_free=False)
    with pytest.raises(ValueError, match="needs a trimap"):
        G(torch.rand(1, 3, 32, 32))
    with pytest.raises(GanMattingError, match="exclude each other"):  # the solvers behind a prior need a trimap
        build_network(name, width=8, depth=3, max_width=16, trimap_free=True, prior="cf")


def test_rsu_block_is_residual_and_keeps_size():
    blk = RSU(5, 4, 3, 6, norm="none")
    x = torch.rand(1, 4, 37, 29)
    y = blk(x)
    assert y.shape == (1, 6, 37, 29)
    with torch.no_grad():
        for conv in [c[0] for c in blk.dec]:
            conv.weight.zero_()
            conv.bias.zero_()
        assert torch.allclose(blk(x), blk.inp(x))  # a dead inner U: the block is its input conv


def test_u2net_has_one_side_alpha_per_decoder_stage():
    G = build_network("u2net", width=8, depth=5, max_width=32)
    out = G(torch.rand(1, 3, 50, 41), torch.full((1, 1, 50, 41), 0.5))
    assert len(out["side_alphas"]) == 5 and all(s.shape == (1, 1, 50, 41) for s in out["side_alphas"])
    assert isinstance(G.stages[-1], RSU) and G.stages[-1].dilated and not G.stages[0].dilated


def test_basnet_refinement_starts_as_identity():
    G = build_network("basnet", width=8, depth=3, max_width=16).eval()
    x, t = torch.rand(1, 3, 33, 47), torch.full((1, 1, 33, 47), 0.5)
    out = G(x, t)
    assert torch.equal(out["alpha"], out["side_alphas"][0])  # zero-initialised residual
    torch.nn.init.normal_(G.refine.out.weight, std=0.1)
    assert not torch.equal(G(x, t)["alpha"], G(x, t)["side_alphas"][0])


def test_cross_channel_branches_see_one_channel_or_a_pair():
    torch.manual_seed(0)
    G = build_network("cross_channel", width=4, depth=2, max_width=8).eval()
    raw = []  # the branches' unclamped alphas (the clamped out["channel_alphas"] can sit at 0 for a fresh net)
    G.branch_alpha.register_forward_hook(lambda _m, _i, out: raw.append(out.detach()))
    x, t = torch.rand(1, 3, 24, 24), torch.full((1, 1, 24, 24), 0.5)
    assert G(x, t)["channel_alphas"].shape == (1, 6, 24, 24)
    x2 = x.clone()
    x2[:, 2] = torch.rand(24, 24)  # change the blue plane only
    G(x2, t)
    moved = (raw[1] - raw[0]).abs().flatten(1).amax(-1)  # (6 branches,): the batch is branch-major
    # branches (R,R), (G,G), (R,G) never see blue; (B,B), (G,B), (B,R) do
    assert torch.all(moved[[0, 1, 3]] == 0) and torch.all(moved[[2, 4, 5]] > 0)


def test_hybrid_loss_is_zero_only_at_the_target_and_ranks_errors():
    gt = torch.zeros(1, 1, 32, 32)
    gt[..., 8:24, 8:24] = 1
    near, far = gt.clone(), 1 - gt
    near[..., 8, 8:24] = 0.5
    assert hybrid_loss(gt, gt) < 1e-2
    assert hybrid_loss(gt, gt) < hybrid_loss(near, gt) < hybrid_loss(far, gt)


def test_autoencoder_recipe_is_rmsprop_mse_without_gan():
    cfg = load_config(str(next(c for c in CONFIGS if c.stem == "autoencoder")), ["data.crop=48"])
    m = build_model(cfg, torch.device("cpu"))
    assert set(m.networks) == {"G"} and isinstance(m.optimizers["G"], torch.optim.RMSprop)
    m.set_input(_batch())
    logs = m.optimize_parameters(0)
    assert set(k for k in logs if k.startswith("g_") and k != "g_loss") == {"g_mse"}


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_variant_config_trains_from_an_empty_folder(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing on disk: the procedural stream feeds it
    rc = main(["train", "--config", str(config), "--no-progress", "--set", "train.steps=2",
               "--set", "data.synth_min_size=96", "--set", "data.synth_max_size=128", "--set", "data.crop=64",
               "--set", "model.d_global.size=64", "--set", "model.d_local.crop=32"])
    assert rc == 0
    run = tmp_path / "runs" / f"variant_{config.stem}"
    assert (run / "generator_last.safetensors").stat().st_size > 10_000
    from gan_matting.models.weights import load_generator
    G, _ = load_generator(run / "generator_last.safetensors")
    assert type(G).__name__ == type(build_network(load_config(str(config)).model.generator.name)).__name__


def test_every_released_checkpoint_loads_and_mattes_an_odd_image():
    """checkpoints/*.safetensors (generators): the metadata rebuilds the network, priors are computed inside."""
    import numpy as np
    from gan_matting.inference.predict import predict_image
    from gan_matting.models.weights import load_generator
    from .conftest import disk_alpha
    alpha = disk_alpha(41, 53)
    img = np.stack([alpha, 0.4 + 0.2 * alpha, 1 - alpha], -1).astype(np.float32)
    tri = np.where(alpha >= 1, 255, np.where(alpha <= 0, 0, 128)).astype(np.uint8)
    names = [p for p in sorted((Path(__file__).resolve().parents[1] / "checkpoints").glob("*.safetensors"))
             if "refiner" not in p.name]
    assert any("u2net" in p.name for p in names)
    for p in names:
        G, _ = load_generator(p)
        a, f = predict_image(G, img, tri)
        assert a.shape == (41, 53) and f.shape == (41, 53, 3), p.name
        assert (a[tri == 255] == 1).all() and (a[tri == 0] == 0).all(), p.name
        if getattr(G, "prior", ""):  # a correction of cf: close to the truth on this easy ramp, as cf is
            assert np.abs(a - alpha)[tri == 128].mean() < 0.1, p.name
