"""Regenerate README's tables and figures from scratch, one target or all, each stamped with the command,
commit, versions, hardware and date.

    bash experiments/reproduce.sh all             # or: make reproduce
    bash experiments/reproduce.sh variants sod    # some targets
    bash experiments/reproduce.sh --list          # what each target makes
    bash experiments/reproduce.sh --tiny bench variants   # seconds-long versions (CI tests the driver this way)

Each target runs its scripts (trainings resume where a previous call stopped, so re-running the same
command continues a long job) and then writes runs/reproduce/TARGET.md: the stamp, then every table file
the target produced. Figures go to docs/ as the README shows them. Targets that need ../shared/data say
so and are skipped (exit 0 with a message) when it is absent.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED", REPO.parent / "shared" / "data"))
GM = os.environ.get("GM", str(REPO / ".venv" / "bin" / "gan-matting"))
PY = os.environ.get("PY", str(REPO / ".venv" / "bin" / "python"))


@dataclass
class Target:
    about: str
    commands: List[str]
    tables: List[str]                       # files (globs) under the repo whose text goes into the stamp file
    figures: List[str] = field(default_factory=list)
    needs_shared: bool = True
    tiny: List[str] = field(default_factory=list)        # seconds-long commands for --tiny (empty: no tiny form)
    tiny_tables: List[str] = field(default_factory=list)


TARGETS: Dict[str, Target] = {
    "baselines": Target("pymatting cf/knn/lkm on all 19 alphamatting_dev images (Measured figures)",
                        ["bash experiments/baselines_alphamatting_dev.sh"], ["runs/baselines/*/metrics.md"]),
    "cpu_light": Target("the light CPU model (synthetic data only): training, its lambda_adv = 0 ablation, "
                        "alphamatting_dev and hair-bench rows (Measured figures; after baselines)",
                        ["[ -f runs/data/synth_train/meta.json ] || {gm} synth --preset train --n 160 --out runs/data/synth_train --workers 2",
                         "[ -f runs/data/synth_val/meta.json ] || {gm} synth --preset val --out runs/data/synth_val",
                         "for c in cpu_light cpu_light_noadv; do r=runs/$c; {gm} train --config experiments/$c.yaml --no-progress "
                         "$([ -d $r/checkpoints ] && echo --resume $r/checkpoints); done",
                         "mkdir -p runs/eval && for c in cpu_light cpu_light_noadv; do bash experiments/eval_model_alphamatting_dev.sh "
                         "runs/$c/generator_best.safetensors $c > runs/eval/${{c}}_dev.md; done",
                         "bash experiments/eval_model_hair_bench.sh runs/cpu_light/generator_best.safetensors cpu_light"],
                        ["runs/eval/cpu_light_dev.md", "runs/eval/cpu_light_noadv_dev.md",
                         "runs/eval/cpu_light_hair_bench/metrics.md"]),
    "real_photo": Target("issue 9: the cf-prior trainings, the validation-part table, the hair grid",
                         ["bash experiments/reproduce_real_photo.sh"], ["runs/real_photo/table.md"],
                         ["docs/hair_grid.png"]),
    "refiner": Target("issue 10: refiner trainings + ablation, speed and memory bench, F table, fast-mode grid",
                      ["GM={gm} PY={py} bash experiments/reproduce_refiner.sh"],
                      ["runs/refiner_ablation/table.md", "runs/bench/bench_infer.md", "runs/foreground/table.md"],
                      ["docs/fast_mode_grid.png"]),
    "sod": Target("salient-object table + PR curves on the first 12 hair-bench images (after refiner)",
                  ["bash experiments/sod_table.sh"], ["runs/sod/table.md"], ["docs/pr_hair_bench12.png"]),
    "variants": Target("issue 12: every generator variant, same budget, on the validation part and hair-bench; "
                       "SAD-vs-time plot",
                       ["bash experiments/variant_table.sh",
                        "{py} experiments/sad_time_scatter.py runs/variant_table/metrics.csv --out docs/sad_vs_time.png"],
                       ["runs/variant_table/variant_table.md"], ["docs/sad_vs_time.png"],
                       tiny=["STEPS=2 VARIANTS='unet autoencoder' QUICK=1 OUT=runs/reproduce_tiny/variant_table "
                             "bash experiments/variant_table.sh"],
                       tiny_tables=["runs/reproduce_tiny/variant_table/variant_table.md"]),
    "bench": Target("speed tables: metrics, synthetic data, training step",
                    ["{gm} bench metrics --out runs/bench", "{gm} bench synth --out runs/bench",
                     "{gm} bench train --out runs/bench"],
                    ["runs/bench/bench_metrics.md", "runs/bench/bench_synth.md", "runs/bench/bench_train.md"], needs_shared=False,
                    tiny=["{gm} bench metrics --quick --repeats 1 --out runs/reproduce_tiny/bench"],
                    tiny_tables=["runs/reproduce_tiny/bench/bench_metrics.md"]),
    "web": Target("the web page screenshot", ["{py} experiments/web_screenshot.py --out docs/web_page.png"], [],
                  ["docs/web_page.png"], needs_shared=False),
}
ORDER = ["baselines", "cpu_light", "real_photo", "refiner", "sod", "variants", "bench", "web"]
assert sorted(ORDER) == sorted(TARGETS)


def stamp(commands: List[str]) -> List[str]:
    """Command, commit, versions, hardware and date, as markdown lines."""
    import numpy
    import torch
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown (not a git checkout)"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    from gan_matting import __version__
    return [f"- command: `{' && '.join(commands)}`",
            f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; commit {commit}",
            f"- versions: gan_matting {__version__}, python {platform.python_version()}, torch {torch.__version__}, "
            f"numpy {numpy.__version__}",
            f"- hardware: {cpu}, {os.cpu_count()} logical cores; GPU: {gpu}", ""]


def run_target(name: str, tiny: bool, out_dir: Path) -> Path | None:
    t = TARGETS[name]
    commands = [c.format(gm=shlex.quote(GM), py=shlex.quote(PY)) for c in (t.tiny if tiny else t.commands)]
    if tiny and not commands:
        print(f"[{name}] has no --tiny form; skipped", flush=True)
        return None
    if t.needs_shared and not SHARED.is_dir():
        print(f"[{name}] needs {SHARED} (alphamatting_dev, fur_1080p); skipped", flush=True)
        return None
    for cmd in commands:
        print(f"[{name}] $ {cmd}", flush=True)
        env = {**os.environ, "GM": GM, "PY": PY,  # the scripts' plain `python` / `gan-matting` are the venv's
               "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        rc = subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], cwd=REPO, env=env).returncode
        if rc != 0:
            raise SystemExit(f"[{name}] failed (exit {rc}): {cmd}")
    lines = [f"# {name}: {t.about}", ""] + stamp(commands)
    for pattern in (t.tiny_tables if tiny else t.tables):
        files = sorted(REPO.glob(pattern))
        if not files:
            raise SystemExit(f"[{name}] expected output {pattern} was not written")
        for f in files:
            lines += [f"## {f.relative_to(REPO)}", "", f.read_text().rstrip(), ""]
    for fig in ([] if tiny else t.figures):
        lines.append(f"figure: {fig}" + ("" if (REPO / fig).is_file() else " (MISSING)"))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.md"
    path.write_text("\n".join(lines) + "\n")
    print(f"[{name}] wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help=f"all, or some of: {', '.join(ORDER)}")
    ap.add_argument("--tiny", action="store_true", help="seconds-long versions of the targets that have one")
    ap.add_argument("--list", action="store_true", help="list the targets and what they make")
    ap.add_argument("--out", default=None, help="folder for the stamped tables (default runs/reproduce[_tiny])")
    args = ap.parse_args(argv)
    if args.list or not args.targets:
        for n in ORDER:
            t = TARGETS[n]
            print(f"{n:11s} {t.about}" + (" [tiny form]" if t.tiny else "") + ("" if t.needs_shared else " [no shared data]"))
        return 0 if args.list else 2
    names = ORDER if args.targets == ["all"] else args.targets
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"error: unknown target(s) {', '.join(unknown)}; choose from all, {', '.join(ORDER)}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else REPO / "runs" / ("reproduce_tiny" if args.tiny else "reproduce")
    for n in names:
        run_target(n, args.tiny, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
