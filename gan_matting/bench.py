"""``gan-matting bench``: speed tables with the hardware, versions and date they were measured on.

    gan-matting bench metrics   # each exact metric on a 1920x1080 matte (median of --repeats)
    gan-matting bench synth     # procedural generator: images/s at 512^2 and 1024^2
    gan-matting bench train     # seconds per G+D step and images/s per configuration, peak memory
    gan-matting bench infer     # 1920x1080: cf + ML foreground vs quality / fast / naive modes; RSS up to 8K
    gan-matting bench cuda      # GPU: fast-mode FPS at HD / 4K (fp32, fp16), VRAM, 8K, tiled quality mode
    gan-matting bench all       # every table (cuda only where a GPU is present)

This machine's CPU speed drifts, so every table is measured in one run, side by side, and reports the
median of repeats; compare rows of one table, not numbers from different days.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np


def environment() -> Dict[str, str]:
    import torch
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu,
           "cores": str(os.cpu_count()), "torch threads": str(torch.get_num_threads()),
           "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        env["cuda"] = str(torch.version.cuda)
    for mod in ("kornia", "scipy", "numba"):
        try:
            env[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return env


def timeit(fn: Callable[[], object], repeats: int, warmup: int = 1) -> Tuple[float, List[float]]:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), ts


def _header(title: str) -> str:
    env = environment()
    lines = [f"## {title}", ""] + [f"- {k}: {v}" for k, v in env.items()] + ["", ""]
    return "\n".join(lines)


def bench_metrics(repeats: int, quick: bool) -> str:
    """Each exact metric next to the straightforward implementation (``metrics_reference``), timed
    interleaved in one run; the ratio is reference time / project time."""
    from . import metrics as M
    from . import metrics_reference as R
    from .data.synth import synth_sample
    h, w = (270, 480) if quick else (1080, 1920)
    s = synth_sample(0, 123, w, h)
    gt = np.round(s["alpha"] * 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    pred = np.clip(gt.astype(np.float64) + rng.normal(0, 12, gt.shape), 0, 255).astype(np.uint8)
    tri = s["trimap"]
    pm = np.round(M.mask_with_trimap(pred, tri) * 255).astype(np.uint8)
    pairs = [("SAD", M.sad, R.sad), ("MSE", M.mse, R.mse), ("Grad", M.gradient_error, R.gradient_error),
             ("Conn", M.connectivity_error, R.connectivity_error)]
    for _name, fast, ref in pairs:  # warm-up (numba compilation) and a parity check of this input
        a, b = fast(pm, gt, tri), ref(pm, gt, tri)
        if not np.isclose(a, b, rtol=1e-9, atol=1e-12):
            raise RuntimeError(f"{_name}: {a} differs from the reference {b}")
    times = {name: ([], []) for name, _, _ in pairs}
    for _ in range(repeats):
        for name, fast, ref in pairs:
            for fn, store in ((fast, times[name][0]), (ref, times[name][1])):
                t0 = time.perf_counter()
                fn(pm, gt, tri)
                store.append(time.perf_counter() - t0)
    rows = ["| metric | gan_matting median ms | straightforward median ms | speed-up |", "|---|---:|---:|---:|"]
    tot_f = tot_r = 0.0
    for name, (tf, tr) in times.items():
        mf, mr = statistics.median(tf), statistics.median(tr)
        tot_f, tot_r = tot_f + mf, tot_r + mr
        rows.append(f"| {name} | {mf * 1e3:.2f} | {mr * 1e3:.2f} | {mr / mf:.1f}x |")
    rows.append(f"| all four (sum of medians) | {tot_f * 1e3:.2f} | {tot_r * 1e3:.2f} | {tot_r / tot_f:.1f}x |")
    med, _ = timeit(lambda: M.f_measure(pm, gt), repeats)
    rows += ["", f"F-measure + PR curve (per image): {med:.4f} s median."]
    note = ("Straightforward = `gan_matting/metrics_reference.py`: 9x9 2-D filtering of the whole image and one "
            "full-image labelling per connectivity threshold, same exact conventions (parity checked on this input).")
    return (_header(f"exact DIM metrics on one {w}x{h} matte ({(tri == 128).mean():.0%} unknown), "
                    f"{repeats} interleaved repeats") + "\n".join(rows) + "\n\n" + note + "\n")


def bench_synth(repeats: int, quick: bool) -> str:
    from .data.synth import synth_sample
    from .data.synth.scene import SceneConfig, render_scene
    sizes = (256, 512) if quick else (512, 1024)
    synth_sample(0, 0, 64, 64)  # compile the numba kernels outside the timing
    rows = ["| size | what | median s/image | images/s |", "|---|---|---:|---:|"]
    for size in sizes:
        k = [0]

        def scene_only():
            k[0] += 1
            render_scene(size, size, np.random.default_rng([5, k[0]]), SceneConfig())

        def full():
            k[0] += 1
            synth_sample(k[0], 5, size, size)
        for name, fn in (("render (alpha, F, regions)", scene_only), ("full sample (+ background, composite, trimap)", full)):
            med, _ = timeit(fn, repeats, warmup=0)
            rows.append(f"| {size}x{size} | {name} | {med:.3f} | {1 / med:.2f} |")
    return _header(f"procedural generator, single process, {repeats} images per row (different seeds)") + "\n".join(rows) + "\n"


def _train_variants(config: str | None, quick: bool):
    """(label, Config) pairs to time side by side: the model with and without its discriminators,
    channels_last, and (on CUDA) bf16 and fp16 autocast."""
    import torch
    from .config import load_config
    base = ["data.source=synth", "train.deterministic=false"]
    if config is None:
        base += ["model.generator.width=16", "model.generator.depth=5", "model.generator.max_width=128",
                 "model.d_global.width=16", "model.d_local.width=16", "data.batch_size=4", "data.crop=160"]
    if quick:
        base += ["model.generator.width=8", "model.generator.depth=3", "data.crop=64", "data.batch_size=2"]
    out = [("G + global D + local D", load_config(config, base)),
           ("G only (lambda_adv 0)", load_config(config, base + ["loss.lambda_adv=0"])),
           ("G + Ds, channels_last", load_config(config, base + ["train.channels_last=true"]))]
    if torch.cuda.is_available():
        out.append(("G + Ds, bf16 autocast", load_config(config, base + ["train.amp=bf16", "train.channels_last=true"])))
        out.append(("G + Ds, fp16 autocast + GradScaler", load_config(config, base + ["train.amp=fp16", "train.channels_last=true"])))
    return out


def bench_train(repeats: int, quick: bool, config: str | None = None) -> str:
    """Seconds per optimisation step on a fixed random batch (no data loading), interleaved variants."""
    import resource
    import torch
    from .models import build_model, count_parameters
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    variants = _train_variants(config, quick)
    models, batches = [], []
    for _label, cfg in variants:
        torch.manual_seed(0)
        m = build_model(cfg, device)
        if cfg.train.channels_last:
            for n in m.networks.values():
                n.to(memory_format=torch.channels_last)
        b, s = cfg.data.batch_size, cfg.data.crop
        tri = torch.full((b, 1, s, s), 0.5)
        tri[..., : s // 4, :] = 0.0
        tri[..., -s // 4:, :] = 1.0
        batch = {"image": torch.rand(b, 3, s, s), "alpha": torch.rand(b, 1, s, s), "fg": torch.rand(b, 3, s, s),
                 "bg": torch.rand(b, 3, s, s), "trimap": tri, "has_fg": torch.ones(b)}
        m.set_input(batch)
        m.optimize_parameters(10 ** 6)  # warm-up (past any warm-up phase)
        models.append(m)
        batches.append(batch)
    times = [[] for _ in variants]
    for _ in range(repeats):  # interleave so that CPU speed drift hits every variant alike
        for i, m in enumerate(models):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            m.set_input(batches[i])
            m.optimize_parameters(10 ** 6)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[i].append(time.perf_counter() - t0)
    ref = statistics.median(times[0])
    rows = ["| variant | G params | D params | batch x crop | median s/step | images/s | ratio to first |",
            "|---|---:|---:|---|---:|---:|---:|"]
    for (label, cfg), m, ts in zip(variants, models, times):
        med = statistics.median(ts)
        gp = count_parameters(m.networks["G"])
        dp = sum(count_parameters(n) for k, n in m.networks.items() if k != "G")
        rows.append(f"| {label} | {gp:,} | {dp:,} | {cfg.data.batch_size} x {cfg.data.crop}^2 | {med:.4f} | "
                    f"{cfg.data.batch_size / med:.2f} | {med / ref:.2f} |")
    if device.type == "cuda":
        mem = f"peak CUDA memory allocated: {torch.cuda.max_memory_allocated() / 2 ** 20:.0f} MiB (all variants)"
    else:
        mem = f"peak process RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (all variants)"
    return (_header(f"training step (G + D updates), {device.type}, {repeats} interleaved repeats")
            + "\n".join(rows) + f"\n\n{mem}\n")


def bench_image(w: int, h: int, image: str | None = None, trimap: str | None = None):
    """(image (h, w, 3) float32, trimap (h, w) uint8, source): a photo + trimap resized to w x h when given,
    else a procedural hair portrait rendered at 1920x1080 and resized."""
    import torch
    import torch.nn.functional as F
    if image:
        from .data.io import read_rgb, read_trimap
        img, tri, src = read_rgb(image), read_trimap(trimap), f"{Path(image).name} resized"
    else:
        from .data.synth import synth_sample
        s = synth_sample(0, 123, 1920, 1080)
        img, tri, src = s["image"], s["trimap"], "procedural portrait (synth seed 123)"
    if img.shape[:2] != (h, w):
        x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None]
        img = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
        t = torch.from_numpy(tri.copy())[None, None].float()
        tri = F.interpolate(t, size=(h, w), mode="nearest")[0, 0].numpy().astype(np.uint8)
    return np.ascontiguousarray(img.clip(0, 1), dtype=np.float32), tri, src


PRIOR_SHARE_ROW = "fast with --prior-share 0 (no averaging with the cf prior; alpha + the generator's F)"
FAST_ROW = "fast (coarse {side} px, guided upsampling + refiner, budget {budget:.0%})"


def _fast_row(preds: dict):
    """The default fast mode's predictor (named by FAST_ROW; other rows start with "fast" too)."""
    return next(f for k, f in preds.items() if k.startswith("fast (coarse"))


def _infer_predictors(refiner: str | None, coarse_side: int = 0):
    """name -> numpy predictor, and a note on the refiner weights used."""
    from .inference.coarse_fine import CoarseToFine, load_pipeline, pipeline_predictor
    from .inference.predict import AUTO_POST, generator_predictor
    from .models.registry import build_network
    from .models.weights import FAST_WEIGHTS, RELEASED_REFINER, RELEASED_WEIGHTS, load_generator
    best, _ = load_generator(RELEASED_WEIGHTS)
    G, _ = load_generator(FAST_WEIGHTS)  # the fast mode's coarse generator (the refiner was trained behind it)
    path = Path(refiner) if refiner else RELEASED_REFINER
    if path.is_file():
        pipe, note = load_pipeline(G, path, coarse_side=coarse_side), f"refiner {path.name}"
    else:  # same cost as trained weights: the timing does not depend on the values
        pipe = CoarseToFine(G, build_network("patch_refiner"), build_network("coarse_error"), coarse_side=coarse_side or 320)
        note = "untrained refiner (no released refiner file; timing only)"
    no_average = CoarseToFine(G, pipe.refiner, pipe.error_head, coarse_side=pipe.coarse_side, patch=pipe.patch,
                          budget=pipe.budget, prior_share=0.0)  # `infer --mode fast --prior-share 0`
    guided = CoarseToFine(G, None, None, coarse_side=pipe.coarse_side)
    naive = CoarseToFine(G, None, None, coarse_side=pipe.coarse_side, upsample="bilinear")
    return {f"quality (default {RELEASED_WEIGHTS.stem}: full-resolution G + its priors + {AUTO_POST})":
            generator_predictor(best, post="auto"),
            FAST_ROW.format(side=pipe.coarse_side, budget=pipe.budget): pipeline_predictor(pipe),
            PRIOR_SHARE_ROW: pipeline_predictor(no_average),
            f"coarse {pipe.coarse_side} px + guided upsampling, no refiner": pipeline_predictor(guided),
            f"naive (coarse {pipe.coarse_side} px, bilinear upsampling)": pipeline_predictor(naive)}, note


def bench_infer(repeats: int, quick: bool, image: str | None = None, trimap: str | None = None,
                refiner: str | None = None, fast_only: bool = False) -> str:
    """Per-image seconds (alpha + F, no file IO, no prior cache) side by side with closed-form alpha +
    ML foreground, then peak RSS of the fast mode per resolution (fresh process each). ``fast_only``: the
    fast-mode rows and the cf + ML reference only (the quality rows pay full-resolution solves: minutes)."""
    saved = os.environ.get("GAN_MATTING_PRIOR_CACHE")
    os.environ["GAN_MATTING_PRIOR_CACHE"] = "0"  # every timed call solves its prior
    try:
        return _bench_infer(repeats, quick, image, trimap, refiner, fast_only)
    finally:
        if saved is None:
            os.environ.pop("GAN_MATTING_PRIOR_CACHE", None)
        else:
            os.environ["GAN_MATTING_PRIOR_CACHE"] = saved


def _bench_infer(repeats: int, quick: bool, image: str | None, trimap: str | None, refiner: str | None,
                 fast_only: bool = False) -> str:
    import subprocess
    import sys
    import torch
    from .baselines import run_baseline
    w, h = (640, 360) if quick else (1920, 1080)
    img, tri, src = bench_image(w, h, image, trimap)
    preds, note = _infer_predictors(refiner)
    fns = {"closed-form alpha + ML foreground (pymatting)": lambda: run_baseline("cf", img, tri, with_foreground=True)}
    fns.update({k: (lambda f=f: f(img, tri)) for k, f in preds.items() if not (fast_only and k.startswith("quality"))})
    from .baselines import ml_foreground
    fast = _fast_row(preds)
    fns["fast + ML foreground from its alpha (--fg ml)"] = lambda: ml_foreground(img, fast(img, tri)[0])
    from .foreground import estimate_foreground
    fns["fast + blur-fusion foreground from its alpha (--fg blur, the fast mode's default)"] = lambda: estimate_foreground(img, fast(img, tri)[0], "blur")
    fns["fast --prior-share 0 + blur-fusion foreground"] = lambda: estimate_foreground(img, preds[PRIOR_SHARE_ROW](img, tri)[0], "blur")
    net_rows = ["(not run: --fast-only)"]
    if not fast_only:
        import tempfile
        from .export import OnnxGenerator, export_generator
        from .models.weights import RELEASED_WEIGHTS
        with tempfile.TemporaryDirectory() as tmp:  # the session holds the graph in memory once loaded
            onnx_g = OnnxGenerator(export_generator(RELEASED_WEIGHTS, "onnx", Path(tmp) / "g.onnx"))
        fns["quality under ONNX Runtime (--backend onnx: exported G + its priors)"] = lambda: onnx_g(img, tri)
        net_rows = _bench_network_backends(img, tri, onnx_g, repeats)
    with torch.no_grad():
        for fn in fns.values():
            fn()  # warm-up: numba compilation, first allocations
        times = {k: [] for k in fns}
        for _ in range(repeats):  # interleaved, so CPU speed drift hits every row alike
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    ref = statistics.median(times[next(iter(fns))])
    rows = ["| method | median s/image | min s | ratio to cf + ML |", "|---|---:|---:|---:|"]
    for k, ts in times.items():
        med = statistics.median(ts)
        rows.append(f"| {k} | {med:.3f} | {min(ts):.3f} | {med / ref:.3f} |")
    sizes = [(640, 360), (1280, 720)] if quick else [(1920, 1080), (3840, 2160), (7680, 4320)]
    mem = ["| size | fast mode s | peak RSS MiB |", "|---|---:|---:|"]
    for sw, sh in sizes:
        code = (f"import sys; from gan_matting.bench import _fast_once; "
                f"_fast_once({sw}, {sh}, {image!r}, {trimap!r}, {refiner!r})")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "GAN_MATTING_PRIOR_CACHE": "0"})
        if res.returncode != 0:
            mem.append(f"| {sw}x{sh} | failed: {res.stderr.strip().splitlines()[-1][:80] if res.stderr.strip() else res.returncode} | |")
            continue
        secs, rss = res.stdout.strip().splitlines()[-1].split()
        mem.append(f"| {sw}x{sh} | {float(secs):.2f} | {float(rss):.0f} |")
    return (_header(f"inference on one {w}x{h} image ({src}, {(tri == 128).mean():.1%} unknown), alpha + F, "
                    f"{repeats} interleaved repeats; {note}") + "\n".join(rows)
            + "\n\nFast mode per size (a fresh process each: one warm-up call, then the timed call; peak RSS of the"
            " process, interpreter and torch included):\n\n"
            + "\n".join(mem) + "\n\nThe generator network alone at full size (its cf prior computed once, outside the timing),"
            " same run:\n\n" + "\n".join(net_rows) + "\n")


def _bench_network_backends(img: np.ndarray, tri: np.ndarray, onnx_g, repeats: int) -> List[str]:
    """Seconds per forward of the released generator: torch eager vs ONNX Runtime, same padded inputs."""
    import torch
    from .data.trimap_format import trimap_to_unit
    from .export import GeneratorGraph, pad_multiple
    from .inference.predict import _prior
    from .models.unet import pad_to_multiple
    from .models.weights import RELEASED_WEIGHTS, load_generator
    G, _ = load_generator(RELEASED_WEIGHTS)
    graph = GeneratorGraph(G)
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()
    t = torch.from_numpy(trimap_to_unit(tri))[None, None].float()
    m = pad_multiple(G)
    ins = [pad_to_multiple(v, m) for v in (x, t, _prior(G, x, t))]
    feeds = {n: v.numpy() for n, v in zip(onnx_g.inputs, ins)}
    fns = {"torch eager": lambda: graph(*ins), "ONNX Runtime (CPU provider)": lambda: onnx_g.session.run(None, feeds)}
    times = {k: [] for k in fns}
    with torch.no_grad():
        for fn in fns.values():
            fn()
        for _ in range(repeats):
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    ref = statistics.median(times["torch eager"])
    rows = ["| backend | median s/forward | ratio to torch |", "|---|---:|---:|"]
    for k, ts in times.items():
        rows.append(f"| {k} | {statistics.median(ts):.3f} | {statistics.median(ts) / ref:.2f} |")
    return rows


def _fast_once(w: int, h: int, image, trimap, refiner) -> None:
    """One fast-mode prediction at w x h in this process; prints 'seconds peak_rss_mib'."""
    import resource
    import torch
    img, tri, _src = bench_image(w, h, image, trimap)
    preds, _ = _infer_predictors(refiner)
    fast = _fast_row(preds)
    with torch.no_grad():
        fast(img, tri)  # warm-up: imports, numba kernels of the prior, first allocations
        t0 = time.perf_counter()
        fast(img, tri)
        secs = time.perf_counter() - t0
    print(secs, _peak_rss_mib(resource))


def _peak_rss_mib(resource) -> float:
    """This process's peak RSS. Linux's VmHWM belongs to the process's own memory map; ru_maxrss does not
    (it keeps the peak of the forked parent across exec, so a child of a big process reports the parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _gpu_ms(fn: Callable[[], object], n: int, device) -> List[float]:
    """Milliseconds per call of fn, each call fenced by device synchronisation (kernels are asynchronous)."""
    import torch
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    ts = []
    for _ in range(n):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(1000 * (time.perf_counter() - t0))
    return ts


def _peak_mib(fn: Callable[[], object], device) -> float:
    """Peak CUDA memory PyTorch reserved during one call of fn, in MiB: the inputs, weights and a CUDA
    graph's private pool already resident count; the CUDA context itself (a few hundred MiB) does not."""
    import torch
    if device.type != "cuda":
        return float("nan")
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_reserved(device) / 2 ** 20


def _graph_row(pipe, x, t, frames: int, dev, prefix: str, fps: bool = True) -> str:
    """The rest of a table row for ``pipe`` captured as a CUDA graph (or why capture failed)."""
    import torch
    from .inference.coarse_fine import CudaGraphPipeline
    try:
        torch.cuda.empty_cache()
        gp = CudaGraphPipeline(pipe, tuple(x.shape), t is not None, dev)
        ms = statistics.median(_gpu_ms(lambda: gp(x, t), frames, dev))
        peak = _peak_mib(lambda: gp(x, t), dev)
    except Exception as exc:  # a table row that says why, rather than no table
        return prefix + f" capture failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]} |" + (" | | |" if fps else " |")
    finally:
        gp = None
        torch.cuda.empty_cache()
    if fps:
        return prefix + f" {ms:.2f} | {1000 / ms:.1f} | - | {peak:.0f} |"
    return prefix + f" {ms:.1f} | {peak:.0f} |"


def bench_cuda(repeats: int, quick: bool, device: str = "cuda") -> str:
    """GPU inference, batch 1, frames already on the device (as a video pipeline keeps them): per-frame
    milliseconds (median of ``20 * repeats`` frames), FPS and peak VRAM of the fast mode (coarse pass +
    guided upsampling + patch refiner) in fp32 and fp16 at HD and 4K, eager and replayed as one CUDA
    graph (prior-free G); the same end to end (numpy in and out, as ``infer`` calls it); fast mode at 8K;
    the quality mode (full-resolution generator) in tiles with the peak VRAM per tile size; closed-form
    alpha + ML foreground on this machine's CPU for scale.
    ``device="cpu"`` runs the same code at fp32 for a smoke test."""
    import torch
    from . import GanMattingError
    from .baselines import run_baseline
    from .inference.coarse_fine import load_pipeline, pipeline_predictor
    from .inference.predict import _prior, predict_tensor
    from .inference.tiles import predict_with_fallback
    from .data.trimap_format import trimap_to_unit
    from .models.weights import (CHECKPOINTS, FAST_WEIGHTS, PRIOR_FREE_REFINER, RELEASED_REFINER, default_refiner,
                                 load_generator)
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanMattingError("bench cuda: no CUDA device visible to torch (torch.cuda.is_available() is False)")
    precisions = ["fp32", "fp16"] if dev.type == "cuda" else ["fp32"]
    sizes = [(320, 180), (640, 360)] if quick else [(1920, 1080), (3840, 2160)]
    big = (960, 540) if quick else (7680, 4320)
    n = (3 if quick else 20) * repeats
    light = CHECKPOINTS / "gan_matting_cpu_light.safetensors"
    gens = {f"prior-free G ({light.name})": (light, n),
            f"cf-prior G ({FAST_WEIGHTS.name}, the fast mode's default; cf solved on the CPU at the coarse size)":
                (FAST_WEIGHTS, max(3, repeats))}

    rendered: Dict[Tuple[int, int], tuple] = {}

    def frame(w, h, dtype):
        if (w, h) not in rendered:  # the procedural portrait takes seconds to render: once per size
            rendered[(w, h)] = bench_image(w, h)[:2]
        img, tri = rendered[(w, h)]
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].to(dev, dtype)
        t = torch.from_numpy(trimap_to_unit(tri))[None, None].to(dev, dtype)
        return img, tri, x, t

    rows = ["| generator | precision | size | median ms/frame | FPS | end to end ms (numpy in/out) | peak VRAM MiB |",
            "|---|---|---|---:|---:|---:|---:|"]
    with torch.no_grad():
        for gname, (path, frames) in gens.items():
            for prec in precisions:
                dtype = torch.float16 if prec == "fp16" else torch.float32
                G, _ = load_generator(path, dev)
                pipe = load_pipeline(G.to(dtype), default_refiner(G), dev)
                e2e = pipeline_predictor(pipe, dev)
                for w, h in sizes:
                    img, tri, x, t = frame(w, h, dtype)
                    for _ in range(3):  # warm-up: cuDNN algorithm choice, allocator, numba kernels
                        pipe(x, t)
                    ms = statistics.median(_gpu_ms(lambda: pipe(x, t), frames, dev))
                    ms_e2e = statistics.median(_gpu_ms(lambda: e2e(img, tri), max(3, frames // 4), dev))
                    peak = _peak_mib(lambda: pipe(x, t), dev)
                    rows.append(f"| {gname} | {prec} | {w}x{h} | {ms:.2f} | {1000 / ms:.1f} | {ms_e2e:.1f} | {peak:.0f} |")
                    if dev.type == "cuda" and not getattr(G, "prior", ""):
                        rows.append(_graph_row(pipe, x, t, frames, dev, f"| {gname} | {prec} + CUDA graph | {w}x{h} |"))
                        pipe.fg_method = "blur"  # alpha + a usable F: blur-fusion F from the refined alpha, in the graph
                        rows.append(_graph_row(pipe, x, t, frames, dev,
                                               f"| {gname} | {prec} + CUDA graph + blur-fusion F | {w}x{h} |"))
                        pipe.fg_method = "model"
        # the largest frame and the quality mode, prior-free G in the lowest precision measured
        dtype = torch.float16 if "fp16" in precisions else torch.float32
        prec = precisions[-1]
        G, _ = load_generator(light, dev)
        G.to(dtype)
        pipe = load_pipeline(G, default_refiner(G), dev)
        big_rows = ["| mode | precision | size | tile px | median ms | peak VRAM MiB |", "|---|---|---|---:|---:|---:|"]
        img, tri, x, t = frame(*big, dtype)
        pipe(x, t)
        ms = statistics.median(_gpu_ms(lambda: pipe(x, t), max(3, repeats), dev))
        big_rows.append(f"| fast (coarse + refine) | {prec} | {big[0]}x{big[1]} | - | {ms:.1f} | {_peak_mib(lambda: pipe(x, t), dev):.0f} |")
        if dev.type == "cuda":
            big_rows.append(_graph_row(pipe, x, t, max(3, repeats), dev, f"| fast (coarse + refine) | {prec} + CUDA graph | "
                                       f"{big[0]}x{big[1]} | - |", fps=False))

        def full(xx, tt):
            out = predict_tensor(G, xx, tt, _prior(G, xx, tt))
            return {"alpha": out["alpha"], "fg": out["fg"]}
        for w, h in [sizes[-1], big]:
            img, tri, x, t = frame(w, h, dtype)
            for tile in ([256, 512] if quick else [512, 1024, 2048]):
                run = lambda: predict_with_fallback(full, x, t, tile)  # noqa: E731
                run()
                ms = statistics.median(_gpu_ms(run, max(2, repeats // 2), dev))
                big_rows.append(f"| quality (full-resolution G, Hann tiles) | {prec} | {w}x{h} | {tile} | {ms:.1f} | {_peak_mib(run, dev):.0f} |")
    w, h = sizes[0]
    img, tri, _x, _t = frame(w, h, torch.float32)
    del _x, _t
    t0 = time.perf_counter()
    run_baseline("cf", img, tri, with_foreground=True)
    cf_s = time.perf_counter() - t0
    return (_header(f"{dev.type.upper()} inference, batch 1, frames on the device; {n} timed frames per row "
                    f"(prior-free G), {max(3, repeats)} (cf-prior G); procedural portrait, refiners "
                    f"{RELEASED_REFINER.name} behind the cf-prior G and {PRIOR_FREE_REFINER.name} behind the "
                    f"prior-free G (trained behind the cf-prior G: for the prior-free G it is timed, not tuned)")
            + "\n".join(rows)
            + "\n\nThe largest frame, and the quality mode in tiles (prior-free G):\n\n" + "\n".join(big_rows)
            + f"\n\nFor scale: pymatting closed-form alpha + ML foreground on this machine's CPU, {w}x{h}, one run: "
              f"{cf_s:.2f} s.\n")


BENCHES = {"metrics": bench_metrics, "synth": bench_synth, "train": bench_train, "infer": bench_infer,
           "cuda": bench_cuda}


def run_bench(what: str, out: Path, repeats: int = 5, quick: bool = False, config: str | None = None,
              image: str | None = None, trimap: str | None = None, refiner: str | None = None,
              fast_only: bool = False) -> int:
    import torch
    names = [k for k in BENCHES if k != "cuda" or torch.cuda.is_available()] if what == "all" else [what]
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name == "train":
            text = bench_train(repeats, quick, config)
        elif name == "infer":
            text = bench_infer(repeats, quick, image, trimap, refiner, fast_only)
        else:
            text = BENCHES[name](repeats, quick)
        print(text)
        path = out / f"bench_{name}.md"
        path.write_text(text)
        print(f"wrote {path}\n")
    return 0
