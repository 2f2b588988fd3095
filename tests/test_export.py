"""Export: ONNX and TorchScript graphs give the eager generator's output on odd sizes, and
`infer --backend onnx` runs the export end to end."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_matting.cli import main
from gan_matting.data.io import read_alpha, write_image, write_trimap
from gan_matting.models.weights import RELEASED_REFINER, RELEASED_WEIGHTS, load_generator

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a core dependency (setup.cfg)")
pytest.importorskip("onnx", reason="onnx is a core dependency (setup.cfg)")

TOL = 2e-5  # float32 graphs, different kernels: measured max |diff| about 1e-6 on alpha and F


def _inputs(h, w, seed):
    rng = np.random.default_rng(seed)
    img = rng.random((h, w, 3)).astype(np.float32)
    tri = np.full((h, w), 128, np.uint8)
    tri[: h // 4] = 0
    tri[-h // 4:] = 255
    return img, tri


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    assert main(["export", "--weights", str(RELEASED_WEIGHTS), "--format", "onnx", "--out", str(d / "g.onnx"),
                 "--refiner", str(RELEASED_REFINER)]) == 0
    assert main(["export", "--weights", str(RELEASED_WEIGHTS), "--format", "torchscript", "--out", str(d / "g.pt")]) == 0
    return d


@pytest.mark.parametrize("h,w", [(45, 77), (64, 96), (101, 33)])
def test_onnx_and_torchscript_match_eager(exported, h, w):
    from gan_matting.export import GeneratorGraph, OnnxGenerator, pad_multiple
    from gan_matting.inference.predict import predict_image
    from gan_matting.models.unet import pad_to_multiple
    G, _ = load_generator(RELEASED_WEIGHTS)
    img, tri = _inputs(h, w, h * w)
    a_eager, f_eager = predict_image(G, img, tri, tile=4096)
    a_onnx, f_onnx = OnnxGenerator(exported / "g.onnx")(img, tri)
    assert a_onnx.shape == (h, w) and f_onnx.shape == (h, w, 3)
    assert np.abs(a_onnx - a_eager).max() < TOL and np.abs(f_onnx - f_eager).max() < TOL
    # TorchScript: the same graph contract (padded inputs), checked on the network outputs
    ts = torch.jit.load(str(exported / "g.pt"))
    from gan_matting.inference.predict import _prior
    from gan_matting.data.trimap_format import trimap_to_unit
    x = torch.from_numpy(img.transpose(2, 0, 1))[None]
    t = torch.from_numpy(trimap_to_unit(tri))[None, None]
    p = _prior(G, x, t)
    m = pad_multiple(G)
    with torch.no_grad():
        a_ts, f_ts = ts(*(pad_to_multiple(v, m) for v in (x, t, p)))
        a_ref, f_ref = GeneratorGraph(G)(x, t, p)
    assert (a_ts[..., :h, :w] - a_ref).abs().max() < TOL and (f_ts[..., :h, :w] - f_ref).abs().max() < TOL


def test_refiner_export_matches_eager(exported):
    from gan_matting.models.weights import load_refiner
    net = load_refiner(RELEASED_REFINER)[0]["refiner"]
    sess = ort.InferenceSession(str(exported / "g.refiner.onnx"), providers=["CPUExecutionProvider"])
    cells = torch.rand(3, net.in_channels, 40, 40)
    a, f = sess.run(["alpha", "fg"], {"cells": cells.numpy()})
    with torch.no_grad():
        ref = net(cells)
    assert a.shape == tuple(ref["alpha"].shape) and np.abs(a - ref["alpha"].numpy()).max() < TOL
    assert np.abs(f - ref["fg"].numpy()).max() < TOL


def test_infer_backend_onnx_writes_the_same_matte(exported, tmp_path, capsys):
    img, tri = _inputs(50, 70, 3)
    write_image(tmp_path / "x.png", img)
    write_trimap(tmp_path / "x_t.png", tri)
    base = ["infer", str(tmp_path / "x.png"), "--trimap", str(tmp_path / "x_t.png"), "--fg", "model"]
    assert main(base + ["--out", str(tmp_path / "t")]) == 0
    assert main(base + ["--backend", "onnx", "--weights", str(exported / "g.onnx"), "--out", str(tmp_path / "o")]) == 0
    a_t, a_o = read_alpha(tmp_path / "t" / "alpha" / "x.png"), read_alpha(tmp_path / "o" / "alpha" / "x.png")
    assert np.abs(a_t - a_o).max() <= 1 / 255 + 1e-6  # 8-bit files: at most one level apart
    capsys.readouterr()
    assert main(base + ["--backend", "onnx", "--out", str(tmp_path / "p")]) == 1
    assert "FILE.onnx" in capsys.readouterr().err
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    assert main(base + ["--backend", "onnx", "--weights", str(tmp_path / "bad.onnx"), "--out", str(tmp_path / "q")]) == 1
    assert "not a loadable ONNX model" in capsys.readouterr().err


def test_blend_prior_generator_exports_to_onnx(tmp_path):
    """A ``blend:cf+knn`` generator (u2net, weight logits moved off their equal start) runs the same
    under ONNX Runtime as eager, priors included."""
    from gan_matting.export import OnnxGenerator
    from gan_matting.inference.predict import predict_image
    from gan_matting.models import build_network
    from gan_matting.models.weights import save_generator
    torch.manual_seed(0)
    cfg = {"name": "u2net", "prior": "blend:cf+knn", "width": 8, "depth": 4, "max_width": 16}
    G = build_network(**cfg).eval()
    with torch.no_grad():
        G.head[-1].weight[-2:].normal_(0, 0.5)   # a gate that varies per pixel
        G.head[-1].weight[0].normal_(0, 0.05)
    w = save_generator(G, tmp_path / "g.safetensors", cfg)
    assert main(["export", "--weights", str(w), "--format", "onnx", "--out", str(tmp_path / "g.onnx")]) == 0
    img, tri = _inputs(41, 58, 5)
    a_eager, f_eager = predict_image(G, img, tri, tile=4096)
    a_onnx, f_onnx = OnnxGenerator(tmp_path / "g.onnx")(img, tri)
    assert np.abs(a_onnx - a_eager).max() < TOL and np.abs(f_onnx - f_eager).max() < TOL
    x = torch.from_numpy(img.transpose(2, 0, 1))[None]
    from gan_matting.data.trimap_format import trimap_to_unit
    from gan_matting.inference.predict import _prior
    t = torch.from_numpy(trimap_to_unit(tri))[None, None]
    with torch.no_grad():
        wts = G(x, t, _prior(G, x, t))["prior_weights"]
    assert wts.std() > 0.01   # the blend really varies, so the parity above covers it


def test_ensemble_averages_its_members_and_travels_as_one_file(tmp_path):
    """`gan-matting ensemble` writes one generator file whose output is the members' mean (prior solved
    once), that infer and ONNX export take like any other; members that disagree on the prior are refused."""
    from gan_matting import GanMattingError
    from gan_matting.data.trimap_format import trimap_to_unit
    from gan_matting.export import OnnxGenerator
    from gan_matting.inference.predict import _prior, predict_image
    from gan_matting.models import build_network
    from gan_matting.models.weights import load_generator, save_generator
    cfg = {"name": "u2net", "prior": "blend:cf+knn", "width": 8, "depth": 4, "max_width": 16}
    paths, members = [], []
    for seed in (0, 1):
        torch.manual_seed(seed)
        G = build_network(**cfg).eval()
        with torch.no_grad():
            G.head[-1].weight.normal_(0, 0.3)  # members that really differ
        members.append(G)
        paths.append(save_generator(G, tmp_path / f"s{seed}.safetensors", cfg))
    assert main(["ensemble", *map(str, paths), "--out", str(tmp_path / "e.safetensors")]) == 0
    E, md = load_generator(tmp_path / "e.safetensors")
    assert E.prior == "blend:cf+knn" and "s1.safetensors" in md["members"]
    img, tri = _inputs(41, 58, 5)
    x = torch.from_numpy(img.transpose(2, 0, 1))[None]
    t = torch.from_numpy(trimap_to_unit(tri))[None, None]
    with torch.no_grad():
        p = _prior(E, x, t)
        outs = [m(x, t, p) for m in members]
        e = E(x, t, p)
    assert torch.allclose(e["alpha"], (outs[0]["alpha"] + outs[1]["alpha"]) / 2, atol=1e-6)
    assert not torch.allclose(outs[0]["alpha"], outs[1]["alpha"], atol=1e-3)
    assert main(["export", "--weights", str(tmp_path / "e.safetensors"), "--format", "onnx", "--out", str(tmp_path / "e.onnx")]) == 0
    a_eager, _f = predict_image(E, img, tri, tile=4096)
    a_onnx, _f = OnnxGenerator(tmp_path / "e.onnx")(img, tri)
    assert np.abs(a_onnx - a_eager).max() < TOL
    cf_only = save_generator(build_network(**{**cfg, "prior": "cf"}), tmp_path / "cf.safetensors", {**cfg, "prior": "cf"})
    with pytest.raises(GanMattingError, match="share the prior"):
        build_network("ensemble", members=[cfg, {**cfg, "prior": "cf"}])
    assert main(["ensemble", str(paths[0]), str(cf_only), "--out", str(tmp_path / "bad.safetensors")]) == 1
