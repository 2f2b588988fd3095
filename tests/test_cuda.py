"""CUDA: the same mattes as on the CPU, fp16 close to fp32, a real training step, a real out-of-memory
fallback, the CLI and the GPU bench. Skipped without a GPU (CI has none): on a GPU machine run
``pytest -m cuda``. Comparisons with the CPU switch TF32 off, so that both sides compute in fp32."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_matting.cli import main
from gan_matting.config import load_config
from gan_matting.data.synth import synth_sample
from gan_matting.data.trimap_format import trimap_to_unit
from gan_matting.inference.coarse_fine import load_pipeline
from gan_matting.inference.predict import predict_tensor
from gan_matting.inference.tiles import predict_with_fallback, tiled_predict
from gan_matting.models import build_model
from gan_matting.models.weights import CHECKPOINTS, default_refiner, load_generator

from .conftest import away_from_seams, save, toy_batch

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CUDA = torch.device("cuda")
LIGHT = CHECKPOINTS / "gan_matting_cpu_light.safetensors"  # prior-free: no CPU solve inside the GPU pipeline


@pytest.fixture
def fp32_exact():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _portrait(w: int = 384, h: int = 256):
    s = synth_sample(0, 7, w, h)
    x = torch.from_numpy(np.ascontiguousarray(s["image"].transpose(2, 0, 1)))[None].float()
    t = torch.from_numpy(trimap_to_unit(s["trimap"]))[None, None]
    return s, x, t


def _pipe(device, half: bool = False):
    G, _ = load_generator(LIGHT, device)
    return load_pipeline(G.half() if half else G, default_refiner(G), device)


def test_fast_mode_on_cuda_matches_cpu(fp32_exact):
    _s, x, t = _portrait()
    cpu = _pipe("cpu")(x, t)
    gpu = _pipe(CUDA)(x.to(CUDA), t.to(CUDA))
    same = {tuple(c) for c in cpu["cells"].tolist()} & {tuple(c) for c in gpu["cells"].tolist()}
    assert len(cpu["cells"]) > 0 and len(same) >= 0.98 * len(cpu["cells"])
    diff = (gpu["alpha"].cpu() - cpu["alpha"]).abs()
    assert diff.mean() < 1e-4 and torch.quantile(diff.flatten(), 0.999) < 1e-2, (diff.mean(), diff.max())


def test_fp16_fast_mode_is_close_to_fp32():
    s, x, t = _portrait()
    x, t = x.to(CUDA), t.to(CUDA)
    a32 = _pipe(CUDA)(x, t)["alpha"].float()
    out16 = _pipe(CUDA, half=True)(x, t)
    a16 = out16["alpha"]
    assert a16.dtype == torch.float16 and torch.isfinite(a16).all()
    a16 = a16.float()
    assert (a16 - a32).abs().mean() < 5e-3
    gt = torch.from_numpy(s["alpha"]).to(CUDA)
    sad32, sad16 = float((a32[0, 0] - gt).abs().sum()), float((a16[0, 0] - gt).abs().sum())
    assert abs(sad16 - sad32) < 0.03 * sad32, (sad16, sad32)


def test_tiled_equals_untiled_away_from_seams_on_cuda(fp32_exact):
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.Tanh(),
                               torch.nn.Conv2d(8, 4, 3, padding=1)).to(CUDA)

    def fn(x, t):
        y = conv(torch.cat([x, t], 1))
        return {"alpha": y[:, :1], "fg": y[:, 1:]}
    x, t = torch.rand(1, 3, 150, 203, device=CUDA), torch.rand(1, 1, 150, 203, device=CUDA)
    with torch.no_grad():
        full, tiled = fn(x, t), tiled_predict(fn, x, t, tile=64, overlap=16)
    err = (tiled["alpha"] - full["alpha"]).abs()[0, 0].cpu()
    far = away_from_seams(150, 203, tile=64, overlap=16, reach=2)  # the receptive field: 2 px
    assert err[far].max() < 1e-5 and err.max() < 0.2


def test_real_cuda_out_of_memory_falls_back_to_smaller_tiles(capsys):
    """A real out-of-memory, not a simulated error: the GPU is filled with a ballast tensor, leaving room for
    the blending buffers and a few 256 px tiles' activations, far from enough for the untiled 1024 px pass."""
    import re
    G, _ = load_generator(LIGHT, CUDA)

    def fn(xx, tt):
        out = predict_tensor(G, xx, tt)
        return {"alpha": out["alpha"], "fg": out["fg"]}
    x, t = torch.rand(1, 3, 1024, 1024, device=CUDA), torch.full((1, 1, 1024, 1024), 0.5, device=CUDA)
    with torch.no_grad():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn(x[..., :256, :256], t[..., :256, :256])
        act_256 = torch.cuda.max_memory_allocated() - base
        torch.cuda.reset_peak_memory_stats()
        fn(x, t)
        act_1024 = torch.cuda.max_memory_allocated() - base
        room = 5 * 4 * 1024 * 1024 + 4 * act_256 + 64 * 2 ** 20  # float32 blend buffers + tiles + slack
        assert act_1024 > room, (act_1024, room)  # else the test could not provoke the error
        torch.cuda.empty_cache()
        ballast = torch.empty(torch.cuda.mem_get_info()[0] - room, dtype=torch.uint8, device=CUDA)
        try:
            out = predict_with_fallback(fn, x, t, tile=1024)
        finally:
            del ballast
            torch.cuda.empty_cache()
        msg = capsys.readouterr().out
        assert "out of memory: retrying with 512 px tiles" in msg, msg
        final = int(re.findall(r"retrying with (\d+) px tiles", msg)[-1])
        reference = tiled_predict(fn, x, t, tile=final)
    assert out["alpha"].shape == (1, 1, 1024, 1024) and torch.isfinite(out["alpha"]).all()
    assert (out["alpha"] - reference["alpha"]).abs().max() < 1e-3


def test_cuda_graph_replays_equal_eager_runs():
    from gan_matting.inference.coarse_fine import CudaGraphPipeline
    pipe = _pipe(CUDA, half=True)
    frames = [_portrait()[1:], _portrait(384, 256)[1:]]
    frames[1] = (frames[1][0].flip(-1), frames[1][1].flip(-1))  # a second, different frame of the same size
    graphed = CudaGraphPipeline(pipe, (1, 3, 256, 384), with_trimap=True, device=CUDA)
    for x, t in frames:
        x, t = x.to(CUDA), t.to(CUDA)
        eager = pipe.run_static(x, t)
        replay = graphed(x, t)
        assert torch.equal(replay["cells"], eager["cells"]) and torch.equal(replay["valid"], eager["valid"])
        assert (replay["alpha"].float() - eager["alpha"].float()).abs().max() < 1e-3
    with pytest.raises(ValueError, match="captured for input"):
        graphed(torch.zeros(1, 3, 128, 128, device=CUDA), None)


def _tiny_model():
    args = ["data.source=synth", "model.generator.width=8", "model.generator.depth=3", "model.generator.max_width=32",
            "model.d_global.width=8", "model.d_global.n_layers=3", "model.d_global.size=32",
            "model.d_local.width=8", "model.d_local.n_layers=2", "model.d_local.crop=24", "data.crop=48",
            "optim.lr_g=2e-3", "optim.scheduler=constant", "train.device=cuda"]
    return build_model(load_config(None, args), CUDA)


def test_training_steps_on_cuda_reach_every_network_and_lower_the_loss():
    torch.manual_seed(0)
    m = _tiny_model()
    m.set_input(toy_batch())
    assert all(p.is_cuda for net in m.networks.values() for p in net.parameters())
    before = {k: [p.detach().clone() for p in net.parameters()] for k, net in m.networks.items()}
    first = m.optimize_parameters(0)["g_alpha_unknown"]
    for s in range(1, 25):
        last = m.optimize_parameters(s)["g_alpha_unknown"]
    moved = {k: any(not torch.equal(a, b) for a, b in zip(before[k], net.parameters())) for k, net in m.networks.items()}
    assert moved == {"G": True, "d_global": True, "d_local": True}, moved
    assert last < 0.7 * first


@pytest.mark.parametrize("mode", ["fast", "quality"])
def test_infer_cli_fp16_on_cuda_agrees_with_cpu(tmp_path, mode):
    from PIL import Image
    s = synth_sample(1, 3, 320, 240)
    img, tri = save(tmp_path / "p.png", s["image"]), save(tmp_path / "t.png", s["trimap"])
    outs = {}
    for dev, prec in [("cpu", "fp32"), ("cuda", "fp16")]:
        rc = main(["infer", str(img), "--trimap", str(tri), "--weights", str(LIGHT), "--out", str(tmp_path / dev),
                   "--device", dev, "--precision", prec, "--mode", mode, "--fg", "model"])
        assert rc == 0
        outs[dev] = np.asarray(Image.open(tmp_path / dev / "alpha" / "p.png"), np.float32) / 255
    assert outs["cpu"].shape == (240, 320)
    assert np.abs(outs["cuda"] - outs["cpu"]).mean() < 0.01


def test_bench_cuda_writes_fps_and_vram(tmp_path):
    from gan_matting.bench import run_bench
    assert run_bench("cuda", tmp_path, repeats=1, quick=True) == 0
    text = (tmp_path / "bench_cuda.md").read_text()
    assert "| fp16 |" in text and "gpu:" in text
    vram = [float(r.split("|")[-2]) for r in text.splitlines() if r.startswith("| prior-free")]
    assert vram and all(0 < v < 2048 for v in vram), vram


def test_blur_fusion_on_cuda_matches_cpu_and_runs_inside_the_graph():
    from gan_matting.foreground import blur_fusion
    from gan_matting.inference.coarse_fine import CudaGraphPipeline
    _s, x, t = _portrait()
    a = torch.rand(1, 1, 256, 384)
    assert (blur_fusion(x.to(CUDA), a.to(CUDA)).cpu() - blur_fusion(x, a)).abs().max() < 1e-4
    pipe = _pipe(CUDA, half=True)
    pipe.fg_method = "blur"
    x, t = x.to(CUDA), t.to(CUDA)
    eager = pipe.run_static(x, t)
    graphed = CudaGraphPipeline(pipe, tuple(x.shape), with_trimap=True, device=CUDA)(x, t)
    # the pipeline computes F in fp32 from its own fp16 copy of the image, then stores it in fp16
    want = blur_fusion(x.half().float(), eager["alpha"].float())
    assert (eager["fg"].float() - want).abs().max() < 2e-3
    assert (graphed["fg"].float() - eager["fg"].float()).abs().max() < 1e-3

