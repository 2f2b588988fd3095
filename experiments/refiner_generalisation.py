"""Issue 10: can the patch refiner learn a correction that generalises, or only memorise one?

    python experiments/refiner_generalisation.py [--steps 300] [--lr 3e-3] [--set width=32 --set n_layers=8 ...]

With the data and cell sampling of ``experiments/refiner.yaml`` (pixel L1 only: no D, style or Gabor term):
1. *memorise*: the refiner trained on one fixed batch of cells; prints its L1 relative to the coarse
   (guided-upsampled) alpha of the same cells;
2. *generalise*: trained on fresh batches as in ``train-refiner``, scored every 50 steps on 6 held-out
   batches drawn before training (same images, other cells). Below 1 = better than the coarse alpha.
A refiner that reaches well below 1 in (1) but stays at 1 in (2) has the capacity but not the
information: what it would need to know is not in its window.
"""

from __future__ import annotations

import argparse
import time

import torch

from gan_matting.config import RefinerConfig, load_config
from gan_matting.models.weights import load_generator
from gan_matting.training import refiner as R


def _ratio(net, b, m: int) -> float:
    with torch.no_grad():
        coarse = (b["stack"][:, 3:4, m:-m, m:-m] - b["alpha"]).abs().mean()
        return float((net(b["stack"])["alpha"] - b["alpha"]).abs().mean() / coarse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="experiments/refiner.yaml")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=3e-3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(args.config, ["lambda_adv=0", "lambda_style=0", "lambda_gabor=0"] + args.set, schema=RefinerConfig)
    G, _ = load_generator(cfg.coarse_weights)
    entries = R.load_entries(cfg, G, progress=False)
    print(f"refiner width {cfg.width}, {cfg.n_layers} layers, G features {cfg.features}; {len(entries)} training images; "
          f"lr {args.lr}, {args.steps} steps, {cfg.cells} cells of {cfg.train_patch} px per batch")
    m = cfg.n_layers
    for mode in ("memorise", "generalise"):
        torch.manual_seed(cfg.seed)
        model = R.RefinerGAN(cfg, torch.device("cpu"), feat_channels=R.coarse_feature_channels(G), G=G)
        net = model.networks["refiner"]
        held = [model.batch(entries) for _ in range(6)]
        opt = torch.optim.Adam(net.parameters(), args.lr)
        t0 = time.time()
        for step in range(1, args.steps + 1):
            b = held[0] if mode == "memorise" else model.batch(entries)
            loss = (net(b["stack"])["alpha"] - b["alpha"]).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 50 == 0:
                net.eval()
                r = _ratio(net, held[0], m) if mode == "memorise" else sum(_ratio(net, h, m) for h in held) / len(held)
                net.train()
                what = "the fixed batch" if mode == "memorise" else "6 held-out batches"
                print(f"  {mode} step {step}: L1 / coarse L1 on {what} {r:.3f} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
