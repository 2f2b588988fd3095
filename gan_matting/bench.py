"""``gan-matting bench``: speed tables with the hardware, versions and date they were measured on.

    gan-matting bench metrics   # each exact metric on a 1920x1080 matte (median of --repeats)
    gan-matting bench synth     # procedural generator: images/s at 512^2 and 1024^2
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


BENCHES = {"metrics": bench_metrics, "synth": bench_synth}


def run_bench(what: str, out: Path, repeats: int = 5, quick: bool = False) -> int:
    names = list(BENCHES) if what == "all" else [what]
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        text = BENCHES[name](repeats, quick)
        print(text)
        path = out / f"bench_{name}.md"
        path.write_text(text)
        print(f"wrote {path}\n")
    return 0
