"""Time and peak memory of the quality mode's post-processes on one image (why `--post auto` stops at 2.2 MP).

    python experiments/post_cost.py --image ../shared/data/fur_1080p_pseudo_alpha/input/sample1.jpg \
        --trimap runs/bench_input/sample1_trimap.png --post propagate   # then --post lkm, in a fresh process

The network's matte is replaced by a flat 0.5 in the unknown band (the worst start for the solvers), so the
numbers are an upper bound for `infer`. The image is resized to the trimap's size when they differ. Peak RSS
is the process's own VmHWM, so run one post-process per process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from gan_matting.data.io import read_rgb, read_trimap
from gan_matting.postprocess import large_kernel_alpha, propagate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", required=True)
    ap.add_argument("--trimap", required=True)
    ap.add_argument("--post", choices=["propagate", "lkm"], required=True)
    args = ap.parse_args()
    img, tri = read_rgb(args.image), read_trimap(args.trimap)
    if img.shape[:2] != tri.shape:
        img = np.asarray(Image.fromarray((img * 255).round().astype(np.uint8)).resize(tri.shape[::-1], Image.BILINEAR),
                         np.float32) / 255.0
    flat = np.where(tri == 255, 1.0, np.where(tri == 0, 0.0, 0.5)).astype(np.float32)
    t0 = time.perf_counter()
    if args.post == "propagate":
        propagate(img, tri, flat)
    else:
        large_kernel_alpha(img, tri, init=flat)
    seconds = time.perf_counter() - t0
    with open("/proc/self/status") as f:
        hwm_kib = int(next(line for line in f if line.startswith("VmHWM")).split()[1])
    print(f"{args.post}: {tri.shape[1]}x{tri.shape[0]}, {(tri == 128).mean():.1%} unknown, {seconds:.1f} s, "
          f"peak RSS {hwm_kib / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
