"""The model-agnostic training loop.

    gan-matting train --config experiments/cpu_light.yaml [--resume runs/NAME/checkpoints] [--set k=v ...]
    torchrun --nproc_per_node 4 -m gan_matting.cli train --config experiments/cuda_full.yaml   # DDP

Every ``ckpt_every`` steps the full state is written atomically, so a killed run resumes with
``--resume`` and takes exactly the step it would have taken (bit-exact on CPU).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
import torch.distributed as dist

from .. import GanMattingError
from ..atomic import remove_leftovers
from ..config import Config, save_config, to_dict
from ..models import build_model, count_parameters
from ..models.weights import load_generator, save_generator, unwrap
from .checkpoint import atomic_torch_save, load_state, restore, save_checkpoint, training_state
from .data import train_loader
from ..validation import output_dir, resolve_device

@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def check_training_data(cfg: Config) -> None:
    """Read every training (and validation) file once before step 1, so a corrupt file stops the run
    at the start with the full list, not at step 7 (and again at every resume)."""
    from ..data.check import check_or_raise
    if cfg.data.source == "folder":
        check_or_raise(cfg.data.root, cfg.data.layout)
    if cfg.data.source == "pennfudan":
        from ..data.pennfudan import PennFudanDataset
        ds = PennFudanDataset(cfg.data.root, size=cfg.data.crop)
        for i in range(len(ds)):  # every photo and mask read once: a bad file stops the start, not step 7
            ds[i]
    if cfg.data.val_root:
        check_or_raise(cfg.data.val_root)


def init_distributed() -> DistInfo:
    """torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; gloo on CPU, nccl on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def select_device(name: str, di: DistInfo) -> torch.device:
    """train.device checked by resolve_device; a plain 'cuda' / 'auto' means this rank's local GPU."""
    dev = resolve_device(name, "train.device")
    if dev.type == "cuda":
        dev = torch.device("cuda", di.local_rank if dev.index is None else dev.index)
        torch.cuda.set_device(dev)
    return dev


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _wrap_ddp(model, cfg: Config, di: DistInfo, device: torch.device) -> None:
    from torch.nn.parallel import DistributedDataParallel as DDP
    if cfg.train.sync_bn and device.type != "cuda" and di.main:
        print("train.sync_bn ignored: PyTorch's SyncBatchNorm runs on CUDA only", flush=True)
    for k, net in list(model.networks.items()):
        if cfg.train.sync_bn and device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        ids = [device.index] if device.type == "cuda" else None
        model.networks[k] = DDP(net, device_ids=ids)


def _finite(model) -> bool:
    return all(torch.isfinite(p).all() for n in model.networks.values() for p in n.parameters())


def setup_model(cfg: Config, di: DistInfo, device: torch.device, resume: Optional[str]):
    """Build the model, restore it when resuming, apply memory format / DDP / compile. Returns (model, start)."""
    model = build_model(cfg, device)
    start = restore(model, load_state(resume), cfg_dict=to_dict(cfg)) if resume else 0
    if cfg.train.init_from and not resume:
        init_generator(model, cfg.train.init_from)
    if cfg.train.channels_last:
        for n in model.networks.values():
            n.to(memory_format=torch.channels_last)
    if di.world > 1:
        _wrap_ddp(model, cfg, di, device)
    if cfg.train.compile:  # compile the generator only: the Ds are small and change shape with crops
        model.networks["G"] = torch.compile(model.networks["G"])
    return model, start


def init_generator(model, path: str) -> None:
    """Warm start: copy released generator weights into the model's generator (a new run, step 0)."""
    G, md = load_generator(path)
    want, have = model.generator_config(), json.loads(md["generator"])
    diff = [f"{k}: {have.get(k)!r} (weights) vs {v!r} (config)" for k, v in want.items() if have.get(k, "") != v]
    if diff:
        raise GanMattingError(f"train.init_from: {path} does not fit this generator: {'; '.join(diff)}")
    unwrap(model.generator).load_state_dict(G.state_dict())


class RunLog:
    """TensorBoard scalars and image grids, written by the main rank only."""

    def __init__(self, cfg: Config, run_dir: Path, start: int = 0):
        from torch.utils.tensorboard import SummaryWriter
        # purge_step: after a resume, events a killed run wrote past its last checkpoint are dropped,
        # so TensorBoard never shows one step twice
        self.cfg, self.writer = cfg, SummaryWriter(str(run_dir / "tb"), purge_step=start + 1 if start else None)

    def step(self, model, logs: Dict[str, float], done: int, skipped: int) -> None:
        t = self.cfg.train
        if done % t.log_every == 0 or done == t.steps:
            for k, v in {**logs, **{f"lr_{k}": v for k, v in model.learning_rates().items()}}.items():
                self.writer.add_scalar(k, v, done)
            self.writer.add_scalar("skipped_total", skipped, done)
        if done % t.image_every == 0:
            vis = model.visuals()
            if vis:
                from torchvision.utils import make_grid
                grid = torch.cat([v[:2].detach().float().cpu() for v in vis.values()], dim=0)
                self.writer.add_image("|".join(vis), make_grid(grid, nrow=2), done)

    def scalars(self, values: Dict[str, float], done: int, prefix: str = "") -> None:
        for k, v in values.items():
            self.writer.add_scalar(f"{prefix}{k}", v, done)

    def close(self) -> None:
        self.writer.close()


class CheckpointKeeper:
    """Periodic resumable checkpoints plus the best-on-validation state and released weights."""

    def __init__(self, cfg: Config, run_dir: Path):
        self.cfg, self.run_dir, self.ckpt_dir = cfg, run_dir, run_dir / "checkpoints"
        best_file = self.ckpt_dir / "best.json"
        self.best = json.loads(best_file.read_text())["score"] if best_file.exists() else math.inf

    def periodic(self, model, done: int) -> None:
        if not _finite(model):
            raise GanMattingError(f"step {done}: non-finite weights; refusing to write a checkpoint")
        save_checkpoint(model, done, to_dict(self.cfg), self.ckpt_dir, self.cfg.train.keep_last)
        save_generator(model.generator, self.run_dir / "generator_last.safetensors", model.generator_config(),
                       {"step": done})

    def validated(self, model, done: int, val: Dict[str, float]) -> None:
        if val["score"] >= self.best:
            return
        self.best = val["score"]
        atomic_torch_save(training_state(model, done, to_dict(self.cfg), {"val": val}), self.ckpt_dir / "best.pt")
        save_generator(model.generator, self.run_dir / "generator_best.safetensors", model.generator_config(),
                       {"step": done, **{k: f"{v:.5f}" for k, v in val.items()}})
        (self.ckpt_dir / "best.json").write_text(json.dumps({"step": done, "score": self.best, **val}))


def train(cfg: Config, resume: Optional[str] = None, progress: bool = True,
          stop_after: Optional[int] = None) -> Dict[str, float]:
    """Run (or continue) training; returns the last logged values and, if any, the last validation.

    stop_after: leave after this many steps *of this call* (a checkpoint is written on leaving), as if
    killed, so long runs can be trained in chunks; the schedule still follows train.steps."""
    di = init_distributed()
    device = select_device(cfg.train.device, di)
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    seed_everything(cfg.train.seed + di.rank, cfg.train.deterministic)
    run_dir = Path(cfg.train.out_dir) / cfg.train.name
    fresh = not run_dir.exists()
    try:  # a start that fails (bad data, bad resume file) leaves no new run folder behind
        if di.main:
            output_dir(run_dir, "train.out_dir / train.name")
            remove_leftovers(run_dir, run_dir / "checkpoints")
            check_training_data(cfg)
        model, start = setup_model(cfg, di, device, resume)
        runlog = keeper = validator = None
        if di.main:
            save_config(cfg, run_dir / "config.yaml")
            runlog, keeper = RunLog(cfg, run_dir, start), CheckpointKeeper(cfg, run_dir)
            sizes = {k: count_parameters(n) for k, n in model.networks.items()}
            print(f"device {device} (world size {di.world}); parameters " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
                  + f"; steps {start} -> {cfg.train.steps}; run folder {run_dir}", flush=True)
            if cfg.data.val_root:
                from .validate import Validator
                validator = Validator(cfg)
        loader = train_loader(cfg, start, di.rank, di.world)
    except BaseException:
        if fresh and di.main and run_dir.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    from tqdm import tqdm
    bar = tqdm(total=cfg.train.steps, initial=start, disable=not (progress and di.main), desc=cfg.train.name)
    model.train()
    logs: Dict[str, float] = {}
    skipped = 0
    t = cfg.train
    last = t.steps if stop_after is None else min(t.steps, start + stop_after)
    for step, batch in zip(range(start, last), loader):
        model.set_input(batch)
        logs = model.optimize_parameters(step)
        model.step_schedulers()
        skipped += int(logs.get("skipped", 0))
        done = step + 1
        if not di.main:
            continue
        bar.update(1)
        bar.set_postfix({k: f"{logs[k]:.3f}" for k in ("g_loss", "d_loss") if k in logs})
        runlog.step(model, logs, done, skipped)
        if done % t.ckpt_every == 0 or done in (t.steps, last):
            keeper.periodic(model, done)
        if validator is not None and (done % t.val_every == 0 or done == t.steps):
            val = validator(unwrap(model.generator), device)
            runlog.scalars(val, done, "val/")
            logs.update({f"val_{k}": v for k, v in val.items()})
            keeper.validated(model, done, val)
    bar.close()
    if runlog is not None:
        runlog.close()
        print(f"checkpoints (resumable): {run_dir / 'checkpoints'}; generator weights: "
              f"{run_dir / 'generator_last.safetensors'}" + (" and generator_best.safetensors" if validator else ""), flush=True)
    logs["skipped_total"] = float(skipped)
    return logs
