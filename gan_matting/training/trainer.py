"""The model-agnostic training loop.

    gan-matting train --config experiments/cpu_light.yaml [--resume runs/NAME/checkpoints] [--set k=v ...]
    torchrun --nproc_per_node 4 -m gan_matting.cli train --config experiments/cuda_full.yaml   # DDP

Every ``ckpt_every`` steps the full state is written atomically, so a killed run resumes with
``--resume`` and takes exactly the step it would have taken (bit-exact on CPU).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
import torch.distributed as dist

from .. import GanMattingError
from ..models import build_model, count_parameters
from .checkpoint import atomic_torch_save, export_generator, load_state, restore, save_checkpoint, training_state
from .config import Config, save_config, to_dict
from .data import train_loader

log = logging.getLogger("gan_matting.train")


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; gloo on CPU, nccl on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def select_device(name: str, di: DistInfo) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise GanMattingError("train.device is cuda but no CUDA device is available (use auto or cpu)")
        dev = torch.device("cuda", di.local_rank if name == "cuda" else int(name.split(":")[1]))
        torch.cuda.set_device(dev)
        return dev
    return torch.device("cpu")


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
    model.G = model.networks["G"]


def _finite(model) -> bool:
    return all(torch.isfinite(p).all() for n in model.networks.values() for p in n.parameters())


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
    model = build_model(cfg, device)
    start = 0
    if resume:
        start = restore(model, load_state(resume))
    if cfg.train.channels_last:
        for n in model.networks.values():
            n.to(memory_format=torch.channels_last)
    if di.world > 1:
        _wrap_ddp(model, cfg, di, device)
    if cfg.train.compile:
        model.G = model.networks["G"] = torch.compile(model.networks["G"])
    writer, validator, best = None, None, math.inf
    if di.main:
        save_config(cfg, run_dir / "config.yaml")
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(run_dir / "tb"))
        sizes = {k: count_parameters(n) for k, n in model.networks.items()}
        print(f"device {device} (world size {di.world}); parameters " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
              + f"; steps {start} -> {cfg.train.steps}; run folder {run_dir}", flush=True)
        if cfg.data.val_root:
            from .validate import Validator
            validator = Validator(cfg)
        best_file = run_dir / "checkpoints" / "best.json"
        if best_file.exists():
            best = json.loads(best_file.read_text())["score"]
    loader = train_loader(cfg, start, di.rank, di.world)
    from tqdm import tqdm
    bar = tqdm(total=cfg.train.steps, initial=start, disable=not (progress and di.main), desc=cfg.train.name)
    model.train()
    logs: Dict[str, float] = {}
    skipped = 0
    last = cfg.train.steps if stop_after is None else min(cfg.train.steps, start + stop_after)
    for step, batch in zip(range(start, last), loader):
        model.set_input(batch)
        logs = model.optimize_parameters(step)
        model.step_schedulers()
        skipped += int(logs.get("skipped", 0))
        done = step + 1
        if di.main:
            bar.update(1)
            if done % cfg.train.log_every == 0 or done == cfg.train.steps:
                for k, v in {**logs, **{f"lr_{k}": v for k, v in model.learning_rates().items()}}.items():
                    writer.add_scalar(k, v, done)
                writer.add_scalar("skipped_total", skipped, done)
                bar.set_postfix({k: f"{logs[k]:.3f}" for k in ("g_loss", "d_loss") if k in logs})
            if done % cfg.train.image_every == 0:
                from torchvision.utils import make_grid
                vis = model.visuals()
                if vis:
                    grid = torch.cat([v[:2].detach().float().cpu() for v in vis.values()], dim=0)
                    writer.add_image("input|trimap|gt|alpha|fg|composite", make_grid(grid, nrow=2 if len(vis) else 1), done)
            if done % cfg.train.ckpt_every == 0 or done in (cfg.train.steps, last):
                if not _finite(model):
                    raise GanMattingError(f"step {done}: non-finite weights; refusing to write a checkpoint")
                save_checkpoint(model, done, to_dict(cfg), run_dir / "checkpoints", cfg.train.keep_last)
                export_generator(model, run_dir / "generator_last.safetensors", _gen_cfg(cfg), {"step": done})
            if validator is not None and (done % cfg.train.val_every == 0 or done == cfg.train.steps):
                val = validator(getattr(model.G, "module", model.G), device)
                for k, v in val.items():
                    writer.add_scalar(f"val/{k}", v, done)
                logs.update({f"val_{k}": v for k, v in val.items()})
                if val["score"] < best:
                    best = val["score"]
                    atomic_torch_save(training_state(model, done, to_dict(cfg), {"val": val}), run_dir / "checkpoints" / "best.pt")
                    export_generator(model, run_dir / "generator_best.safetensors", _gen_cfg(cfg), {"step": done, **{k: f"{v:.5f}" for k, v in val.items()}})
                    (run_dir / "checkpoints" / "best.json").write_text(json.dumps({"step": done, "score": best, **val}))
    bar.close()
    if writer is not None:
        writer.close()
    logs["skipped_total"] = float(skipped)
    return logs


def _gen_cfg(cfg: Config) -> dict:
    g = cfg.model.generator
    return {"name": g.name, "width": g.width, "depth": g.depth, "max_width": g.max_width, "norm": g.norm,
            "trimap_free": g.trimap_free, "error_head": g.error_head}
