"""Config validation, checkpoints, exact resume, DDP (2 gloo processes on CPU), infer CLI."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_matting import GanMattingError
from gan_matting.cli import main
from gan_matting.models.weights import load_generator
from gan_matting.training.checkpoint import load_state
from gan_matting.config import load_config
from gan_matting.training.trainer import train

from .conftest import REPO

TINY = ["model.generator.width=8", "model.generator.depth=3", "model.generator.max_width=32",
        "model.d_global.width=8", "model.d_global.n_layers=3", "model.d_global.size=32",
        "model.d_local.width=8", "model.d_local.n_layers=2", "model.d_local.crop=24",
        "data.crop=48", "data.batch_size=2", "data.trimap_radius=[2, 5]", "train.log_every=1",
        "train.image_every=2", "train.ckpt_every=2", "train.val_every=100"]


def _cfg(tmp_path, data_root, *extra):
    return load_config(None, TINY + [f"data.root={data_root}", f"train.out_dir={tmp_path}", *extra])


def test_config_rejects_unknown_keys_and_wrong_types(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  generator:\n    widht: 16\n")
    with pytest.raises(GanMattingError, match=r"unknown config key 'model\.generator\.widht'"):
        load_config(str(bad))
    bad.write_text("optim:\n  lr_g: fast\n")
    with pytest.raises(GanMattingError, match=r"'optim\.lr_g' must be a number"):
        load_config(str(bad))
    with pytest.raises(GanMattingError, match=r"'train\.steps' must be an integer"):
        load_config(None, ["data.source=synth", "train.steps=1.5"])
    with pytest.raises(GanMattingError, match=r"'loss\.gan_mode' must be one of"):
        load_config(None, ["data.source=synth", "loss.gan_mode=wgan"])
    with pytest.raises(GanMattingError, match="data.root"):
        load_config(None, [])
    with pytest.raises(GanMattingError, match="config file not found"):
        load_config(str(tmp_path / "none.yaml"))


def test_backgrounds_folder_is_used_for_compositing(tmp_path, tiny_synth):
    from gan_matting.training.data import train_dataset
    bgdir = tmp_path / "bgs"
    bgdir.mkdir()
    from PIL import Image
    Image.fromarray(np.full((80, 90, 3), [255, 0, 255], np.uint8)).save(bgdir / "magenta.png")
    ds = train_dataset(_cfg(tmp_path, tiny_synth, f"data.backgrounds={bgdir}", "data.photo_prob=1.0"))
    item = ds[0]
    bg = item["bg"]
    assert torch.allclose(bg[1], torch.zeros_like(bg[1]), atol=0.2) and bg[0].mean() > 0.7  # magenta, jittered
    with pytest.raises(GanMattingError, match="folder not found"):
        train_dataset(_cfg(tmp_path, tiny_synth, f"data.backgrounds={tmp_path / 'none'}"))


def test_shipped_configs_are_valid():
    """Every shipped YAML loads, and each key it sets is applied (not silently dropped)."""
    import yaml
    from gan_matting.config import RefinerConfig, to_dict
    for p in sorted((REPO / "experiments").rglob("*.yaml")):
        raw = yaml.safe_load(p.read_text())
        if "coarse_weights" in raw:  # stage-2 (refiner) configs: a flat schema of their own
            cfg = to_dict(load_config(str(p), schema=RefinerConfig))
            assert all(cfg[k] == v for k, v in raw.items()), p
            continue
        cfg = to_dict(load_config(str(p), ["data.root=x"] if "root" not in p.read_text() else []))
        for section, values in raw.items():
            for k, v in (values or {}).items():
                if not isinstance(v, dict):
                    assert cfg[section][k] == v, (p, section, k)


def _weights(run: Path):
    return load_state(run / "checkpoints")["networks"]


def test_resume_gives_bit_identical_training(tmp_path, tiny_synth):
    straight = _cfg(tmp_path, tiny_synth, "train.name=a", "train.steps=4")
    train(straight, progress=False)
    chunked = _cfg(tmp_path, tiny_synth, "train.name=b", "train.steps=4")
    train(chunked, progress=False, stop_after=2)  # as if killed after step 2
    assert load_state(tmp_path / "b" / "checkpoints")["step"] == 2
    torch.manual_seed(12345)  # a fresh process would have other RNG state: it must not matter
    np.random.seed(999)
    logs = train(chunked, resume=str(tmp_path / "b" / "checkpoints"), progress=False)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs after resume"
    assert np.isfinite(logs["g_loss"])
    # the schedule is the full run's: the learning rate has decayed identically
    sa = load_state(tmp_path / "a" / "checkpoints")["schedulers"]["G"]
    sb = load_state(tmp_path / "b" / "checkpoints")["schedulers"]["G"]
    assert sa["last_epoch"] == sb["last_epoch"] == 4


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path, tiny_synth):
    """A real kill mid-run: checkpoints on disk stay loadable and the run continues to the end."""
    args = [sys.executable, "-m", "gan_matting.cli", "train", "--no-progress", "--set", "train.steps=400",
            "--set", "train.ckpt_every=1", "--set", f"train.out_dir={tmp_path}", "--set", "train.name=k",
            "--data", str(tiny_synth)] + sum((["--set", t] for t in TINY if "ckpt_every" not in t), [])
    cfgfile = tmp_path / "c.yaml"
    cfgfile.write_text("train:\n  seed: 3\n")
    proc = subprocess.Popen(args + ["--config", str(cfgfile)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ck = tmp_path / "k" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(ck.glob("step_*.pt"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(ck.glob("step_*.pt")), proc.stderr.read().decode()[-2000:]
    state = load_state(ck)  # the newest complete checkpoint; never a half-written one
    assert state["step"] >= 1
    cfg = load_config(str(cfgfile), TINY + [f"data.root={tiny_synth}", f"train.out_dir={tmp_path}", "train.name=k",
                                            f"train.steps={state['step'] + 2}"])
    train(cfg, resume=str(ck), progress=False)
    assert load_state(ck)["step"] == state["step"] + 2


def test_corrupt_partial_and_foreign_checkpoints_are_refused(tmp_path, tiny_synth):
    cfg = _cfg(tmp_path, tiny_synth, "train.name=c", "train.steps=2")
    train(cfg, progress=False)
    good = tmp_path / "c" / "checkpoints" / "step_0000002.pt"
    partial = tmp_path / "partial.pt"
    partial.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(GanMattingError, match="corrupt or partial"):
        load_state(partial)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "x", "f": os.getcwd}, evil)  # a pickled callable: weights_only refuses it
    with pytest.raises(GanMattingError, match="not a readable"):
        load_state(evil)
    foreign = tmp_path / "foreign.pt"
    torch.save({"a": torch.zeros(1)}, foreign)
    with pytest.raises(GanMattingError, match="not a gan_matting training state"):
        load_state(foreign)
    other = _cfg(tmp_path, tiny_synth, "train.name=d", "train.steps=3", "model.generator.width=12")
    with pytest.raises(GanMattingError, match=r"does not match this config.*model\.generator\.width: 8 -> 12"):
        train(other, resume=str(good), progress=False)


def test_resume_with_a_changed_config_says_which_keys(tmp_path, tiny_synth, capsys):
    train(_cfg(tmp_path, tiny_synth, "train.name=r", "train.steps=2"), progress=False)
    longer = _cfg(tmp_path, tiny_synth, "train.name=r", "train.steps=3", "optim.lr_g=1e-3")
    train(longer, resume=str(tmp_path / "r" / "checkpoints"), progress=False)
    out = capsys.readouterr().out
    assert "changed config" in out and "optim.lr_g: 0.0002 -> 0.001" in out and "train.steps: 2 -> 3" in out


def test_run_folder_contents_and_infer_cli(tmp_path, tiny_synth):
    cfg = _cfg(tmp_path, tiny_synth, "train.name=e", "train.steps=2", f"data.val_root={tiny_synth}", "train.val_every=2")
    logs = train(cfg, progress=False)
    run = tmp_path / "e"
    assert (run / "config.yaml").exists() and list((run / "tb").iterdir())
    assert "val_score" in logs and (run / "generator_best.safetensors").exists()
    assert load_config(str(run / "config.yaml")).model.generator.width == 8  # resolved config reloads
    G, meta = load_generator(run / "generator_last.safetensors")
    assert meta["format"] == "gan_matting.generator.v1" and not G.training
    out = tmp_path / "pred"
    assert main(["infer", str(tiny_synth / "images"), "--trimap", str(tiny_synth / "trimaps"),
                 "--weights", str(run / "generator_best.safetensors"), "--out", str(out)]) == 0
    assert len(list((out / "alpha").glob("*.png"))) == 3 and len(list((out / "rgba").glob("*.png"))) == 3
    assert main(["eval", "--pred", str(out / "alpha"), "--data", str(tiny_synth), "--out", str(tmp_path / "ev")]) == 0
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"nonsense")
    assert main(["infer", str(tiny_synth / "images"), "--weights", str(bad), "--out", str(out)]) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, tmp_path, data_root):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK="0")
    torch.set_num_threads(1)
    import gan_matting.training.trainer as T
    built = {}
    orig = T.build_model

    def spy(cfg, device):  # keep a handle on this rank's model
        built["m"] = orig(cfg, device)
        return built["m"]
    T.build_model = spy
    cfg = _cfg(Path(tmp_path), data_root, "train.name=ddp", "train.steps=2", "train.sync_bn=true")
    train(cfg, progress=False)
    g = built["m"].networks["G"].module
    flat = torch.cat([p.detach().flatten() for p in g.parameters()])
    torch.save(flat, Path(tmp_path) / f"rank{rank}.pt")
    import torch.distributed as dist
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_gloo_processes(tmp_path, tiny_synth):
    import torch.multiprocessing as mp
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path), str(tiny_synth)), nprocs=2, join=True)
    w0, w1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert torch.equal(w0, w1)  # different data shards, identical weights: gradients were all-reduced
    saved = load_state(tmp_path / "ddp" / "checkpoints")
    assert saved["step"] == 2
    assert torch.equal(torch.cat([v.flatten() for k, v in saved["networks"]["G"].items()
                                  if "running" not in k and "num_batches" not in k]), w0)


def test_training_from_the_disk_free_synthetic_stream(tmp_path):
    cfg = load_config(None, TINY + ["data.source=synth", "data.synth_min_size=64", "data.synth_max_size=80",
                                    f"train.out_dir={tmp_path}", "train.name=s", "train.steps=2"])
    logs = train(cfg, progress=False)
    assert np.isfinite(logs["g_loss"]) and load_state(tmp_path / "s" / "checkpoints")["step"] == 2
    from gan_matting.training.data import train_dataset
    ds = train_dataset(cfg)
    a, b = ds[5], ds[5]
    assert torch.equal(a["image"], b["image"]) and a["image"].shape == (3, 48, 48)
