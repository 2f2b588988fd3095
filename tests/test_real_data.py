"""Issue 9's levers: classical priors as generator input, re-composited real foregrounds, warm
start, and the propagation post-process. Tiny procedural data; the real split is only read by path."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gan_matting import GanMattingError
from gan_matting.config import load_config
from gan_matting.data.real_composites import CompositePool, build_pool
from gan_matting.data.trimap_format import apply_known, trimap_to_unit
from gan_matting.inference.predict import predict_image
from gan_matting.models import build_network
from gan_matting.models.weights import load_generator
from gan_matting.postprocess import large_kernel_alpha, propagate, propagate_lkm
from gan_matting.priors import cache_dir, classical_prior, prior_is_blend, prior_methods
from gan_matting.training.data import read_split
from gan_matting.training.trainer import train

from .conftest import REPO, disk_alpha

TINY_G = dict(width=8, depth=3, max_width=16)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_MATTING_CACHE", str(tmp_path / "cache"))


def _scene(seed=0, h=40, w=48):
    rng = np.random.default_rng(seed)
    a = disk_alpha(h, w, r=11, soft=4)
    fg = np.broadcast_to(rng.uniform(0.6, 1, 3), a.shape + (3,)).astype(np.float32)
    bg = np.broadcast_to(rng.uniform(0, 0.3, 3), a.shape + (3,)).astype(np.float32)
    img = a[..., None] * fg + (1 - a[..., None]) * bg
    tri = np.where(a >= 0.999, 255, np.where(a <= 0.001, 0, 128)).astype(np.uint8)
    from scipy import ndimage
    tri[ndimage.binary_dilation(tri == 128, iterations=2) & (tri != 128)] = 128  # a band wider than the ramp
    return img.astype(np.float32), tri, a


def test_prior_generator_starts_exactly_at_the_prior_and_learns_a_correction():
    G = build_network("unet", prior="cf", **TINY_G)
    img = torch.rand(2, 3, 24, 20)
    tri = torch.full((2, 1, 24, 20), 0.5)
    prior = torch.rand(2, 1, 24, 20)
    out = G(img, tri, prior)
    assert torch.equal(out["alpha"], prior)
    with pytest.raises(ValueError, match="classical prior"):
        G(img, tri)
    opt = torch.optim.Adam(G.parameters(), 1e-2)
    target = (prior + 0.2).clamp(0, 1)
    first = None
    for _ in range(15):
        loss = (G(img, tri, prior)["alpha"] - target).abs().mean()
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.6 * first
    with pytest.raises(GanMattingError, match="exclude each other"):
        build_network("unet", prior="cf", trimap_free=True)
    two = build_network("unet", prior="cf+knn", **TINY_G)   # cf corrected, knn as an extra input
    both = torch.rand(2, 2, 24, 20)
    assert torch.equal(two(img, tri, both)["alpha"], both[:, :1])


@pytest.mark.parametrize("net", ["unet", "u2net"])
def test_blend_prior_starts_at_the_mean_and_learns_per_pixel_which_solver_to_trust(net):
    """"blend:cf+knn": alpha = clamp(sum_k w_k * prior_k + delta) with softmax weights from the head.
    The weights must learn to pick, per pixel, the prior that is right (here: cf on the left half,
    knn on the right), which a correction of cf alone can only imitate with a large delta."""
    torch.manual_seed(0)
    G = build_network(net, prior="blend:cf+knn", **TINY_G)
    img, tri = torch.rand(2, 3, 24, 20), torch.full((2, 1, 24, 20), 0.5)
    priors = torch.rand(2, 2, 24, 20)
    out = G(img, tri, priors)
    assert torch.allclose(out["alpha"], priors.mean(1, keepdim=True), atol=1e-6)
    w = out["prior_weights"]
    assert w.shape == (2, 2, 24, 20) and torch.allclose(w.sum(1), torch.ones(2, 24, 20))
    img[:, 0, :, 10:] = 1.0          # the image says which half is which
    img[:, 0, :, :10] = 0.0
    target = torch.where(torch.arange(20) < 10, priors[:, 0:1], priors[:, 1:2])
    opt = torch.optim.Adam(G.parameters(), 1e-2)
    first = float((G(img, tri, priors)["alpha"] - target).abs().mean())
    for _ in range(40):
        loss = (G(img, tri, priors)["alpha"] - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    G.eval()
    w = G(img, tri, priors)["prior_weights"].detach()
    assert float(loss.detach()) < 0.5 * first
    assert w[:, 0, :, :10].mean() > 0.6 and w[:, 1, :, 10:].mean() > 0.6   # cf left, knn right
    assert prior_methods("blend:cf+knn") == ["cf", "knn"] and prior_is_blend("blend:cf+knn")
    assert not prior_is_blend("cf+knn")
    assert load_config(None, ["data.source=synth", "model.generator.prior=blend:cf+knn"]).model.generator.prior == "blend:cf+knn"


def test_classical_prior_is_cached_and_handles_degenerate_trimaps():
    img, tri, a = _scene()
    p1 = classical_prior("cf", img, tri)
    files = list(cache_dir().glob("*.npy"))
    assert len(files) == 1
    np.save(files[0], np.full_like(p1, 0.25))  # the second call must read the cache, not solve again
    assert (classical_prior("cf", img, tri) == 0.25).all()
    assert np.abs(classical_prior("cf", img, tri, cache=False) - p1).max() < 1e-6
    only_fg = np.where(tri == 0, 128, tri).astype(np.uint8)
    p = classical_prior("cf", img, only_fg)
    assert (p[only_fg == 255] == 1).all() and (p[only_fg == 128] == 0.5).all()


@pytest.mark.parametrize("prior", ["cf", "cf+knn", "blend:cf+knn"])
def test_infer_computes_the_prior_itself(prior):
    img, tri, _ = _scene(1)
    G = build_network("unet", prior=prior, **TINY_G).eval()
    alpha, fg = predict_image(G, img, tri)
    started_from = prior_methods(prior) if prior_is_blend(prior) else ["cf"]
    start = np.mean([classical_prior(m, img, tri) for m in started_from], axis=0)
    expected = apply_known(start, trimap_to_unit(tri))
    assert alpha.shape == tri.shape and fg.shape == img.shape
    assert np.abs(alpha - expected).max() < 1e-6   # an untrained prior model reproduces cf (or the blend's mean)


def test_propagation_lowers_the_error_of_a_noisy_matte():
    img, tri, a = _scene(2, 48, 56)
    noisy = np.clip(a + np.random.default_rng(0).normal(0, 0.15, a.shape), 0, 1)
    unk = tri == 128
    before = np.abs(noisy - a)[unk].mean()
    after = np.abs(propagate(img, tri, noisy, weight=0.01) - a)[unk].mean()
    assert after < 0.6 * before
    # confidence 1 with a huge weight keeps the network's alpha
    kept = propagate(img, tri, noisy, np.ones_like(a), weight=1e6)
    assert np.abs(kept - noisy)[unk].max() < 1e-3
    # 5x5 windows: a different solve that also cleans the matte
    wide = propagate(img, tri, noisy, weight=0.01, radius=2)
    assert np.abs(wide - a)[unk].mean() < 0.6 * before
    assert np.abs(wide - propagate(img, tri, noisy, weight=0.01))[unk].max() > 1e-3


def test_large_kernel_alpha_is_pymattings_lkm_from_any_start():
    from gan_matting.baselines import pymatting_module
    img, tri, a = _scene(3, 44, 52)
    reference = pymatting_module().estimate_alpha_lkm(img.astype(np.float64), tri / 255.0)
    unk = tri == 128
    cold = large_kernel_alpha(img, tri)
    noisy = np.clip(a + np.random.default_rng(1).normal(0, 0.2, a.shape), 0, 1)
    warm = large_kernel_alpha(img, tri, init=noisy)
    assert np.abs(cold - reference)[unk].max() < 1e-3
    assert np.abs(warm - reference)[unk].max() < 1e-3   # the start saves iterations, not accuracy
    assert np.abs(cold - a)[unk].mean() < 0.05            # and it mattes this two-colour scene
    small_img, small_tri, small_a = _scene(3, 24, 30)    # too small for 21x21 windows: smaller ones
    assert np.abs(large_kernel_alpha(small_img, small_tri) - small_a)[small_tri == 128].mean() < 0.1


def test_propagate_lkm_is_the_stated_average_and_lowers_the_error():
    img, tri, a = _scene(2, 48, 56)
    noisy = np.clip(a + np.random.default_rng(0).normal(0, 0.15, a.shape), 0, 1)
    unk = tri == 128
    # a large data-term weight keeps the noise, so the two terms of the average differ far beyond the tolerance
    propagated = propagate(img, tri, noisy, weight=1e3)
    lkm = large_kernel_alpha(img, tri)
    assert 0.3 * np.abs(propagated - lkm)[unk].max() > 0.05
    mixed = propagate_lkm(img, tri, noisy, share=0.3, weight=1e3)
    assert np.abs(mixed - (0.7 * propagated + 0.3 * lkm))[unk].max() < 1e-3
    assert (mixed[tri == 255] == 1).all() and (mixed[tri == 0] == 0).all()
    cleaned = propagate_lkm(img, tri, noisy, share=0.3, weight=0.01)
    assert np.abs(cleaned - a)[unk].mean() < 0.6 * np.abs(noisy - a)[unk].mean()
    assert np.array_equal(propagate_lkm(img, tri, noisy, share=0.0, weight=1e3), propagated)
    with pytest.raises(ValueError, match="share"):
        propagate_lkm(img, tri, noisy, share=1.5)


def _alphamatting_like(root, n=3):
    from gan_matting.data.io import write_image, write_trimap
    for i in range(n):
        img, tri, a = _scene(10 + i, 64, 72)
        write_image(root / "input" / f"GT{i:02d}.png", img)
        write_image(root / "alpha" / f"GT{i:02d}.png", a)
        write_trimap(root / "trimap1" / f"GT{i:02d}.png", tri)
    return root


def test_composite_pool_is_deterministic_and_obeys_the_matting_equation(tmp_path):
    root = _alphamatting_like(tmp_path / "am")
    e1 = build_pool(root, ["GT00", "GT01"], variants=2, seed=3, prior="cf", band_frac=(0.1, 0.3),
                    cache=tmp_path / "p1", progress=False)
    e2 = build_pool(root, ["GT00", "GT01"], variants=2, seed=3, prior="cf", band_frac=(0.1, 0.3),
                    cache=tmp_path / "p2", progress=False)
    assert len(e1) == 2 * (1 + 2)  # each photo with its trimap + 2 composites
    for p, q in zip(e1, e2):  # same settings, another cache folder: the same arrays (zip timestamps aside)
        a1, a2 = np.load(p), np.load(q)
        assert a1.files == a2.files and all(np.array_equal(a1[k], a2[k]) for k in a1.files), p.name
    other = build_pool(root, ["GT00"], variants=1, seed=4, prior="", band_frac=(0.1, 0.3),
                       cache=tmp_path / "p4", progress=False)[-1]
    assert not np.array_equal(np.load(other)["image"], np.load(e1[1])["image"])  # another seed, another composite
    ds = CompositePool(e1, crop=32, seed=0)
    a, b = ds[4], ds[4]
    assert all(torch.equal(a[k], b[k]) for k in ("image", "alpha", "trimap", "prior"))
    assert a["prior"].shape == (1, 32, 32) and set(a["trimap"].unique().tolist()) <= {0.0, 0.5, 1.0}
    comp = [ds[k] for k in range(len(ds)) if float(ds[k]["has_fg"]) == 1.0]
    assert comp
    for it in comp:
        recon = it["alpha"] * it["fg"] + (1 - it["alpha"]) * it["bg"]
        err = (recon - it["image"]).abs()
        assert err.mean() < 0.02 and err.max() < 0.1  # 8-bit rounding and the added sensor noise
    with pytest.raises(GanMattingError, match="GT09"):
        build_pool(root, ["GT09"], cache=tmp_path / "p3", progress=False)


def test_photographed_layer_keeps_the_matting_equation_and_makes_hair_faint():
    from gan_matting.data.regions import REGION_IDS
    from gan_matting.data.synth import synth_sample
    from gan_matting.data.synth.realism import photographed_image, photographed_layer
    s = synth_sample(1, 0, 160, 120)
    hair = (s["region"] == REGION_IDS["hair"]) & (s["alpha"] > 0.01) & (s["alpha"] < 0.999)
    faint = lambda a: float(((a > 0.01) & (a < 0.25) & hair).sum()) / hair.sum()  # noqa: E731
    outs = [photographed_layer(s["alpha"], s["fg"], s["region"], np.random.default_rng(k)) for k in range(4)]
    for a, f in outs:
        assert a.shape == s["alpha"].shape and f.shape == s["fg"].shape and 0 <= a.min() and a.max() <= 1
        assert faint(a) > faint(s["alpha"])  # more of the strands are under 0.25 alpha than in the render
    a, f = outs[0]
    same = photographed_layer(s["alpha"], s["fg"], s["region"], np.random.default_rng(0))
    assert np.array_equal(a, same[0]) and np.array_equal(f, same[1])  # a function of the generator state
    img8 = photographed_image(a, f, s["bg"], np.random.default_rng(0))
    recon = a[..., None] * f + (1 - a[..., None]) * s["bg"]
    err = np.abs(img8 / 255.0 - recon)
    assert img8.dtype == np.uint8 and err.mean() < 0.03  # noise and JPEG only: alpha and F stay exact


def test_composite_pool_with_photographed_synthetic_hair(tmp_path, monkeypatch):
    import gan_matting.data.real_composites as RC
    monkeypatch.setattr(RC, "SYNTH_SIZE", (96, 72))
    root = _alphamatting_like(tmp_path / "am")
    plain = build_pool(root, ["GT00"], variants=1, seed=3, prior="cf", cache=tmp_path / "p", progress=False)
    mixed = build_pool(root, ["GT00"], variants=1, seed=3, prior="cf", cache=tmp_path / "p", progress=False,
                       synth_hair=2)
    again = build_pool(root, ["GT00"], variants=1, seed=3, prior="cf", cache=tmp_path / "q", progress=False,
                       synth_hair=2)
    assert len(mixed) == len(plain) + 2 and mixed[0].parent != plain[0].parent  # its own pool folder
    for p, q in zip(mixed[-2:], again[-2:]):
        z, y = np.load(p), np.load(q)
        assert all(np.array_equal(z[k], y[k]) for k in z.files)  # deterministic per seed
        assert z["image"].shape[:2] in ((72, 96), (96, 72)) and int(z["has_fg"]) == 1
        assert set(np.unique(z["trimap"]).tolist()) <= {0, 128, 255} and (z["trimap"] == 128).any()
        assert z["prior"].shape == z["alpha"].shape  # the cf prior solved on the photographed image


def test_composite_pool_with_pseudo_labelled_photos(tmp_path):
    from gan_matting.data.io import write_image
    from gan_matting.data.real_composites import pseudo_photos
    root = _alphamatting_like(tmp_path / "am")
    fur = tmp_path / "fur"
    for i in range(2):  # 80x96 photos with another model's mattes in a folder of their own name
        img, _, a = _scene(20 + i, 80, 96)
        write_image(fur / "input" / f"cat{i}.png", img)
        write_image(fur / "pred_alpha" / f"cat{i}.png", a)
    write_image(fur / "input" / "no_matte.png", img)  # skipped: no matte beside it
    pseudo = pseudo_photos(fur, "pred_alpha")
    assert [n for n, _, _ in pseudo] == ["cat0", "cat1"]
    plain = build_pool(root, ["GT00"], variants=1, seed=3, prior="cf", cache=tmp_path / "p", progress=False)
    mixed = build_pool(root, ["GT00"], variants=1, seed=3, prior="cf", cache=tmp_path / "p", progress=False,
                       pseudo=pseudo, pseudo_side=48, pseudo_trimaps=2)
    again = build_pool(root, ["GT00"], variants=1, seed=3, prior="cf", cache=tmp_path / "q", progress=False,
                       pseudo=pseudo, pseudo_side=48, pseudo_trimaps=2)
    assert len(mixed) == len(plain) + 4 and mixed[0].parent != plain[0].parent  # its own pool folder
    for p, q in zip(mixed[-4:], again[-4:]):
        z, y = np.load(p), np.load(q)
        assert all(np.array_equal(z[k], y[k]) for k in z.files)  # deterministic per seed
        assert z["image"].shape == (40, 48, 3) and z["alpha"].shape == (40, 48)  # long side scaled to 48
        assert int(z["has_fg"]) == 0 and z["prior"].shape == z["alpha"].shape
        tri = z["trimap"]
        assert set(np.unique(tri).tolist()) <= {0, 128, 255} and (tri == 128).any()
        a = z["alpha"]
        assert (a[tri == 255] >= 250).all() and (a[tri == 0] <= 5).all()  # the band covers the soft edge
    # the two trimaps of one photo differ (random real-user bands)
    assert not np.array_equal(np.load(mixed[-4])["trimap"], np.load(mixed[-3])["trimap"])
    with pytest.raises(GanMattingError, match="pseudo_root"):
        pseudo_photos(fur, "alpha")
    with pytest.raises(GanMattingError, match="pseudo_side"):
        load_config(None, ["data.source=synth", f"data.pseudo_root={fur}", "data.pseudo_side=8"])
    with pytest.raises(GanMattingError, match="pseudo_root.*validation"):  # the validation photos' own folder
        load_config(None, ["data.source=synth", f"data.val_root={root}", f"data.pseudo_root={root}/."])


def test_split_file_is_disjoint_and_published():
    split = read_split(str(REPO / "experiments" / "splits" / "alphamatting_dev.json"))
    assert len(split["validation"]) >= 6 and {"GT03", "GT08"} & set(split["validation"])
    assert not set(split["train"]) & set(split["validation"])


def test_split_overlap_is_refused(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps({"train": ["A", "B"], "validation": ["B"]}))
    with pytest.raises(GanMattingError, match="B in both"):
        read_split(str(bad))


TINY_RUN = ["model.generator.width=8", "model.generator.depth=3", "model.generator.max_width=16",
            "model.generator.prior=cf", "model.d_global.width=8", "model.d_global.n_layers=3",
            "model.d_global.size=32", "model.d_local.width=8", "model.d_local.n_layers=2", "model.d_local.crop=24",
            "data.source=composites", "data.variants=1", "data.crop=48", "data.batch_size=2",
            "train.ckpt_every=2", "train.log_every=1", "train.image_every=100", "train.val_every=2"]


def test_training_on_composites_with_a_prior_then_warm_start(tmp_path):
    root = _alphamatting_like(tmp_path / "am")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["GT00", "GT01"], "validation": ["GT02"]}))
    base = TINY_RUN + [f"data.root={root}", f"data.split={split}", f"train.out_dir={tmp_path}",
                       f"data.val_root={root}", "data.val_trimap=trimap1", "data.val_names=[GT02]"]
    logs = train(load_config(None, base + ["train.name=a", "train.steps=2"]), progress=False)
    assert np.isfinite(logs["g_loss"]) and "val_sad" in logs
    w = tmp_path / "a" / "generator_last.safetensors"
    G, md = load_generator(w)
    assert json.loads(md["generator"])["prior"] == "cf"
    # warm start: step 0 of a new run holds exactly the released weights
    from gan_matting.training.trainer import DistInfo, setup_model
    cfg = load_config(None, base + ["train.name=b", "train.steps=1", f"train.init_from={w}"])
    model, start = setup_model(cfg, DistInfo(), torch.device("cpu"), None)
    assert start == 0
    for (k, v), (_, v2) in zip(G.state_dict().items(), model.generator.state_dict().items()):
        assert torch.equal(v, v2), k
    wrong = load_config(None, base + ["train.name=c", "train.steps=1", f"train.init_from={w}",
                                      "model.generator.width=12"])
    with pytest.raises(GanMattingError, match="width: 8 .weights. vs 12 .config."):
        train(wrong, progress=False)


def test_infer_cli_with_a_prior_model_and_propagation(tmp_path):
    from gan_matting.cli import main
    from gan_matting.data.io import read_alpha, write_image, write_trimap
    from gan_matting.inference.predict import generator_predictor
    from gan_matting.models.weights import save_generator
    img, tri, a = _scene(4, 48, 56)
    write_image(tmp_path / "img.png", img)
    write_trimap(tmp_path / "tri.png", tri)
    G = build_network("unet", prior="cf", **TINY_G)
    w = save_generator(G, tmp_path / "g.safetensors", {"name": "unet", "prior": "cf", **TINY_G})
    for post, extra in (("none", []), ("propagate", []), ("propagate", ["--post-radius", "2"]),
                        ("propagate+lkm", ["--lkm-share", "0.5"])):
        out = tmp_path / (post + "".join(extra))
        assert main(["infer", str(tmp_path / "img.png"), "--trimap", str(tmp_path / "tri.png"),
                     "--weights", str(w), "--out", str(out), "--post", post, *extra]) == 0
        alpha = read_alpha(out / "alpha" / "img.png")
        assert (alpha[tri == 255] == 1).all() and (alpha[tri == 0] == 0).all()
        assert np.abs(alpha - a)[tri == 128].mean() < 0.1   # cf (untrained correction) is good on this scene
    with pytest.raises(GanMattingError, match="unknown post-process"):
        generator_predictor(G, post="blur")


def test_auto_post_process_is_propagate_lkm_on_photo_sizes_and_none_above(monkeypatch):
    import gan_matting.inference.predict as P
    img, tri, _ = _scene(5, 40, 48)
    G = build_network("unet", **TINY_G).eval()  # untrained, no prior: far from what the solves give
    run = {post: P.generator_predictor(G, post=post)(img, tri)[0] for post in ("auto", "none", "propagate+lkm")}
    assert np.array_equal(run["auto"], run["propagate+lkm"])
    assert np.abs(run["auto"] - run["none"])[tri == 128].max() > 1e-3
    monkeypatch.setattr(P, "AUTO_POST_MAX_PX", img.shape[0] * img.shape[1] - 1)  # one pixel too many
    assert np.array_equal(P.generator_predictor(G, post="auto")(img, tri)[0], run["none"])


def test_composite_settings_are_validated():
    with pytest.raises(GanMattingError, match="data.band_frac"):
        load_config(None, ["data.source=synth", "data.band_frac=[0.5, 0.2]"])
    with pytest.raises(GanMattingError, match="data.variants"):
        load_config(None, ["data.source=synth", "data.variants=-1"])
    with pytest.raises(GanMattingError, match="data.synth_hair"):
        load_config(None, ["data.source=synth", "data.synth_hair=-1"])
    with pytest.raises(GanMattingError, match="model.generator.prior"):
        load_config(None, ["data.source=synth", "model.generator.prior=magic"])
