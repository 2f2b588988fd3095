"""``gan-matting infer``: matte one image or a folder with released/trained generator weights.

    gan-matting infer photo.jpg --trimap photo_trimap.png --weights checkpoints/gan_matting_cpu_light.safetensors --out out/
    gan-matting infer photos/ --trimap trimaps/ --weights run/generator_best.safetensors --out out/

Writes out/alpha/NAME.png, out/fg/NAME.png and out/rgba/NAME.png (cut-out with straight alpha).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import GanMattingError


def run_infer(args) -> int:
    import torch
    from ..data.io import is_image_file, read_rgb, read_trimap, write_image
    from ..data.layouts import list_images
    from ..training.checkpoint import load_generator
    from .predict import predict_image

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    G, _meta = load_generator(args.weights, device)
    src = Path(args.input)
    files = list_images(src) if src.is_dir() else [src]
    if not src.is_dir() and not is_image_file(src):
        raise GanMattingError(f"{src}: not an image file (by extension)")
    needs_trimap = not getattr(G, "trimap_free", False)
    if needs_trimap and not args.trimap:
        raise GanMattingError("these weights need a trimap (--trimap); make one with `gan-matting make-trimap`")
    out = Path(args.out)
    for f in files:
        img = read_rgb(f)
        tri = None
        if args.trimap:
            tp = Path(args.trimap)
            if tp.is_dir():
                cands = [p for p in tp.iterdir() if p.stem == f.stem and is_image_file(p)]
                if not cands:
                    raise GanMattingError(f"{tp}: no trimap named {f.stem}.* for {f}")
                tp = cands[0]
            tri = read_trimap(tp)
            if tri.shape != img.shape[:2]:
                raise GanMattingError(f"size mismatch: {f} is {img.shape[1]}x{img.shape[0]}, {tp} is {tri.shape[1]}x{tri.shape[0]}")
        alpha, fg = predict_image(G, img, tri, args.max_side, device)
        write_image(out / "alpha" / f"{f.stem}.png", alpha)
        write_image(out / "fg" / f"{f.stem}.png", fg)
        write_image(out / "rgba" / f"{f.stem}.png", np.concatenate([fg, alpha[..., None]], axis=-1))
        print(f"{f} -> {out / 'alpha' / (f.stem + '.png')}")
    return 0
