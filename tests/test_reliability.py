"""Issue 11's corpus: every bad output path, option value, weights file, duplicate name, degenerate trimap
and bad training file gives one line naming the file or option, never a traceback, and loses nothing.
Each case is generated on the fly; ``CASES`` is the table README counts."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from gan_matting.cli import main
from gan_matting.data.trimap import trimap_from_alpha
from gan_matting.models.registry import build_network
from gan_matting.models.weights import save_generator

from .conftest import disk_alpha, save
from .test_training import TINY

G_CFG = {"name": "unet", "width": 4, "depth": 2, "max_width": 8, "norm": "batch", "trimap_free": False,
         "error_head": False, "prior": ""}


@pytest.fixture
def env(tmp_path):
    """A good image/trimap pair, tiny generator weights, a plain file to block paths, a custom dataset."""
    a = disk_alpha(40, 48)
    img = np.dstack([a, 0.5 * np.ones_like(a), 1 - a]).astype(np.float32)
    e = {"img": save(tmp_path / "in" / "x.png", img), "tri": save(tmp_path / "tri" / "x.png", trimap_from_alpha(a, 3)),
         "mask": save(tmp_path / "mask.png", a), "file": tmp_path / "afile.txt", "root": tmp_path}
    e["file"].write_text("not a folder")
    torch.manual_seed(0)
    save_generator(build_network(**G_CFG), tmp_path / "g.safetensors", G_CFG)
    e["weights"] = tmp_path / "g.safetensors"
    data = tmp_path / "data"
    for i in range(3):
        ai = disk_alpha(40, 48, r=10 + i)
        save(data / "images" / f"s{i}.png", np.dstack([ai, ai, 1 - ai]).astype(np.float32))
        save(data / "alphas" / f"s{i}.png", ai)
        save(data / "trimaps" / f"s{i}.png", trimap_from_alpha(ai, 3))
    e["data"] = data
    return e


def run(argv, capsys):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip() and "it/s]" not in ln and "s/it]" not in ln]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


# (case id, argv builder, expected rc, text the one line must contain)
CASES = [
    # 1. output paths: an existing file, a path under a file, a folder where a file is wanted, a lossy trimap
    ("infer-out-is-file", lambda e: ["infer", e["img"], "--trimap", e["tri"], "--weights", e["weights"], "--out", e["file"]], 1, "exists and is not a folder"),
    ("infer-out-under-file", lambda e: ["infer", e["img"], "--trimap", e["tri"], "--weights", e["weights"], "--out", e["file"] / "o"], 1, "is a file, so no folder"),
    ("make-trimap-out-folder", lambda e: ["make-trimap", "--mask", e["mask"], "--out", e["root"]], 1, "is a folder"),
    ("make-trimap-out-jpg", lambda e: ["make-trimap", "--mask", e["mask"], "--out", e["root"] / "t.jpg"], 1, "losslessly"),
    ("make-trimap-out-under-file", lambda e: ["make-trimap", "--mask", e["mask"], "--out", e["file"] / "t.png"], 1, "is a file"),
    ("eval-out-is-file", lambda e: ["eval", "--pred", e["data"] / "alphas", "--data", e["data"], "--out", e["file"]], 1, "exists and is not a folder"),
    ("eval-method-out-under-file", lambda e: ["eval", "--method", "cf", "--data", e["data"], "--out", e["file"] / "x"], 1, "is a file"),
    ("synth-out-is-file", lambda e: ["synth", "--preset", "tiny", "--out", e["file"]], 1, "exists and is not a folder"),
    ("synth-grid-is-folder", lambda e: ["synth", "--grid", e["root"]], 1, "is a folder"),
    ("bench-out-is-file", lambda e: ["bench", "metrics", "--out", e["file"]], 1, "exists and is not a folder"),
    ("demo-out-under-file", lambda e: ["demo", "--out", e["file"] / "d"], 1, "is a file"),
    ("train-out-under-file", lambda e: ["train", "--config", "experiments/smoke_cpu.yaml", "--data", e["data"],
                                        "--set", f"train.out_dir={e['file']}"], 1, "is a file"),
    # 3. option values, named with their allowed range
    ("segments-0", lambda e: ["make-trimap", "--mask", e["mask"], "--out", e["root"] / "t.png", "--segments", "0"], 2, "--segments: must be >= 1"),
    ("radius-negative", lambda e: ["make-trimap", "--mask", e["mask"], "--out", e["root"] / "t.png", "--radius", "-3"], 2, "--radius: must be >= 0"),
    ("max-side-negative", lambda e: ["infer", e["img"], "--out", e["root"] / "o", "--max-side", "-5"], 2, "--max-side: must be >= 0"),
    ("budget-above-1", lambda e: ["infer", e["img"], "--out", e["root"] / "o", "--budget", "2"], 2, "--budget: must lie in [0.0, 1.0]"),
    ("lkm-share-above-1", lambda e: ["infer", e["img"], "--out", e["root"] / "o", "--lkm-share", "1.5"], 2,
     "--lkm-share: must lie in [0.0, 1.0]"),
    ("prior-share-above-1", lambda e: ["infer", e["img"], "--out", e["root"] / "o", "--mode", "fast", "--prior-share", "2"],
     2, "--prior-share: must lie in [0.0, 1.0]"),
    ("tile-not-a-number", lambda e: ["infer", e["img"], "--out", e["root"] / "o", "--tile", "big"], 2, "--tile: must be an integer"),
    ("repeats-0", lambda e: ["bench", "metrics", "--repeats", "0"], 2, "--repeats: must be >= 1"),
    ("stop-after-0", lambda e: ["train", "--config", "experiments/smoke_cpu.yaml", "--stop-after", "0"], 2, "--stop-after: must be >= 1"),
    ("synth-n-0", lambda e: ["synth", "--preset", "tiny", "--n", "0", "--out", e["root"] / "s"], 2, "--n: must be >= 1"),
    ("device-unknown", lambda e: ["infer", e["img"], "--trimap", e["tri"], "--weights", e["weights"], "--out", e["root"] / "o", "--device", "tpu"], 1, "--device 'tpu': not a device name"),
    ("device-cuda-absent", lambda e: ["infer", e["img"], "--trimap", e["tri"], "--weights", e["weights"], "--out", e["root"] / "o", "--device", "cuda"], 1, "no CUDA device"),
    ("fp16-on-cpu", lambda e: ["infer", e["img"], "--trimap", e["tri"], "--weights", e["weights"], "--out", e["root"] / "o", "--device", "cpu", "--precision", "fp16"], 1, "--precision fp16 needs a CUDA device"),
    ("config-ckpt-every-0", lambda e: ["train", "--config", "experiments/smoke_cpu.yaml", "--data", e["data"], "--set", "train.ckpt_every=0"], 1, "'train.ckpt_every' must be >= 1"),
    ("config-lr-0", lambda e: ["train", "--config", "experiments/smoke_cpu.yaml", "--data", e["data"], "--set", "optim.lr_g=0"], 1, "'optim.lr_g' must be > 0"),
    ("config-lambda-negative", lambda e: ["train", "--config", "experiments/smoke_cpu.yaml", "--data", e["data"], "--set", "loss.lambda_grad=-1"], 1, "'loss.lambda_grad' must be >= 0"),
    ("config-device-unknown", lambda e: ["train", "--config", "experiments/smoke_cpu.yaml", "--data", e["data"], "--set", "train.device=gpu",
                                         "--set", f"train.out_dir={e['root'] / 'runs'}"], 1, "train.device 'gpu'"),
    ("refiner-config-budget", lambda e: ["train-refiner", "--config", "experiments/refiner.yaml", "--set", "budget=3"], 1, "'budget'"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_value_gives_one_line(case, env, capsys):
    if case[0] == "device-cuda-absent" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    _id, argv, want_rc, text = case
    rc, _out, err = run(argv(env), capsys)
    line = one_line(err)
    assert rc == want_rc, err
    assert text in line, line


def test_output_checked_before_the_work(env, capsys, monkeypatch):
    """eval --method must refuse its output folder before running a single solve."""
    import gan_matting.baselines as B
    calls = []
    monkeypatch.setattr(B, "run_baseline", lambda *a, **k: calls.append(1))
    rc, _o, err = run(["eval", "--method", "cf", "--data", env["data"], "--out", env["file"]], capsys)
    assert rc == 1 and not calls and str(env["file"]) in one_line(err)


# -- 2. weights that disagree with their metadata ----------------------------------------------------------
def test_weights_disagreeing_with_metadata(env, capsys):
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(env["weights"]))
    wider = dict(G_CFG, width=8)
    save_file(tensors, str(env["root"] / "w.safetensors"), metadata={"format": "gan_matting.generator.v1", "generator": json.dumps(wider)})
    save_file(tensors, str(env["root"] / "n.safetensors"), metadata={"format": "gan_matting.generator.v1",
                                                                    "generator": json.dumps(dict(G_CFG, name="resnet9"))})
    dropped = {k: v for k, v in tensors.items() if "running_var" not in k}
    save_file(dropped, str(env["root"] / "m.safetensors"), metadata={"format": "gan_matting.generator.v1", "generator": json.dumps(G_CFG)})
    for f, text in (("w", "disagree with their metadata: tensor"), ("n", "cannot be built"), ("m", "missing, first")):
        rc, _o, err = run(["infer", env["img"], "--trimap", env["tri"], "--weights", env["root"] / f"{f}.safetensors",
                           "--out", env["root"] / "o"], capsys)
        line = one_line(err)
        assert rc == 1 and text in line and f"{f}.safetensors" in line, line


# -- 4. duplicate stems ------------------------------------------------------------------------------------
def test_duplicate_stems_are_refused_and_reported(env, capsys):
    from PIL import Image
    folder = env["img"].parent
    Image.open(env["img"]).convert("RGB").save(folder / "x.jpg")
    rc, _o, err = run(["infer", folder, "--trimap", env["tri"].parent, "--weights", env["weights"], "--out", env["root"] / "o"], capsys)
    assert rc == 1 and "same name as x" in one_line(err)
    save(env["data"] / "images" / "s1.jpg", np.zeros((40, 48, 3), np.float32))
    rc, out, _e = run(["check-data", env["data"]], capsys)
    assert rc == 1 and "s1.png: same name as s1.jpg" in out or "s1.jpg: same name as s1.png" in out


# -- 5. classical baselines on degenerate trimaps ----------------------------------------------------------
def test_baselines_on_degenerate_trimaps():
    from gan_matting.baselines import run_baseline
    img = np.random.default_rng(0).uniform(size=(20, 24, 3)).astype(np.float32)
    known = np.where(disk_alpha(20, 24) > 0.5, 255, 0).astype(np.uint8)
    a, fg = run_baseline("cf", img, known)
    assert np.array_equal(a, known / 255.0) and fg.shape == img.shape
    no_fg = np.where(known == 255, 128, 0).astype(np.uint8)
    assert run_baseline("knn", img, no_fg, False)[0].max() == 0
    no_bg = np.where(known == 0, 128, 255).astype(np.uint8)
    assert run_baseline("lkm", img, no_bg, False)[0].min() == 1


# -- 6. training data checked before step 1; no run folder left by a failed start ---------------------------
def test_corrupt_training_file_stops_the_start_and_leaves_no_run_folder(env, capsys):
    bad = env["data"] / "alphas" / "s2.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated
    out_dir = env["root"] / "runs"
    args = ["train", "--config", "experiments/smoke_cpu.yaml", "--data", env["data"], "--set", f"train.out_dir={out_dir}",
            "--set", "train.name=r", "--no-progress"] + sum((["--set", t] for t in TINY), [])
    rc, _o, err = run(args, capsys)
    assert rc == 1 and "s2.png" in err and "Traceback" not in err
    assert not (out_dir / "r").exists()


# -- 7. batch inference keeps going past a bad file ----------------------------------------------------------
def test_batch_infer_skips_a_bad_file_and_reports_it(env, capsys):
    folder, tris = env["img"].parent, env["tri"].parent
    for n in ("a", "c"):
        (folder / f"{n}.png").write_bytes(env["img"].read_bytes())
        (tris / f"{n}.png").write_bytes(env["tri"].read_bytes())
    (folder / "b.png").write_bytes(env["img"].read_bytes()[:60])  # corrupt, in the middle
    (tris / "b.png").write_bytes(env["tri"].read_bytes())
    out = env["root"] / "o"
    rc, _o, err = run(["infer", folder, "--trimap", tris, "--weights", env["weights"], "--out", out], capsys)
    assert rc == 1 and "Traceback" not in err
    assert sorted(p.name for p in (out / "alpha").iterdir()) == ["a.png", "c.png", "x.png"]
    assert "3 of 4 image(s) matted; 1 failed" in err and "b.png" in err


# -- 8. leftovers of a killed checkpoint write, TensorBoard after a resume -----------------------------------
def test_killed_checkpoint_write_is_cleaned_up_and_resume_matches(env, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from gan_matting.config import load_config
    from gan_matting.training.checkpoint import load_state
    from gan_matting.training.trainer import train
    base = TINY + [f"data.root={env['data']}", f"train.out_dir={env['root'] / 'runs'}", "train.steps=4"]
    train(load_config(None, base + ["train.name=straight"]), progress=False)
    train(load_config(None, base + ["train.name=k"]), progress=False)
    ck = env["root"] / "runs" / "k" / "checkpoints"
    # as if killed while writing step 4: the final file never appeared, a partial temporary did
    full = (ck / "step_0000004.pt").read_bytes()
    (ck / "step_0000004.pt").unlink()
    leftover = ck / f".step_0000004.pt.tmp{os.getpid() + 1}"
    leftover.write_bytes(full[: len(full) // 3])
    train(load_config(None, base + ["train.name=k"]), resume=str(ck), progress=False)
    assert not leftover.exists() and "leftover of an interrupted write" in capsys.readouterr().out
    a, b = load_state(env["root"] / "runs" / "straight" / "checkpoints"), load_state(ck)
    assert a["step"] == b["step"] == 4
    for k, v in a["networks"]["G"].items():
        assert torch.equal(v, b["networks"]["G"][k]), k
    ea = EventAccumulator(str(env["root"] / "runs" / "k" / "tb"))
    ea.Reload()
    steps = [e.step for e in ea.Scalars("g_loss")]
    assert steps == sorted(set(steps)) == [1, 2, 3, 4]  # steps 3-4 of the killed run were not kept twice


def test_train_says_where_its_outputs_are(env, capsys):
    from gan_matting.config import load_config
    from gan_matting.training.trainer import train
    train(load_config(None, TINY + [f"data.root={env['data']}", f"train.out_dir={env['root'] / 'runs'}", "train.steps=2",
                                    "train.name=w"]), progress=False)
    out = capsys.readouterr().out
    assert "checkpoints (resumable):" in out and "generator_last.safetensors" in out


def test_every_option_has_help():
    from gan_matting.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    missing = [f"{name} {a.option_strings or a.dest}" for name, sp in sub.choices.items() for a in sp._actions
               if a.help is None and a.dest != "help"]
    assert not missing, missing


def test_single_image_failure_is_one_line_and_input_checked_first(env, capsys):
    rc, _o, err = run(["infer", env["root"] / "nope.png", "--out", env["root"] / "o"], capsys)
    assert rc == 1 and "nope.png" in one_line(err)
    rc, _o, err = run(["infer", env["img"], "--trimap", env["root"] / "missing.png", "--weights", env["weights"],
                       "--out", env["root"] / "o"], capsys)
    assert rc == 1 and "missing.png" in one_line(err)
    rc, _o, err = run(["infer", env["img"], "--trimap", env["tri"], "--out", env["root"] / "o", "--tile", "5"], capsys)
    assert rc == 1 and "--tile 5" in one_line(err)


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_then_clean_resume(env):
    """A real SIGKILL while step 4's checkpoint is being written (held open by a slowed torch.save): the
    partial temporary file is left, the next start removes it, and resuming gives the straight run's state."""
    import subprocess
    import sys
    import time
    from gan_matting.config import load_config
    from gan_matting.training.checkpoint import load_state
    from gan_matting.training.trainer import train
    from .conftest import REPO
    out = env["root"] / "runs"
    sets = TINY + [f"data.root={env['data']}", f"train.out_dir={out}", "train.steps=4"]
    smoke = str(REPO / "experiments" / "smoke_cpu.yaml")  # the same config in and out of the killed process
    train(load_config(smoke, sets + ["train.name=straight"]), progress=False)
    code = ("import sys, time, torch\n"
            "real = torch.save\n"
            "def slow(obj, f, *a, **k):\n"
            "    real(obj, f, *a, **k)\n"
            "    if 'step_0000004' in str(f):\n"
            "        time.sleep(300)  # killed here: the temporary file exists, the rename has not happened\n"
            "torch.save = slow\n"
            "from gan_matting.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    args = [sys.executable, "-c", code, "train", "--config", smoke, "--no-progress"] + \
        sum((["--set", s] for s in sets + ["train.name=k"]), [])
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ck = out / "k" / "checkpoints"
    deadline = time.time() + 240
    while time.time() < deadline and not list(ck.glob(".step_0000004.pt.tmp*")):
        time.sleep(0.1)
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    leftovers = list(ck.glob(".step_0000004.pt.tmp*"))
    assert leftovers and not (ck / "step_0000004.pt").exists(), proc.stderr.read().decode()[-2000:]
    train(load_config(smoke, sets + ["train.name=k"]), resume=str(ck), progress=False)
    assert not list(ck.glob(".*.tmp*"))
    a, b = load_state(out / "straight" / "checkpoints"), load_state(ck)
    assert a["step"] == b["step"] == 4
    for k, v in a["networks"]["G"].items():
        assert torch.equal(v, b["networks"]["G"][k]), k


def test_train_refiner_failed_start_leaves_no_run_folder(env, capsys):
    bad = env["data"] / "alphas" / "s1.png"
    bad.write_bytes(bad.read_bytes()[:40])
    out = env["root"] / "rr"
    rc, _o, err = run(["train-refiner", "--config", "experiments/refiner.yaml", "--set", "real_root=''",
                       "--set", f"synth_root={env['data']}", "--set", f"coarse_weights={env['weights']}",
                       "--set", f"out_dir={out}", "--set", "name=r", "--no-progress"], capsys)
    assert rc == 1 and "s1.png" in one_line(err)
    assert not (out / "r").exists()
