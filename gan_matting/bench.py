"""``gan-matting bench``: speed tables with the hardware, versions and date they were measured on.

    gan-matting bench metrics   # each exact metric on a 1920x1080 matte (median of --repeats)
    gan-matting bench synth     # procedural generator: images/s at 512^2 and 1024^2
    gan-matting bench train     # seconds per G+D step and images/s per configuration, peak memory
    gan-matting bench all

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
    lines = [f"## {title}", ""] + [f"- {k}: {v}" for k, v in env.items()] + [""]
    return "\n".join(lines)


def bench_metrics(repeats: int, quick: bool) -> str:
    from . import metrics as M
    from .data.synth import synth_sample
    h, w = (270, 480) if quick else (1080, 1920)
    s = synth_sample(0, 123, w, h)
    gt = np.round(s["alpha"] * 255).astype(np.uint8)
    rng = np.random.default_rng(0)
    pred = np.clip(gt.astype(np.float64) + rng.normal(0, 12, gt.shape), 0, 255).astype(np.uint8)
    tri = s["trimap"]
    pm = np.round(M.mask_with_trimap(pred, tri) * 255).astype(np.uint8)
    rows = ["| metric | median s | min s | max s |", "|---|---:|---:|---:|"]
    for name, fn in [("SAD", lambda: M.sad(pm, gt, tri)), ("MSE", lambda: M.mse(pm, gt, tri)),
                     ("Grad", lambda: M.gradient_error(pm, gt, tri)),
                     ("Conn", lambda: M.connectivity_error(pm, gt, tri)),
                     ("F-measure + PR curve", lambda: M.f_measure(pm, gt)),
                     ("all matting metrics", lambda: M.matting_metrics(pred, gt, tri))]:
        med, ts = timeit(fn, repeats)
        rows.append(f"| {name} | {med:.4f} | {min(ts):.4f} | {max(ts):.4f} |")
    return _header(f"metrics on one {w}x{h} matte ({(tri == 128).mean():.0%} unknown), {repeats} repeats") + "\n".join(rows) + "\n"


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
    channels_last, and (on CUDA) bf16 autocast."""
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
        rows.append(f"| {label} | {gp:,} | {dp:,} | {cfg.data.batch_size} x {cfg.data.crop}^2 | {med:.3f} | "
                    f"{cfg.data.batch_size / med:.2f} | {med / ref:.2f} |")
    if device.type == "cuda":
        mem = f"peak CUDA memory allocated: {torch.cuda.max_memory_allocated() / 2 ** 20:.0f} MiB (all variants)"
    else:
        mem = f"peak process RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (all variants)"
    return (_header(f"training step (G + D updates), {device.type}, {repeats} interleaved repeats")
            + "\n".join(rows) + f"\n\n{mem}\n")


BENCHES = {"metrics": bench_metrics, "synth": bench_synth, "train": bench_train}


def run_bench(what: str, out: Path, repeats: int = 5, quick: bool = False, config: str | None = None) -> int:
    names = list(BENCHES) if what == "all" else [what]
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        text = bench_train(repeats, quick, config) if name == "train" else BENCHES[name](repeats, quick)
        print(text)
        path = out / f"bench_{name}.md"
        path.write_text(text)
        print(f"wrote {path}\n")
    return 0
