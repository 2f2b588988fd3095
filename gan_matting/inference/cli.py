"""``gan-matting infer``: matte one image or a folder with released/trained generator weights.

    gan-matting infer photo.jpg --trimap photo_trimap.png --weights checkpoints/gan_matting_cpu_light.safetensors --out out/
    gan-matting infer photos/ --trimap trimaps/ --weights run/generator_best.safetensors --out out/

    gan-matting infer big.jpg --trimap t.png --mode fast --out out/    # coarse pass + patch refiner

Writes out/alpha/NAME.png, out/fg/NAME.png and out/rgba/NAME.png (cut-out with straight alpha), all at
the input's full size, and prints each image's matting time.

Modes: ``quality`` (default) runs the generator at full resolution (Hann-blended tiles above the tile
size chosen from free memory); ``fast`` runs it at ``--coarse-side`` and refines the worst patches at full
resolution with the refiner (``checkpoints/gan_matting_refiner.safetensors`` unless ``--refiner``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from .. import GanMattingError
from .predict import Job


def infer_jobs(src: Path, trimap: Optional[Path]) -> List[Job]:
    """Pair an image (or a folder of images) with a trimap file (or the same-stem file of a folder)."""
    from ..data.io import is_image_file
    from ..data.layouts import list_images
    if not src.exists():
        raise GanMattingError(f"{src}: file or folder not found")
    if not src.is_dir() and not is_image_file(src):
        raise GanMattingError(f"{src}: not an image file (by extension)")
    files = list_images(src) if src.is_dir() else [src]
    seen: dict = {}
    for f in files:
        if f.stem in seen:
            raise GanMattingError(f"{f}: same name as {seen[f.stem].name}; both would write {f.stem}.png, rename one")
        seen[f.stem] = f
    jobs = []
    for f in files:
        tp = trimap
        if tp is not None and tp.is_dir():
            cands = [p for p in tp.iterdir() if p.stem == f.stem and is_image_file(p)]
            if not cands:
                raise GanMattingError(f"{tp}: no trimap named {f.stem}.* for {f}")
            if len(cands) > 1:
                raise GanMattingError(f"{tp}: several trimaps named {f.stem}.* ({', '.join(sorted(c.name for c in cands))}); keep one")
            tp = cands[0]
        jobs.append(Job(f.stem, f, tp))
    return jobs


def parse_backdrop(spec: str):
    """'#RRGGBB', 'R,G,B' (0-255) or an image file -> (3,) colour or (H, W, 3) image, float on [0, 1]."""
    from ..data.io import read_rgb
    text = spec.strip()
    if text.startswith("#") and len(text) == 7:
        try:
            return np.array([int(text[i:i + 2], 16) for i in (1, 3, 5)], np.float32) / 255
        except ValueError:
            pass
    elif text.count(",") == 2:
        try:
            rgb = [float(v) for v in text.split(",")]
        except ValueError:
            rgb = None
        if rgb is not None and all(0 <= v <= 255 for v in rgb):
            return np.array(rgb, np.float32) / 255
    if Path(text).is_file():
        return read_rgb(text)
    raise GanMattingError(f"--composite-on {spec!r}: not a colour (#RRGGBB or R,G,B in 0-255) nor an image file")


def composite_on(alpha: np.ndarray, fg: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """alpha * F + (1 - alpha) * B for a colour or an image backdrop (resized to the matte)."""
    from ..data.composite import composite
    h, w = alpha.shape
    if backdrop.ndim == 1:
        bg = np.broadcast_to(backdrop, (h, w, 3))
    else:
        import torch
        import torch.nn.functional as F
        t = torch.from_numpy(np.ascontiguousarray(backdrop.transpose(2, 0, 1)))[None]
        bg = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
    return np.clip(composite(alpha[..., None], fg, bg), 0, 1)


def run_infer(args) -> int:
    from ..data.io import write_image
    from ..foreground import output_foreground
    from ..models.weights import FAST_WEIGHTS, RELEASED_WEIGHTS, default_refiner, load_generator
    from ..validation import output_dir, resolve_device
    from .predict import generator_predictor, predict_many, with_post
    from .tiles import MIN_TILE

    # every option and path is checked before the model loads or an image is read
    device = resolve_device(args.device)
    if getattr(args, "fg", "auto") == "auto":  # the fast mode's F must not cost more than its alpha (README)
        args.fg = "blur" if args.mode == "fast" else "ml"
    half = getattr(args, "precision", "fp32") == "fp16"
    if half and device.type != "cuda":
        raise GanMattingError(f"--precision fp16 needs a CUDA device (got {device}); CPU inference runs in fp32")
    if 0 < args.tile < MIN_TILE // 2:
        raise GanMattingError(f"--tile {args.tile}: must be 0 (chosen from free memory) or >= {MIN_TILE // 2}")
    backdrop = parse_backdrop(args.composite_on) if args.composite_on else None
    from ..video import is_video_file
    video = is_video_file(Path(args.input))
    if video and not Path(args.input).is_file():
        raise GanMattingError(f"{args.input}: file not found")
    jobs = [] if video else infer_jobs(Path(args.input), Path(args.trimap) if args.trimap else None)
    out = output_dir(args.out)
    backend = getattr(args, "backend", "torch")
    post = getattr(args, "post", "auto")
    if post == "auto" and (video or args.mode == "fast"):
        post = "none"  # the solves cost seconds per frame; the fast mode has its own refinement
    if backend == "onnx":
        if args.mode != "quality" or args.max_side:
            raise GanMattingError("--backend onnx runs the quality mode only (no --mode fast, --max-side)")
        if half:
            raise GanMattingError("--backend onnx runs the exported fp32 graph (no --precision fp16)")
        if not args.weights or Path(args.weights).suffix.lower() != ".onnx":
            raise GanMattingError("--backend onnx: give the exported model as --weights FILE.onnx (gan-matting export)")
        from ..export import OnnxGenerator
        G = OnnxGenerator(args.weights)
    else:
        default = FAST_WEIGHTS if args.mode == "fast" else RELEASED_WEIGHTS  # the refiner's coarse G / the best model
        G, _meta = load_generator(args.weights or default, device)
        if half:
            G.half()
    if not getattr(G, "trimap_free", False) and not args.trimap:
        raise GanMattingError("these weights need a trimap (--trimap); make one with `gan-matting make-trimap`")
    post_args = (post, getattr(args, "post_weight", 0.05), getattr(args, "post_radius", 1), getattr(args, "lkm_share", 0.25))
    if backend == "onnx":
        predict = with_post(G, *post_args)  # the post-processes are numpy: the same on either backend
    elif args.mode == "fast":
        from .coarse_fine import load_pipeline, pipeline_predictor
        pipe = load_pipeline(G, args.refiner or default_refiner(G), device, args.coarse_side, args.budget,
                             getattr(args, "prior_share", -1.0))
        predict = pipeline_predictor(pipe, device)
    else:
        predict = generator_predictor(G, args.max_side, device, post_args[0], args.tile, *post_args[1:])
    if video:
        return _infer_video(args, predict, out, bool(getattr(G, "trimap_free", False)), backdrop)
    failed: List[tuple] = []
    done = 0
    for p in predict_many(predict, jobs, progress=len(jobs) > 1, desc=f"infer {args.mode}", failed=failed):
        fg = output_foreground(p.image, p.alpha, p.fg, args.fg, device)  # see README's F table for the choice
        write_image(out / "alpha" / f"{p.name}.png", p.alpha)
        write_image(out / "fg" / f"{p.name}.png", fg)
        write_image(out / "rgba" / f"{p.name}.png", np.concatenate([fg, p.alpha[..., None]], axis=-1))
        if backdrop is not None:
            write_image(out / "composite" / f"{p.name}.png", composite_on(p.alpha, fg, backdrop))
        print(f"{p.name} -> {out / 'alpha' / (p.name + '.png')} ({p.seconds:.2f} s)", flush=True)
        done += 1
    if failed and len(jobs) == 1:
        raise GanMattingError(failed[0][1])
    if failed:  # a bad file in the middle of a folder is skipped, not fatal; the summary names each
        print(f"{done} of {len(jobs)} image(s) matted; {len(failed)} failed:", file=sys.stderr)
        for job, why in failed:
            print(f"  {job.image}: {why}", file=sys.stderr)
        return 1
    return 0


def _infer_video(args, predict, out: Path, trimap_free: bool, backdrop) -> int:
    from ..data.io import read_trimap
    from ..video import matte_video
    first = read_trimap(args.trimap) if args.trimap and not trimap_free else None
    res = matte_video(Path(args.input), predict, out, first, trimap_free, frames=args.frames, smooth=args.smooth,
                      backdrop=backdrop if backdrop is not None and backdrop.ndim == 1 else None,
                      radius=args.video_radius, fg_mode=args.fg)
    print(f"{args.input}: {res.frames} frame(s) in {res.seconds:.1f} s ({res.frames / max(res.seconds, 1e-9):.2f} frames/s) "
          f"-> {', '.join(res.outputs)}")
    return 0
