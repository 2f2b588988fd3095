"""Coarse-to-fine: patch selection and scattering, the refiner and its training, tiles, both infer modes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_matting import GanMattingError
from gan_matting.cli import main
from gan_matting.config import RefinerConfig, load_config
from gan_matting.inference.coarse_fine import CoarseToFine, coarse_pass
from gan_matting.inference.patches import cell_scores, extract_cells, scatter_cells, select_cells
from gan_matting.inference.tiles import predict_with_fallback, tile_starts, tiled_predict
from gan_matting.losses.texture import gabor_structure_loss, gram_style_loss
from gan_matting.models.registry import build_network
from gan_matting.models.weights import load_refiner, save_generator
from tests.conftest import away_from_seams, save

TINY_G = {"name": "unet", "width": 4, "depth": 2, "max_width": 8, "norm": "batch", "trimap_free": False,
          "error_head": False, "prior": ""}


def _tiny_g(path=None):
    torch.manual_seed(0)
    g = build_network(**TINY_G).eval()
    if path is not None:
        save_generator(g, path, TINY_G)
    return g


def _cf_prior_g():
    """A tiny generator with a cf prior, its correction moved off the exact-zero start (so its alpha
    differs from the prior); the torch RNG is seeded first, as the callers' later draws rely on."""
    spec = {**TINY_G, "prior": "cf"}
    torch.manual_seed(0)
    g = build_network(**spec).eval()
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return spec, g


def _trimap(h, w):
    t = torch.zeros(1, 1, h, w)
    t[..., h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 0.5
    t[..., 3 * h // 8: 5 * h // 8, 3 * w // 8: 5 * w // 8] = 1.0
    return t


# -- patches ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("h,w,patch", [(37, 53, 8), (32, 32, 16), (5, 70, 16)])
def test_extract_then_scatter_is_exact_on_odd_sizes(h, w, patch):
    x = torch.rand(2, 3, h, w)
    score = torch.rand(2, -(-h // patch), -(-w // patch))
    idx = select_cells(score, 5)
    cells = extract_cells(x, idx, patch, 0)
    back = scatter_cells(torch.zeros_like(x), cells, idx, patch)
    mask = scatter_cells(torch.zeros_like(x[:, :1]), torch.ones(len(idx), 1, patch, patch), idx, patch)
    assert torch.equal(back, x * mask)  # selected cells exactly back in place, the rest untouched (0)
    assert mask.sum() > 0
    # with context: the window's centre is the cell, the margin its neighbours (replicated at the border)
    wide = extract_cells(x, idx, patch, 3)
    assert wide.shape == (len(idx), 3, patch + 6, patch + 6)
    b, r, c = idx[0].tolist()
    ref = torch.nn.functional.pad(x[b:b + 1], (3, 3 + patch, 3, 3 + patch), mode="replicate")
    assert torch.equal(wide[0], ref[0, :, r * patch: r * patch + patch + 6, c * patch: c * patch + patch + 6])


def test_cells_without_unknown_pixels_are_never_selected():
    err = torch.rand(1, 1, 40, 40)
    unk = torch.zeros(1, 1, 40, 40)
    unk[..., 8:16, 24:40] = 1  # two 8-px cells of row 1
    s = cell_scores(err, unk, 8)
    assert torch.isinf(s).sum() == s.numel() - 2
    idx = select_cells(s, 10)
    assert sorted(idx[:, 2].tolist()) == [3, 4] and (idx[:, 1] == 1).all()
    assert torch.equal(select_cells(s, 1), select_cells(s.clone(), 1))  # deterministic
    assert select_cells(s, 0).shape == (0, 3)


def test_highest_error_cells_first():
    err = torch.zeros(1, 1, 32, 32)
    err[..., 16:24, 0:8] = 0.9
    err[..., 0:8, 8:16] = 0.5
    s = cell_scores(err, torch.ones_like(err), 8)
    assert select_cells(s, 2).tolist() == [[0, 0, 1], [0, 2, 0]]


# -- refiner ------------------------------------------------------------------------------------------
def test_refiner_shapes_identity_at_init_and_locality():
    ref = build_network("patch_refiner", width=8, n_layers=3)
    m = ref.margin
    cells = torch.rand(4, 9, 16 + 2 * m, 16 + 2 * m)
    out = ref(cells)
    assert out["alpha"].shape == (4, 1, 16, 16) and out["fg"].shape == (4, 3, 16, 16)
    assert torch.equal(out["alpha"], cells[:, 3:4, m:-m, m:-m].clamp(0, 1))  # zero-init residual
    torch.nn.init.normal_(ref.head.weight)
    a = ref(cells)["alpha"]
    cells2 = cells.clone()
    cells2[1:] = torch.rand_like(cells2[1:])  # other cells change, the first does not
    assert torch.equal(ref(cells2)["alpha"][0], a[0])


def test_texture_losses_see_orientation():
    yy, xx = torch.meshgrid(torch.arange(32.), torch.arange(32.), indexing="ij")
    vert = (0.5 + 0.5 * torch.sin(xx * 1.3))[None, None]
    horiz = (0.5 + 0.5 * torch.sin(yy * 1.3))[None, None]
    assert gabor_structure_loss(vert, vert) == 0
    assert gabor_structure_loss(vert, horiz) > 0.05
    shifted = (0.5 + 0.5 * torch.sin((xx + 2) * 1.3))[None, None]
    # the Gram (style) term barely changes under a shift, the per-pixel term does
    assert gram_style_loss(vert, shifted) < 0.2 * gram_style_loss(vert, horiz)
    assert gabor_structure_loss(vert, shifted) > 0.05 * gabor_structure_loss(vert, horiz)


def test_pipeline_both_modes_on_odd_size():
    g = _tiny_g()
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    naive = CoarseToFine(g, None, coarse_side=32)(x, t)
    ref = build_network("patch_refiner", width=8, n_layers=3)
    head = build_network("coarse_error", width=4)
    same = CoarseToFine(g, ref, head, coarse_side=32, patch=8, budget=0.1)(x, t)
    assert naive["alpha"].shape == (1, 1, 67, 93) and same["fg"].shape == (1, 3, 67, 93)
    assert torch.allclose(same["alpha"], naive["alpha"])  # untrained refiner = coarse result
    assert 0 < len(same["cells"]) <= int(np.ceil(0.1 * 67 * 93 / 64))
    torch.nn.init.normal_(ref.head.weight, std=0.1)
    out = CoarseToFine(g, ref, head, coarse_side=32, patch=8, budget=0.1)(x, t)
    changed = (out["alpha"] != naive["alpha"])
    assert changed.any()
    assert (t[changed] == 0.5).all()  # only unknown pixels change; known regions copied from the trimap
    assert torch.equal(out["alpha"][t == 1], torch.ones(int((t == 1).sum())))


def test_static_selection_and_pipeline_equal_the_dynamic_ones():
    """run_static (fixed shapes, for CUDA graphs) pushes exactly k cells through the refiner; the ones that
    are not real choices must keep their coarse alpha *and* foreground."""
    from gan_matting.inference.patches import select_cells_static
    g = torch.Generator().manual_seed(3)
    score = torch.rand(2, 5, 7, generator=g)
    score[score < 0.6] = float("-inf")
    for k in (1, 9, 70, 200):
        idx, valid = select_cells_static(score, k)
        assert len(idx) == min(k, score.numel()) and torch.equal(idx[valid], select_cells(score, k))
    net = _tiny_g()
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    ref = build_network("patch_refiner", width=8, n_layers=3)
    torch.nn.init.normal_(ref.head.weight, std=0.1)
    pipe = CoarseToFine(net, ref, build_network("coarse_error", width=4), coarse_side=32, patch=8, budget=1.0)
    out, static = pipe(x, t), pipe.run_static(x, t)
    assert len(static["cells"]) == int(np.ceil(67 * 93 / 64)) > len(out["cells"])  # k = budget * H * W / patch^2
    assert torch.equal(static["cells"][static["valid"]], out["cells"])
    assert torch.equal(static["alpha"], out["alpha"]) and torch.equal(static["fg"], out["fg"])
    naive = CoarseToFine(net, None, coarse_side=32)(x, t)
    chosen = torch.zeros(1, 1, 72, 96, dtype=torch.bool)
    for _b, r, c in out["cells"].tolist():
        chosen[..., r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] = True
    chosen = chosen[..., :67, :93].expand(1, 3, 67, 93)
    assert torch.equal(out["fg"][~chosen], naive["fg"][~chosen]) and not torch.equal(out["fg"], naive["fg"])


def test_static_pipeline_equals_eager_with_the_gated_context_refiner():
    """The default refiner's extra inputs (cf prior coefficients, blurred coarse alpha) go through the
    fixed-shape path a CUDA graph captures exactly as through the eager one."""
    _spec, g = _cf_prior_g()
    x, t = torch.rand(1, 3, 53, 71), _trimap(53, 71)
    ref = build_network("patch_refiner", width=8, n_layers=3, prior_channel=True, context_sigma=1.5)
    torch.nn.init.normal_(ref.head.weight, std=0.1)
    pipe = CoarseToFine(g, ref, build_network("coarse_error", width=4), coarse_side=32, patch=8, budget=1.0,
                        prior_share=0.5)
    out, static = pipe(x, t), pipe.run_static(x, t)
    assert len(static["cells"]) > len(out["cells"]) > 0
    assert torch.equal(static["cells"][static["valid"]], out["cells"])
    assert torch.equal(static["alpha"], out["alpha"]) and torch.equal(static["fg"], out["fg"])
    off = CoarseToFine(g, None, coarse_side=32, prior_share=0.5)(x, t)
    assert (out["alpha"] - off["alpha"]).abs().max() > 1e-3  # the refiner did act


# -- tiles --------------------------------------------------------------------------------------------
def test_tile_starts_cover_the_image():
    for length, tile, ov in [(100, 40, 8), (1000, 256, 32), (129, 128, 16), (50, 64, 8)]:
        st = tile_starts(length, tile, ov)
        assert st[0] == 0 and st[-1] + min(tile, length) == length
        assert all(b - a <= tile - ov for a, b in zip(st, st[1:]))


def test_tiled_equals_untiled_away_from_seams():
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.Tanh(), torch.nn.Conv2d(8, 4, 3, padding=1))

    def fn(x, t):
        y = conv(torch.cat([x, t], 1))
        return {"alpha": y[:, :1], "fg": y[:, 1:]}
    x, t = torch.rand(1, 3, 150, 203), torch.rand(1, 1, 150, 203)
    with torch.no_grad():
        full = fn(x, t)
        tiled = tiled_predict(fn, x, t, tile=64, overlap=16)
    err = (tiled["alpha"] - full["alpha"]).abs()[0, 0]
    # the receptive field (2 px) fits inside the 16 px overlap: exact except 2 px from each tile's inner edge
    far = away_from_seams(150, 203, tile=64, overlap=16, reach=2)
    assert err[far].max() < 1e-5
    assert err.max() < 0.2 and tiled["fg"].shape == full["fg"].shape


def test_out_of_memory_falls_back_to_smaller_tiles(capsys):
    calls = []

    def fn(x, t):
        calls.append(x.shape[-1])
        if max(x.shape[-2:]) > 200:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return {"alpha": x[:, :1] * 2, "fg": x}
    x = torch.rand(1, 3, 300, 310)
    out = predict_with_fallback(fn, x, None, tile=512, overlap=16)
    assert "retrying with 256 px tiles" in capsys.readouterr().out
    assert calls[0] == 310 and max(calls[1:]) <= 256
    assert torch.allclose(out["alpha"], x[:, :1] * 2, atol=1e-6)  # a pointwise fn is the same tiled
    with pytest.raises(ValueError):  # anything else than OOM is not swallowed
        predict_with_fallback(lambda x, t: (_ for _ in ()).throw(ValueError("boom")), x, None, tile=128)


def test_quality_mode_tiles_large_images(monkeypatch):
    from gan_matting.inference.predict import predict_image
    g = _tiny_g()
    img = np.random.default_rng(0).uniform(size=(150, 170, 3)).astype(np.float32)
    tri = np.zeros((150, 170), np.uint8)
    tri[40:110, 40:130] = 128
    a1, f1 = predict_image(g, img, tri, tile=4096)
    a2, f2 = predict_image(g, img, tri, tile=128)
    assert a2.shape == a1.shape and f2.shape == f1.shape
    assert np.array_equal(a1[tri == 0], a2[tri == 0])
    assert np.abs(a1 - a2).mean() < 0.1  # a U-Net sees further than the overlap: close, not equal


# -- training -----------------------------------------------------------------------------------------
def _refiner_cfg(tmp_path, tiny_synth, gpath, *extra):
    return load_config(None, [f"coarse_weights={gpath}", f"synth_root={tiny_synth}", "coarse_sides=[48, 64]",
                              "width=8", "cells=16", "train_patch=16", "d_width=8", f"out_dir={tmp_path}", "ckpt_every=2",
                              "steps=4", *extra], schema=RefinerConfig)


def test_image_weights_steer_which_training_images_are_drawn(tmp_path, tiny_synth):
    from types import SimpleNamespace
    from gan_matting.training.refiner import RefinerGAN, training_files
    gpath = tmp_path / "g.safetensors"
    _tiny_g(gpath)
    names = [f[0] for f in training_files(_refiner_cfg(tmp_path, tiny_synth, gpath))]
    entries = [SimpleNamespace(name=n) for n in names]
    plain = RefinerGAN(_refiner_cfg(tmp_path, tiny_synth, gpath), torch.device("cpu"))
    uniform = [plain.pick_entry(entries) for _ in range(300)]
    assert set(uniform) == set(range(len(entries)))
    heavy, never = names[1], names[0]
    cfg = _refiner_cfg(tmp_path, tiny_synth, gpath, f"image_weights={{{heavy}: 20, {never}: 0}}")
    model = RefinerGAN(cfg, torch.device("cpu"))
    draws = [model.pick_entry(entries) for _ in range(300)]
    assert 0 not in draws and draws.count(1) > 0.8 * len(draws)
    # a glob sets every image it matches; an image's own key wins over it
    assert all(n.startswith("synth_") for n in names)
    cfg = _refiner_cfg(tmp_path, tiny_synth, gpath, f"image_weights={{'synth_*': 0, {names[2]}: 1}}")
    model = RefinerGAN(cfg, torch.device("cpu"))
    assert {model.pick_entry(entries) for _ in range(50)} == {2}
    with pytest.raises(GanMattingError, match="no training image named GT03"):  # typos and validation images
        training_files(_refiner_cfg(tmp_path, tiny_synth, gpath, "image_weights={GT03: 2}"))
    for bad in ("image_weights={x: -1}", "image_weights=[1, 2]", "image_weights={x: true}"):
        with pytest.raises(GanMattingError, match="image_weights"):
            _refiner_cfg(tmp_path, tiny_synth, gpath, bad)


def test_refiner_step_reaches_every_network_and_lowers_the_loss(tmp_path, tiny_synth):
    from gan_matting.training.refiner import RefinerGAN, load_entries
    gpath = tmp_path / "g.safetensors"
    g = _tiny_g(gpath)
    cfg = _refiner_cfg(tmp_path, tiny_synth, gpath, "lambda_adv=0.1", "lr=3e-3")
    torch.manual_seed(0)
    model = RefinerGAN(cfg, torch.device("cpu"))
    entries = load_entries(cfg, g, progress=False)
    assert len(entries) >= 3 and all(set(e.coarse) == {48, 64} for e in entries)
    b = model.batch(entries)
    assert b["stack"].shape[1:] == (9, 16 + 2 * cfg.n_layers, 16 + 2 * cfg.n_layers)
    model.step(entries)
    for k, net in model.networks.items():
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        assert grads and any(gr.abs().sum() > 0 for gr in grads), k
    # on a fixed batch, a few steps lower the refiner's alpha error
    ref = model.networks["refiner"]
    opt = torch.optim.Adam(ref.parameters(), lr=3e-3)
    before = (ref(b["stack"])["alpha"] - b["alpha"]).abs().mean().item()
    for _ in range(10):
        opt.zero_grad()
        (ref(b["stack"])["alpha"] - b["alpha"]).abs().mean().backward()
        opt.step()
    assert (ref(b["stack"])["alpha"] - b["alpha"]).abs().mean().item() < before


def test_train_refiner_resume_equals_straight_run_and_fast_infer(tmp_path, tiny_synth):
    gpath = tmp_path / "g.safetensors"
    _tiny_g(gpath)
    base = ["--set", f"coarse_weights={gpath}", "--set", f"synth_root={tiny_synth}", "--set", "coarse_sides=[48, 64]",
            "--set", "width=8", "--set", "cells=16", "--set", "train_patch=16", "--set", "d_width=8",
            "--set", f"out_dir={tmp_path}", "--set", "ckpt_every=2", "--set", "steps=4", "--no-progress"]
    assert main(["train-refiner", "--config", "experiments/refiner.yaml", "--set", "real_root=''", "--set", "name=a"] + base) == 0
    assert main(["train-refiner", "--config", "experiments/refiner.yaml", "--set", "real_root=''", "--set", "name=b",
                 "--stop-after", "2"] + base) == 0
    assert main(["train-refiner", "--config", "experiments/refiner.yaml", "--set", "real_root=''", "--set", "name=b",
                 "--resume"] + base) == 0
    na, _ = load_refiner(tmp_path / "a" / "refiner_last.safetensors")
    nb, md = load_refiner(tmp_path / "b" / "refiner_last.safetensors")
    assert md["step"] == "4"
    for k in na:
        for (n1, p1), (_n2, p2) in zip(na[k].state_dict().items(), nb[k].state_dict().items()):
            assert torch.equal(p1, p2), (k, n1)
    # the trained refiner drives `infer --mode fast` on an odd-sized image
    img = np.random.default_rng(1).uniform(size=(45, 61, 3)).astype(np.float32)
    tri = np.zeros((45, 61), np.uint8)
    tri[10:35, 12:50] = 128
    tri[18:27, 25:37] = 255
    save(tmp_path / "in" / "x.png", img)
    save(tmp_path / "tri" / "x.png", tri)
    for mode in ("fast", "quality"):
        assert main(["infer", str(tmp_path / "in" / "x.png"), "--trimap", str(tmp_path / "tri" / "x.png"),
                     "--weights", str(gpath), "--refiner", str(tmp_path / "b" / "refiner_last.safetensors"),
                     "--mode", mode, "--coarse-side", "32", "--out", str(tmp_path / mode)]) == 0
        from gan_matting.data.io import read_alpha
        a = read_alpha(tmp_path / mode / "alpha" / "x.png")
        assert a.shape == (45, 61) and (a[tri == 255] == 1).all() and (a[tri == 0] == 0).all()


def test_refiner_config_is_validated(tmp_path):
    with pytest.raises(GanMattingError, match="real_root and/or synth_root"):
        load_config(None, [], schema=RefinerConfig)
    with pytest.raises(GanMattingError, match="'budget'"):
        load_config(None, ["synth_root=x", "budget=1.5"], schema=RefinerConfig)
    with pytest.raises(GanMattingError, match="unknown config key 'widht'"):
        load_config(None, ["synth_root=x", "widht=3"], schema=RefinerConfig)


def test_coarse_pass_runs_at_the_coarse_size():
    out = coarse_pass(_tiny_g(), torch.rand(1, 3, 90, 120), _trimap(90, 120), 40)
    assert out["alpha"].shape == (1, 1, 30, 40) and out["image"].shape == (1, 3, 30, 40)


def test_guided_upsampling_reproduces_a_linear_colour_model():
    from gan_matting.inference.coarse_fine import guided_upsample, upsample_coarse
    torch.manual_seed(0)
    hi = torch.rand(1, 3, 60, 84)
    lo = torch.nn.functional.interpolate(hi, size=(20, 28), mode="area")
    w = torch.tensor([0.5, -0.3, 0.2]).view(1, 3, 1, 1)
    p_lo = (w * lo).sum(1, keepdim=True) + 0.1
    out = guided_upsample(lo, p_lo, hi, radius=1, eps=1e-8)
    assert out.shape == (1, 1, 60, 84)
    assert torch.allclose(out, (w * hi).sum(1, keepdim=True) + 0.1, atol=1e-3)  # edges of the photo, not the grid
    bil = torch.nn.functional.interpolate(p_lo, size=(60, 84), mode="bilinear", align_corners=False)
    assert (bil - ((w * hi).sum(1, keepdim=True) + 0.1)).abs().mean() > 10 * (out - (w * hi).sum(1, keepdim=True) - 0.1).abs().mean()
    coarse = {"image": lo, "alpha": p_lo.clamp(0, 1), "fg": lo}
    assert upsample_coarse(hi, coarse, "bilinear").shape == upsample_coarse(hi, coarse).shape == (1, 4, 60, 84)


def test_resampled_cells_equal_upsample_then_cut():
    from gan_matting.inference.patches import extract_cells_resampled
    torch.manual_seed(0)
    src = torch.rand(2, 5, 13, 17)
    size = (50, 71)
    idx = torch.tensor([[0, 0, 0], [1, 3, 4], [0, 2, 1], [1, 0, 8]])  # incl. border cells
    full = torch.nn.functional.interpolate(src, size=size, mode="bilinear", align_corners=False)
    want = extract_cells(full, idx, 8, 3)
    got = extract_cells_resampled(src, idx, 8, 3, size)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)


def test_refiner_uses_coarse_features():
    g = _tiny_g()
    out = g(torch.rand(1, 3, 32, 32), _trimap(32, 32))
    assert out["features"].shape == (1, TINY_G["width"], 32, 32)
    ref = build_network("patch_refiner", width=8, n_layers=3, feat_channels=TINY_G["width"])
    torch.nn.init.normal_(ref.head.weight, std=0.1)
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    res = CoarseToFine(g, ref, build_network("coarse_error", width=4), coarse_side=32, patch=8, budget=0.2)(x, t)
    assert res["alpha"].shape == (1, 1, 67, 93) and len(res["cells"]) > 0


def test_joint_fine_tuning_trains_the_coarse_generator_too(tmp_path, tiny_synth):
    from gan_matting.models.weights import load_generator
    from gan_matting.training.refiner import train_refiner
    gpath = tmp_path / "g.safetensors"
    _tiny_g(gpath)
    cfg = _refiner_cfg(tmp_path, tiny_synth, gpath, "joint=true", "lr_g=1e-2", "steps=2", "name=j")
    train_refiner(cfg, progress=False)
    g0, _ = load_generator(gpath)
    g1, md = load_generator(tmp_path / "j" / "generator_joint.safetensors")
    changed = [k for k, v in g0.state_dict().items() if "running" not in k and "num_batches" not in k
               and not torch.equal(v, g1.state_dict()[k])]
    assert changed  # gradients reached the generator through the guided upsampling and the refiner
    assert all(torch.equal(v, g1.state_dict()[k]) for k, v in g0.state_dict().items() if "running" in k)  # BN frozen
    _nets, rmd = load_refiner(tmp_path / "j" / "refiner_last.safetensors")
    assert rmd["coarse_weights"] == "generator_joint.safetensors" and md["joint_with"] == "refiner_last.safetensors"


def test_infer_foreground_choice_and_composite(tmp_path):
    from gan_matting.data.io import read_alpha, read_rgb
    gpath = tmp_path / "g.safetensors"
    _tiny_g(gpath)
    img = np.random.default_rng(2).uniform(size=(30, 41, 3)).astype(np.float32)
    tri = np.zeros((30, 41), np.uint8)
    tri[5:25, 8:33] = 128
    tri[12:18, 16:25] = 255
    save(tmp_path / "x.png", img)
    save(tmp_path / "t.png", tri)
    outs = {}
    for fg in ("model", "ml", "blur"):
        out = tmp_path / fg
        assert main(["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "t.png"), "--weights", str(gpath),
                     "--fg", fg, "--composite-on", "#00ff00", "--out", str(out)]) == 0
        a, f, c = read_alpha(out / "alpha" / "x.png"), read_rgb(out / "fg" / "x.png"), read_rgb(out / "composite" / "x.png")
        want = a[..., None] * f + (1 - a[..., None]) * np.array([0, 1, 0], np.float32)
        assert np.abs(c - want).max() < 3 / 255  # the composite is alpha * F + (1 - alpha) * green (8-bit files)
        outs[fg] = f
    assert not np.array_equal(outs["model"], outs["ml"]) and not np.array_equal(outs["blur"], outs["ml"])
    # no --fg: ML in quality mode (above, the default mode), blur fusion in fast mode
    assert main(["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "t.png"), "--weights", str(gpath),
                 "--out", str(tmp_path / "auto_q")]) == 0
    assert np.array_equal(read_rgb(tmp_path / "auto_q" / "fg" / "x.png"), outs["ml"])
    for fg in ("auto", "blur"):
        assert main(["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "t.png"), "--weights", str(gpath),
                     "--mode", "fast", *(["--fg", fg] if fg == "blur" else []),
                     "--out", str(tmp_path / f"fast_{fg}")]) == 0
    assert np.array_equal(read_rgb(tmp_path / "fast_auto" / "fg" / "x.png"), read_rgb(tmp_path / "fast_blur" / "fg" / "x.png"))
    assert main(["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "t.png"), "--weights", str(gpath),
                 "--composite-on", "nonsense", "--out", str(tmp_path / "o")]) == 1


def test_prior_share_averages_in_the_guided_upsampled_prior(tmp_path):
    """``prior_share``: alpha becomes (1 - s) * alpha + s * the cf prior, averaged at the coarse size; the
    guided upsampling is linear, so that equals averaging the two guided-upsampled mattes (up to the clamp)
    in the unknown band; ``infer --mode fast --prior-share`` runs it."""
    from gan_matting.data.io import read_alpha, write_image, write_trimap
    from gan_matting.inference.coarse_fine import guided_upsample
    spec, g = _cf_prior_g()
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    base = CoarseToFine(g, None, coarse_side=32)(x, t)["alpha"]
    mixed = CoarseToFine(g, None, coarse_side=32, prior_share=0.5)(x, t)["alpha"]
    c = coarse_pass(g, x, t, 32)
    alpha_up = guided_upsample(c["image"], c["alpha"], x)  # unclamped: the linearity holds before the clamp
    prior_up = guided_upsample(c["image"], c["prior"][:, :1].clamp(0, 1), x)
    unk = t == 0.5
    assert torch.allclose(mixed[unk], (0.5 * alpha_up + 0.5 * prior_up).clamp(0, 1)[unk], atol=1e-4)  # fp32 rounding
    # where neither term is clamped, it is the average of the two full-size mattes
    inside = unk & (alpha_up >= 0) & (alpha_up <= 1) & (prior_up >= 0) & (prior_up <= 1)
    assert inside.sum() > 100
    # atol as above: the guided filter's coefficients are large where the colour variance is near eps, so
    # the two orders of operations round apart by up to ~2e-5 (seen on a fresh environment); a wrong average
    # would differ by far more (the last check: the averaging moves alpha by > 1e-3)
    assert torch.allclose(mixed[inside], (0.5 * base + 0.5 * prior_up)[inside], atol=1e-4)
    assert (mixed[unk] - base[unk]).abs().max() > 1e-3
    assert (mixed[t == 1] == 1).all() and (mixed[t == 0] == 0).all()
    with pytest.raises(ValueError, match="prior_share"):
        CoarseToFine(g, None, prior_share=1.5)
    w = save_generator(g, tmp_path / "g.safetensors", spec)
    write_image(tmp_path / "x.png", x[0].permute(1, 2, 0).numpy())
    write_trimap(tmp_path / "t.png", (t[0, 0].numpy() * 255).round().astype(np.uint8))
    for share in ("0", "0.5"):
        assert main(["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "t.png"), "--weights", str(w),
                     "--mode", "fast", "--prior-share", share, "--out", str(tmp_path / share)]) == 0
    a0, a5 = (read_alpha(tmp_path / s / "alpha" / "x.png") for s in ("0", "0.5"))
    assert np.abs(a0 - a5)[t[0, 0].numpy() == 0.5].max() > 1 / 255


# -- the gated refiner: a learned per-pixel choice between the coarse alpha and the cf prior -----------
def test_gated_refiner_spans_the_network_alpha_and_the_prior():
    """With the prior channel, alpha = base + tanh(g) * (prior - base) + residual: an untrained refiner
    returns the base; when the base is the 50/50 average, the gate's two ends are the prior and the
    network's own alpha; the gate gets gradients."""
    ref = build_network("patch_refiner", width=8, n_layers=3, prior_channel=True)
    assert ref.in_channels == 10
    m, s = ref.margin, 16 + 2 * ref.margin
    torch.manual_seed(0)
    cells = torch.rand(4, 10, s, s)
    net_alpha, prior = torch.rand(4, 1, s, s), torch.rand(4, 1, s, s)
    cells[:, 3:4], cells[:, 9:10] = 0.5 * net_alpha + 0.5 * prior, prior
    core = (slice(None), slice(None), slice(m, -m), slice(m, -m))
    assert torch.equal(ref(cells)["alpha"], cells[:, 3:4][core])
    with torch.no_grad():
        ref.head.bias[4] = 30.0
    assert torch.allclose(ref(cells)["alpha"], prior[core], atol=1e-6)
    with torch.no_grad():
        ref.head.bias[4] = -30.0
    assert torch.allclose(ref(cells)["alpha"], net_alpha[core], atol=1e-6)
    with torch.no_grad():
        ref.head.bias[4] = 0.0
    (ref(cells)["alpha"] - net_alpha[core]).abs().mean().backward()
    assert ref.head.weight.grad[4].abs().sum() > 0 and ref.head.bias.grad[4] != 0


def test_guided_cells_equal_upsample_then_cut():
    from gan_matting.inference.coarse_fine import guided_apply_cells, guided_coefficients, guided_upsample
    torch.manual_seed(0)
    hi = torch.rand(2, 3, 50, 71)
    lo = torch.nn.functional.interpolate(hi, size=(13, 17), mode="area")
    p = torch.rand(2, 1, 13, 17)
    idx = torch.tensor([[0, 0, 0], [1, 3, 4], [0, 2, 1], [1, 0, 8]])  # incl. border cells
    want = extract_cells(guided_upsample(lo, p, hi), idx, 8, 3)
    got = guided_apply_cells(guided_coefficients(lo, p), hi, idx, 8, 3)
    assert got.shape == (4, 1, 14, 14) and torch.allclose(got, want, atol=1e-4)


def test_gated_refiner_trains_ships_its_share_and_runs_fast_mode(tmp_path, tiny_synth):
    from gan_matting.inference.coarse_fine import guided_apply_cells, guided_coefficients, load_pipeline, mix_prior
    from gan_matting.training.refiner import RefinerGAN, load_entries, train_refiner
    spec, g = _cf_prior_g()
    gpath = save_generator(g, tmp_path / "g.safetensors", spec)
    cfg = _refiner_cfg(tmp_path, tiny_synth, gpath, "prior_channel=true", "prior_share=0.5", "steps=2", "name=gate")
    # the training cells: the 50/50 average as the coarse alpha, the guided-upsampled prior as channel 10
    model = RefinerGAN(cfg, torch.device("cpu"))
    entries = load_entries(cfg, g, progress=False)
    e = entries[0]
    c = coarse_pass(g, e.image, e.trimap, 48)
    assert torch.allclose(e.coarse[48]["alpha"], mix_prior(c, 0.5)["alpha"])
    assert not torch.allclose(e.coarse[48]["alpha"], c["alpha"])
    b = model.batch(entries)
    assert b["stack"].shape[1] == 10
    train_refiner(cfg, progress=False)
    path = tmp_path / "gate" / "refiner_last.safetensors"
    nets, md = load_refiner(path)
    assert nets["refiner"].prior_channel and md["prior_share"] == "0.5"
    pipe = load_pipeline(g, path)
    assert pipe.prior_share == 0.5 and load_pipeline(g, path, prior_share=0.0).prior_share == 0.0
    # the refiner reads the prior inside its cells: a gate pushed to +1 returns the prior there
    with torch.no_grad():
        pipe.refiner.head.weight.zero_()
        pipe.refiner.head.bias.zero_()
        pipe.refiner.head.bias[4] = 30.0
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    pipe.patch, pipe.budget = 8, 0.3
    out = pipe(x, t)
    assert len(out["cells"]) > 0
    cp = coarse_pass(g, x, t, pipe.coarse_side)
    prior_cells = guided_apply_cells(guided_coefficients(cp["image"], cp["prior"][:, :1]), x, out["cells"], 8, 0).clamp(0, 1)
    got, unk = extract_cells(out["alpha"], out["cells"], 8, 0), extract_cells(t, out["cells"], 8, 0) == 0.5
    assert torch.allclose(got[unk], prior_cells[unk], atol=1e-5)
    # a prior-free generator cannot feed it
    with pytest.raises(ValueError, match="classical prior"):
        CoarseToFine(_tiny_g(), nets["refiner"])
    with pytest.raises(GanMattingError, match="classical prior"):
        train_refiner(_refiner_cfg(tmp_path, tiny_synth, save_generator(_tiny_g(), tmp_path / "g0.safetensors", TINY_G),
                                   "prior_channel=true", "name=nope"), progress=False)
    assert not (tmp_path / "nope").exists()
    with pytest.raises(GanMattingError, match="'prior_share'"):
        _refiner_cfg(tmp_path, tiny_synth, gpath, "prior_share=1.5")


def test_refiner_settings_can_be_changed_without_retraining(tmp_path):
    """``set_refiner_settings``: the stored prior share / budget change what ``load_pipeline`` uses; the
    tensors stay identical; unknown keys and non-refiner files are refused."""
    from gan_matting.inference.coarse_fine import load_pipeline
    from gan_matting.models.weights import save_refiner, set_refiner_settings
    torch.manual_seed(0)
    ref, head = build_network("patch_refiner", width=8, n_layers=3), build_network("coarse_error", width=4)
    path = save_refiner({"refiner": (ref, {"name": "patch_refiner", "width": 8, "n_layers": 3}),
                         "error_head": (head, {"name": "coarse_error", "width": 4})}, tmp_path / "r.safetensors",
                        {"coarse_side": 64, "patch": 8, "budget": 0.1})
    g = build_network(**{**TINY_G, "prior": "cf"}).eval()
    assert load_pipeline(g, path).prior_share == 0.0
    set_refiner_settings(path, prior_share=0.5, budget=0.2)
    pipe = load_pipeline(g, path)
    assert (pipe.prior_share, pipe.budget, pipe.coarse_side, pipe.patch) == (0.5, 0.2, 64, 8)
    assert load_pipeline(g, path, prior_share=0.0).prior_share == 0.0  # the caller still decides
    nets, _ = load_refiner(path)
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), nets["refiner"].state_dict().values()))
    with pytest.raises(GanMattingError, match="unknown"):
        set_refiner_settings(path, patch=4)
    with pytest.raises(GanMattingError, match="not gan_matting refiner"):
        set_refiner_settings(save_generator(_tiny_g(), tmp_path / "g.safetensors", TINY_G), prior_share=0.5)
    # `infer --mode fast` without --prior-share uses the stored share; --prior-share 0 switches it off
    from gan_matting.data.io import read_alpha, write_image, write_trimap
    spec, gp = _cf_prior_g()
    gpath = save_generator(gp, tmp_path / "gp.safetensors", spec)
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    write_image(tmp_path / "x.png", x[0].permute(1, 2, 0).numpy())
    write_trimap(tmp_path / "t.png", (t[0, 0].numpy() * 255).round().astype(np.uint8))
    runs = {"stored": [], "0.5": ["--prior-share", "0.5"], "0": ["--prior-share", "0"]}
    for name, extra in runs.items():
        assert main(["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "t.png"), "--weights", str(gpath),
                     "--refiner", str(path), "--mode", "fast", *extra, "--out", str(tmp_path / name)]) == 0
    a = {n: read_alpha(tmp_path / n / "alpha" / "x.png") for n in runs}
    assert np.array_equal(a["stored"], a["0.5"]) and np.abs(a["stored"] - a["0"]).max() > 1 / 255


@pytest.mark.parametrize("name,sigma", [("gan_matting_refiner_gated.safetensors", 0.0),
                                        ("gan_matting_refiner_context.safetensors", 3.0),
                                        ("gan_matting_refiner_context_hair.safetensors", 3.0)])
def test_released_gated_refiners_run_behind_the_fast_generator(name, sigma):
    """The released gated refiners (the context refiner, default of `infer --mode fast` since 2026-11-26, and
    the gated option): each is gated, stores the 50/50 average and its context blur, and behind the released
    cf generator it changes only refined cells. The default is picked by the generator: the context refiner
    where G has a cf prior to feed it, the plain refiner behind a prior-free G."""
    from gan_matting.inference.coarse_fine import load_pipeline
    from gan_matting.models.weights import (CHECKPOINTS, FAST_WEIGHTS, PRIOR_FREE_REFINER, RELEASED_REFINER,
                                            default_refiner, load_generator)
    path = CHECKPOINTS / name
    nets, md = load_refiner(path)
    assert nets["refiner"].prior_channel and md["prior_share"] == "0.5"
    assert nets["refiner"].context_sigma == sigma
    G, _ = load_generator(FAST_WEIGHTS)
    assert default_refiner(G) == RELEASED_REFINER and default_refiner(_tiny_g()) == PRIOR_FREE_REFINER
    assert not load_refiner(PRIOR_FREE_REFINER)[0]["refiner"].prior_channel
    torch.manual_seed(0)
    x, t = torch.rand(1, 3, 75, 101), _trimap(75, 101)
    pipe = load_pipeline(G, path, coarse_side=48)
    pipe.patch, pipe.budget = 8, 0.1
    on = pipe(x, t)
    pipe.budget = 0.0
    off = pipe(x, t)["alpha"]
    assert len(on["cells"]) > 0
    mask = torch.zeros_like(off, dtype=torch.bool)
    for _b, r, c in on["cells"].tolist():
        mask[..., r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] = True
    assert torch.equal(on["alpha"][~mask], off[~mask])
    assert (on["alpha"][mask] - off[mask]).abs().max() > 1e-3


# -- the context refiner: the blurred coarse alpha as an extra channel ---------------------------------
def test_context_channel_is_the_blurred_coarse_alpha_in_training_and_inference(tmp_path, tiny_synth):
    """``context_sigma`` > 0: the refiner's extra channel is the coarse alpha blurred (Gaussian, coarse px)
    and upsampled, cut at its cells; the same in training and in the pipeline; stored with the weights."""
    from gan_matting.inference.coarse_fine import _up, coarse_context, load_pipeline, mix_prior
    from gan_matting.training.refiner import RefinerGAN, load_entries, train_refiner
    ref = build_network("patch_refiner", width=8, n_layers=3, prior_channel=True, context_sigma=1.5)
    assert ref.in_channels == 11
    with pytest.raises(ValueError, match="context_sigma"):
        build_network("patch_refiner", width=8, n_layers=3, context_sigma=-1)
    # the context is a blur: smoother than the alpha, same mean on a flat border
    a = torch.zeros(1, 1, 20, 20)
    a[..., 8:12, :] = 1
    ctx = coarse_context({"alpha": a}, 1.5)
    assert ctx.shape == a.shape and 0.2 < float(ctx[0, 0, 10, 10]) < 0.9 and float(ctx[0, 0, 0, 0]) < 0.05
    spec, g = _cf_prior_g()
    gpath = save_generator(g, tmp_path / "g.safetensors", spec)
    cfg = _refiner_cfg(tmp_path, tiny_synth, gpath, "prior_channel=true", "prior_share=0.5", "context_sigma=1.5",
                       "steps=2", "name=ctx")
    model = RefinerGAN(cfg, torch.device("cpu"))
    entries = load_entries(cfg, g, progress=False)
    b = model.batch(entries)
    assert b["stack"].shape[1] == 11
    train_refiner(cfg, progress=False)
    nets, md = load_refiner(tmp_path / "ctx" / "refiner_last.safetensors")
    assert nets["refiner"].context_sigma == 1.5 and nets["refiner"].in_channels == 11
    # in the pipeline, a refiner that returns its context channel writes the upsampled blurred alpha
    pipe = load_pipeline(g, tmp_path / "ctx" / "refiner_last.safetensors")
    m = pipe.refiner.margin

    class Echo(torch.nn.Module):
        margin, prior_channel, context_sigma = m, True, 1.5

        def forward(self, cells):
            core = cells[:, :, m:-m, m:-m]
            return {"alpha": core[:, 10:11], "fg": core[:, 4:7]}
    pipe.refiner, pipe.patch, pipe.budget = Echo(), 8, 0.3
    x, t = torch.rand(1, 3, 67, 93), _trimap(67, 93)
    out = pipe(x, t)
    assert len(out["cells"]) > 0
    want = _up(coarse_context(mix_prior(coarse_pass(g, x, t, pipe.coarse_side), 0.5), 1.5), x.shape[-2:])
    got, unk = extract_cells(out["alpha"], out["cells"], 8, 0), extract_cells(t, out["cells"], 8, 0) == 0.5
    assert torch.allclose(got[unk], extract_cells(want, out["cells"], 8, 0)[unk], atol=1e-5)
    unblurred = _up(mix_prior(coarse_pass(g, x, t, pipe.coarse_side), 0.5)["alpha"], x.shape[-2:])
    assert (got[unk] - extract_cells(unblurred, out["cells"], 8, 0)[unk]).abs().max() > 1e-3  # the blur matters
    with pytest.raises(GanMattingError, match="context_sigma"):
        _refiner_cfg(tmp_path, tiny_synth, gpath, "context_sigma=-0.5")
