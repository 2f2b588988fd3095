"""``gan-matting synth``: write procedural hair/jewellery datasets or composite users' RGBA cut-outs.

    gan-matting synth --preset hair-bench --out data/hair_bench --workers 2
    gan-matting synth --preset demo --out runs/demo/data
    gan-matting synth --from-rgba my_cutouts/ --per-image 3 --out data/cutouts
    gan-matting synth --grid docs/synth_grid.png      # image | alpha | region picture of a few samples
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from . import PRESETS
    from ...validation import int_at_least
    p.add_argument("--preset", default="hair-bench", choices=sorted(PRESETS),
                   help="; ".join(f"{k}: {v.description}" for k, v in PRESETS.items()))
    p.add_argument("--out", help="output dataset folder (custom layout)")
    p.add_argument("--n", type=int_at_least(1), help="number of images (default: the preset's)")
    p.add_argument("--seed", type=int, help="seed (default: the preset's; same seed -> same bytes)")
    p.add_argument("--size", type=int_at_least(16), help="square size in px instead of the preset's range (up to 4096+)")
    p.add_argument("--specular", type=float, default=None, metavar="S",
                   help="hair specular highlights of strength S in [0, 1] (Kajiya-Kay; default: the preset's, none)")
    p.add_argument("--workers", type=int_at_least(1), default=1, help="processes (default 1)")
    p.add_argument("--from-rgba", metavar="DIR", help="composite the transparent PNGs in DIR instead")
    p.add_argument("--per-image", type=int_at_least(1), default=2, help="with --from-rgba: backgrounds per cut-out")
    p.add_argument("--grid", metavar="PNG", help="write an image | alpha | region grid of --n (default 4) samples")


def run_synth(args) -> int:
    from ... import GanMattingError
    from . import PRESETS, from_rgba, write_dataset
    from ...validation import output_dir, output_file
    if args.grid:
        output_file(args.grid, "--grid")
        from .grid import write_grid
        path = write_grid(Path(args.grid), n=args.n or 4, seed=args.seed if args.seed is not None else PRESETS["hair-bench"].seed,
                          size=args.size or 384)
        print(f"wrote {path}")
        return 0
    if not args.out:
        raise GanMattingError("synth needs --out DIR (or --grid PNG)")
    output_dir(args.out)
    if args.from_rgba:
        n = from_rgba(args.from_rgba, args.out, args.per_image, args.seed or 0)
        print(f"wrote {n} composites to {args.out}")
        return 0
    scene = None if args.specular is None else {"specular": args.specular}
    meta = write_dataset(args.out, args.preset, args.n, args.seed, args.size, args.workers, scene=scene)
    print(f"wrote {meta['n']} images ({args.preset}, seed {meta['seed']}) to {args.out} in {meta['seconds']} s")
    return 0
