"""The ``gan-matting`` command line.

    gan-matting check-data ../shared/data/alphamatting_dev
    gan-matting make-trimap --mask mask.png --method superpixel --image photo.jpg --out trimap.png
    gan-matting eval --method cf --data ../shared/data/alphamatting_dev --trimap trimap1 --out runs/cf
    gan-matting eval --pred runs/mymodel/alpha --data ../shared/data/alphamatting_dev --trimap trimap2
    gan-matting synth --preset hair-bench --out data/hair_bench
    gan-matting train --config experiments/cpu_light.yaml
    gan-matting infer photo.jpg --trimap trimap.png --weights checkpoints/gan_matting_cpu_light.safetensors --out out/
    gan-matting bench metrics
    gan-matting demo

Every subcommand has ``--help``. Errors in the input (unreadable files, size mismatches, bad trimaps,
empty folders) print one line naming the file and exit with status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

from . import GanMattingError, __version__


def _parse_subsets(items: Optional[List[str]]) -> Dict[str, List[str]]:
    from .evaluate import KNOWN_SUBSETS
    subsets = {k: list(v) for k, v in KNOWN_SUBSETS.items()}
    for item in items or []:
        if "=" not in item:
            raise GanMattingError(f"--subset needs NAME=a,b,c; got {item!r}")
        name, members = item.split("=", 1)
        subsets[name.strip()] = [m.strip() for m in members.split(",") if m.strip()]
    return subsets


def cmd_check_data(args) -> int:
    from .data.check import check_folder
    rep = check_folder(args.path, args.layout)
    print(rep.format())
    return 0 if rep.ok else 1


def cmd_make_trimap(args) -> int:
    from .data.io import read_alpha, read_rgb, write_trimap
    from .data.trimap import make_trimap
    from .validation import output_file
    output_file(args.out, "--out", lossless=True)
    image = read_rgb(args.image) if args.image else None
    if args.method == "maskrcnn":  # the auto-trimap front-end: its instance masks, then a band around them
        if not (args.weights and image is not None):
            raise GanMattingError("--method maskrcnn needs --weights (a trained Mask R-CNN .safetensors) and --image")
        from .models.weights import load_generator
        net, _ = load_generator(args.weights)
        if not hasattr(net, "foreground"):
            raise GanMattingError(f"{args.weights}: not Mask R-CNN weights (train experiments/variants/maskrcnn.yaml)")
        mask = (net.foreground(image, args.score) > 0.5).astype("float32")  # a soft mask would be unknown nearly everywhere
        if not mask.any():
            raise GanMattingError(f"{args.image}: Mask R-CNN found no foreground scoring >= {args.score} "
                                  "(lower --score, or fine-tune it on more data)")
        method = args.band
    else:
        if not args.mask:
            raise GanMattingError(f"--method {args.method} needs --mask (a mask or alpha image)")
        mask = read_alpha(args.mask)
        method = args.method
    if image is not None and image.shape[:2] != mask.shape:
        raise GanMattingError(f"size mismatch: {args.image} is {image.shape[1]}x{image.shape[0]}, "
                              f"{args.mask} is {mask.shape[1]}x{mask.shape[0]}")
    tri = make_trimap(method, mask, image, radius=args.radius, n_segments=args.segments)
    write_trimap(args.out, tri)
    print(f"wrote {args.out} ({(tri == 128).mean():.1%} unknown)")
    return 0


def cmd_eval(args) -> int:
    from . import evaluate as E
    subsets = _parse_subsets(args.subset)
    if (args.pred is None) == (args.method is None):
        raise GanMattingError("give exactly one of --pred DIR (score saved mattes) or --method NAME (run a baseline)")
    from .validation import output_dir
    out = output_dir(args.out) if args.out else None
    pred_dir = Path(args.pred) if args.pred else None
    title = ""
    if args.method:
        from .baselines import run_baseline
        out = out or output_dir(Path("runs") / f"eval_{args.method}_{args.trimap or 'default'}")
        times = E.predict_folder(lambda img, tri: run_baseline(args.method, img, tri, not args.no_fg),
                                 args.data, out, args.trimap, args.layout)
        pred_dir = out / "alpha"
        import numpy as np
        title = f"{args.method} on {args.data} ({args.trimap or 'default trimap'}), median {np.median(list(times.values())):.2f} s/image"
    out = out or output_dir(pred_dir.parent, "--out (default: the prediction folder's parent)")
    from . import sod as S
    sod = S.SODEvaluator()
    rows = E.evaluate_folder(pred_dir, args.data, args.trimap, args.layout, subsets, sod=sod)
    summary = E.summarise(rows, subsets)
    label = out.name  # the run's folder names it, here and in plot-pr
    paths = E.write_reports(rows, summary, out, title or f"{pred_dir} on {args.data} ({args.trimap or 'default trimap'})")
    sod_results = sod.results()
    sod_md = out / "sod.md"
    sod_md.write_text(S.markdown_table({label: sod_results}, "salient-object metrics"))
    curve = S.write_curve_csv(out / "pr_curve.csv", sod_results)
    png = S.plot_curves({label: (sod_results["precision"], sod_results["recall"], sod_results["f_curve"])},
                        out / "pr_curve.png", f"{label} on {Path(args.data).name}")
    print(E.markdown_table(summary, title))
    print(S.markdown_table({label: sod_results}))
    print(f"per-image CSV: {paths['csv']}\nmarkdown tables: {paths['md']}, {sod_md}\n"
          f"PR curve: {curve} and {png} (gan-matting plot-pr RUN... draws several runs in one figure)")
    return 0


def cmd_ensemble(args) -> int:
    from .models.ensemble import ensemble_from_weights
    from .models.weights import save_generator
    from .validation import output_file
    out = output_file(args.out)
    for w in args.weights:
        if not Path(w).is_file():
            raise GanMattingError(f"{w}: file not found")
    G = ensemble_from_weights(args.weights)
    path = save_generator(G, out, {"name": "ensemble", "members": G.member_configs},
                          {"members": json.dumps([Path(w).name for w in args.weights])})
    print(f"wrote {path} (ensemble of {len(args.weights)} generators, prior {G.prior or 'none'})")
    return 0


def cmd_export(args) -> int:
    from .export import export_generator, export_refiner
    from .models.weights import RELEASED_WEIGHTS
    from .validation import output_file
    out = output_file(args.out)
    if args.refiner and args.format != "onnx":
        raise GanMattingError("--refiner: the refiner is exported as ONNX only (use --format onnx)")
    path = export_generator(args.weights or RELEASED_WEIGHTS, args.format, out)
    print(f"wrote {path} ({args.format}; inputs padded to multiples of 2**depth by the runner)")
    if args.refiner:
        rpath = export_refiner(args.refiner, out.with_name(out.stem + ".refiner.onnx"))
        print(f"wrote {rpath} (patch refiner)")
    return 0


def cmd_serve(args) -> int:
    from .inference.predict import generator_predictor
    from .models.weights import RELEASED_WEIGHTS, load_generator
    from .validation import resolve_device
    from .web import Limits, MattingService, create_app
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.public:
        raise GanMattingError(f"--host {args.host}: the page has no login; add --public to serve beyond this machine")
    device = resolve_device(args.device)
    G, _meta = load_generator(args.weights or RELEASED_WEIGHTS, device)
    service = MattingService(generator_predictor(G, args.max_side, device), bool(getattr(G, "trimap_free", False)),
                             Limits(args.max_upload_mb << 20, int(args.max_mpx * 1e6)))
    import uvicorn
    print(f"warming up the solvers ({service.warm_up():.1f} s)", flush=True)
    print(f"gan-matting serve: http://{args.host}:{args.port}/  (Ctrl+C stops)", flush=True)
    uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_plot_pr(args) -> int:
    from . import sod as S
    from .validation import output_file
    out = output_file(args.out)
    curves = {}
    for run in args.runs:
        path = Path(run) / "pr_curve.csv"
        if not path.is_file():
            raise GanMattingError(f"{run}: no pr_curve.csv (run gan-matting eval with --out {run} first)")
        try:
            curves[Path(run).name] = S.read_curve_csv(path)
        except ValueError as e:
            raise GanMattingError(str(e)) from None
    S.plot_curves(curves, out, args.title or "")
    print(f"wrote {out} ({len(curves)} run(s))")
    return 0


def cmd_synth(args) -> int:
    from .data.synth.cli import run_synth
    return run_synth(args)


def cmd_train(args) -> int:
    from .config import load_config
    from .training.trainer import train
    overrides = list(args.set or [])
    if args.data:
        overrides.append(f"data.root={args.data}")
    if args.init_from:
        overrides.append(f"train.init_from={args.init_from}")
    if args.lambda_adv is not None:
        overrides.append(f"loss.lambda_adv={args.lambda_adv}")
    cfg = load_config(args.config, overrides)
    logs = train(cfg, resume=args.resume, progress=not args.no_progress, stop_after=args.stop_after)
    print({k: round(v, 5) for k, v in logs.items() if isinstance(v, float)})
    return 0


def cmd_train_refiner(args) -> int:
    from .config import RefinerConfig, load_config
    from .training.refiner import train_refiner
    cfg = load_config(args.config, list(args.set or []), schema=RefinerConfig)
    logs = train_refiner(cfg, resume=args.resume, stop_after=args.stop_after, progress=not args.no_progress)
    print({k: round(v, 5) for k, v in logs.items()})
    return 0


def cmd_infer(args) -> int:
    from .inference.cli import run_infer
    return run_infer(args)


def cmd_bench(args) -> int:
    from .bench import run_bench
    from .validation import output_dir
    output_dir(args.out)
    if bool(args.image) != bool(args.trimap):
        raise GanMattingError("bench infer: give --image and --trimap together")
    return run_bench(args.what, Path(args.out), args.repeats, args.quick, args.config, args.image, args.trimap, args.refiner,
                     args.fast_only)


def cmd_demo(args) -> int:
    from .demo import run_demo
    from .validation import output_dir
    output_dir(args.out)
    return run_demo(Path(args.out), quick=args.quick)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (``error: ...``, exit 2) like every other error here."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .baselines import METHODS as BASELINES
    from .data.layouts import LAYOUTS
    from .foreground import FG_METHODS
    from .data.trimap import TRIMAP_METHODS
    from .inference.predict import POST_PROCESSES
    layout_names = ["auto", *sorted(LAYOUTS)]
    from .validation import float_in, int_at_least
    p = OneLineParser(prog="gan-matting", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"gan-matting {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    p.add_argument("--allow-huge", action="store_true",
                   help="read images above Pillow's decompression-bomb limit (~89 Mpx), for every subcommand")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("check-data", help="validate a dataset folder (exit 1 with a per-file list)")
    s.add_argument("path", help="dataset root")
    s.add_argument("--layout", default="auto", choices=layout_names, help="folder layout (default: detected)")
    s.set_defaults(fn=cmd_check_data)

    s = sub.add_parser("make-trimap", help="make a 0/128/255 trimap from a mask or alpha")
    s.add_argument("--mask", help="mask or alpha image (white = foreground); not with --method maskrcnn")
    s.add_argument("--method", default="erode-dilate", choices=[*TRIMAP_METHODS, "maskrcnn"],
                   help="how the unknown band is drawn; maskrcnn: from a trained Mask R-CNN's masks of --image")
    s.add_argument("--weights", help="--method maskrcnn: Mask R-CNN weights (.safetensors from experiments/variants/maskrcnn.yaml)")
    s.add_argument("--score", type=float_in(0.0, 1.0), default=0.5, help="--method maskrcnn: detection score threshold (default 0.5)")
    s.add_argument("--band", default="erode-dilate", choices=TRIMAP_METHODS,
                   help="--method maskrcnn: how its mask becomes a trimap (default erode-dilate; superpixel = SLIC)")
    s.add_argument("--image", help="the photo (needed by --method superpixel)")
    s.add_argument("--out", required=True, help="output trimap (lossless: .png, .tif or .bmp)")
    s.add_argument("--radius", type=int_at_least(0), default=10, help="erode/dilate radius in pixels (default 10)")
    s.add_argument("--segments", type=int_at_least(1), default=800, help="SLIC superpixels (default 800; SLIC is deterministic)")
    s.set_defaults(fn=cmd_make_trimap)

    s = sub.add_parser("eval", help="score predicted mattes, or run a pymatting baseline and score it")
    s.add_argument("--data", required=True, help="dataset root with ground truth (any layout)")
    s.add_argument("--pred", help="folder of predicted alpha PNGs named like the inputs")
    s.add_argument("--method", choices=sorted(BASELINES), help="run a pymatting baseline instead")
    s.add_argument("--trimap", help="trimap folder name, e.g. trimap1 / trimap2 / trimaps")
    s.add_argument("--layout", default="auto", choices=layout_names, help="folder layout (default: detected)")
    s.add_argument("--subset", action="append", metavar="NAME=a,b",
                   help="extra named subset for the table (hair/fur/holes/hard are built in)")
    s.add_argument("--out", help="output folder for metrics.csv / metrics.md (and baseline mattes)")
    s.add_argument("--no-fg", action="store_true", help="baselines: skip foreground estimation")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("ensemble", help="one generator file that averages several (e.g. seeds of one recipe)")
    s.add_argument("weights", nargs="+", help="2 or more .safetensors generators with the same prior and trimap mode")
    s.add_argument("--out", required=True, help=".safetensors file to write")
    s.set_defaults(fn=cmd_ensemble)

    s = sub.add_parser("export", help="export the generator (and a refiner) to ONNX or TorchScript")
    s.add_argument("--weights", help=".safetensors generator (default: the best released model, "
                   "checkpoints/gan_matting_real_u2net_blend.safetensors)")
    s.add_argument("--format", default="onnx", choices=["onnx", "torchscript"], help="output format (default onnx)")
    s.add_argument("--out", required=True, help="file to write (.onnx or .pt)")
    s.add_argument("--refiner", help="also export this refiner .safetensors as OUT-STEM.refiner.onnx")
    s.set_defaults(fn=cmd_export)

    s = sub.add_parser("plot-pr", help="PR and F-threshold curves of several eval runs in one figure")
    s.add_argument("runs", nargs="+", help="eval output folders (each holds pr_curve.csv)")
    s.add_argument("--out", required=True, help="PNG file to write")
    s.add_argument("--title", help="figure title")
    s.set_defaults(fn=cmd_plot_pr)

    s = sub.add_parser("synth", help="procedural hair/fur/jewellery data with exact alpha and F")
    from .data.synth.cli import add_arguments as synth_args
    synth_args(s)
    s.set_defaults(fn=cmd_synth)

    s = sub.add_parser("train", help="train a matting GAN from a YAML config (resumable, DDP with torchrun)")
    s.add_argument("--config", required=True, help="YAML file, e.g. experiments/cpu_light.yaml")
    s.add_argument("--data", help="training folder (overrides data.root)")
    s.add_argument("--resume", help="checkpoint file or run checkpoints/ folder to continue from")
    s.add_argument("--init-from", metavar="WEIGHTS", help="start from generator .safetensors (warm start, step 0)")
    s.add_argument("--lambda-adv", type=float, help="adversarial weight (0 = the no-GAN ablation; no D is built)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. optim.lr_g=1e-4")
    s.add_argument("--no-progress", action="store_true", help="no tqdm bar (logs still go to TensorBoard)")
    s.add_argument("--stop-after", type=int_at_least(1), help="leave (with a checkpoint) after N steps of this call; resume later")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("train-refiner", help="stage 2: train the patch refiner + error head behind frozen generator weights")
    s.add_argument("--config", required=True, help="YAML file, e.g. experiments/refiner.yaml")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. steps=500")
    s.add_argument("--resume", action="store_true", help="continue from the run folder's newest step_*.pt")
    s.add_argument("--stop-after", type=int_at_least(1), help="leave (with a checkpoint) after N steps of this call; resume later")
    s.add_argument("--no-progress", action="store_true", help="no tqdm bar (losses still go to TensorBoard)")
    s.set_defaults(fn=cmd_train_refiner)

    s = sub.add_parser("infer", help="matte an image or a folder with trained generator weights")
    s.add_argument("input", help="image file, folder of images, or a video file (.mp4 .mov .mkv .avi .webm .m4v)")
    s.add_argument("--weights", help=".safetensors generator (default: the best released model, "
                   "checkpoints/gan_matting_real_u2net_blend.safetensors; with --mode fast the refiner's "
                   "coarse generator, checkpoints/gan_matting_real_cf.safetensors)")
    s.add_argument("--trimap", help="trimap file or folder (names matching the inputs); omit for trimap-free weights")
    s.add_argument("--out", required=True, help="output folder: alpha/, fg/, rgba/")
    s.add_argument("--max-side", type=int_at_least(0), default=0, help="downscale longer sides above this (0 = full size)")
    s.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    s.add_argument("--post", default="auto", choices=POST_PROCESSES,
                   help="quality mode's post-process. propagate: refine alpha with the matting Laplacian, the "
                        "network's alpha as a soft data term; propagate+lkm: then average with large-kernel matting; "
                        "auto (default): propagate+lkm for still images up to ~1080p (2.2 MP), none above, for "
                        "videos and for --mode fast")
    s.add_argument("--post-weight", type=float_in(1e-4, 100.0), default=0.05,
                   help="--post propagate: weight of the network's alpha against the Laplacian (default 0.05)")
    s.add_argument("--post-radius", type=int, choices=[1, 2], default=1,
                   help="--post propagate: the Laplacian's window radius, 1 (3x3) or 2 (5x5; better on the hair "
                        "photo, worse on the plant photo of the validation part)")
    s.add_argument("--lkm-share", type=float_in(0.0, 1.0), default=0.25,
                   help="--post propagate+lkm: share of large-kernel matting in the average (default 0.25, "
                        "chosen on the validation part of alphamatting_dev)")
    s.add_argument("--mode", default="quality", choices=["quality", "fast"],
                   help="quality: full-resolution generator (tiled when large); fast: coarse pass + patch refiner")
    s.add_argument("--refiner", help="fast mode: refiner .safetensors (default: checkpoints/gan_matting_refiner.safetensors)")
    s.add_argument("--prior-share", type=float_in(0.0, 1.0, allow=(-1.0,)), default=-1.0,
                   help="fast mode: average the coarse alpha with the closed-form prior, this share of it, before the "
                        "guided upsampling (-1 = the refiner's setting, the default; 0 = off; see README)")
    s.add_argument("--coarse-side", type=int_at_least(0), default=0, help="fast mode: coarse long side in px (0 = the refiner's setting)")
    s.add_argument("--budget", type=float_in(0.0, 1.0, allow=(-1.0,)), default=-1.0,
                   help="fast mode: share of pixels refined, 0..1 (-1 = the refiner's setting; 0 = no refinement)")
    s.add_argument("--fg", default="auto", choices=["auto", *FG_METHODS],
                   help="foreground colour: ml = pymatting's estimate from the predicted alpha (lower F error, "
                        "README's F table), blur = blur fusion from the predicted alpha (box means only: fast, on "
                        "the GPU too), model = the generator's own F; auto (default) = ml in quality mode, blur in "
                        "fast mode")
    s.add_argument("--composite-on", metavar="COLOR|IMAGE",
                   help="also write composite/NAME.png on a colour (#RRGGBB or R,G,B) or an image, for a visual check")
    s.add_argument("--tile", type=int_at_least(0), default=0, help="quality mode: tile side in px (0 = from free memory)")
    s.add_argument("--precision", choices=["fp32", "fp16"], default="fp32",
                   help="network precision; fp16 needs --device cuda (guided-filter solves and outputs stay fp32)")
    s.add_argument("--frames", default="video", choices=["video", "png"],
                   help="video input: write alpha.mp4 + composite.mp4 (default) or PNG sequences alpha/ + rgba/")
    s.add_argument("--smooth", type=float_in(0.0, 0.99), default=0.0,
                   help="video input: temporal smoothing of alpha, weight of the previous frame (default 0 = off)")
    s.add_argument("--video-radius", type=int_at_least(1), default=10,
                   help="video input: erode/dilate radius of the trimap each frame takes from the previous alpha (default 10)")
    s.add_argument("--backend", default="torch", choices=["torch", "onnx"],
                   help="torch (default) or onnx: run an exported generator (--weights FILE.onnx) under ONNX Runtime, quality mode")
    s.set_defaults(fn=cmd_infer)

    s = sub.add_parser("serve", help="a local web page: upload an image, paint or upload a trimap, see and download the matte")
    s.add_argument("--weights", help=".safetensors generator (default: the best released model, "
                   "checkpoints/gan_matting_real_u2net_blend.safetensors)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int_at_least(1), default=8000, help="port (default 8000)")
    s.add_argument("--public", action="store_true", help="allow a --host other than loopback (the page has no login)")
    s.add_argument("--max-upload-mb", type=int_at_least(1), default=40, help="largest request in MiB (default 40)")
    s.add_argument("--max-mpx", type=float_in(0.01, 1000.0), default=16.0, help="largest image in megapixels (default 16)")
    s.add_argument("--max-side", type=int_at_least(0), default=0, help="downscale longer sides above this (0 = full size)")
    s.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    s.set_defaults(fn=cmd_serve)

    s = sub.add_parser("bench", help="speed benchmarks; writes a markdown table with hardware and versions")
    s.add_argument("what", choices=["metrics", "synth", "train", "infer", "cuda", "all"],
                   help="which table (cuda: GPU fast-mode FPS and VRAM; all: every table, cuda only with a GPU)")
    s.add_argument("--config", help="train bench: YAML config of the model to time (default: the light CPU model)")
    s.add_argument("--out", default="runs/bench", help="output folder (default runs/bench)")
    s.add_argument("--repeats", type=int_at_least(1), default=5, help="timed repeats per row (median reported)")
    s.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    s.add_argument("--image", help="infer bench: a photo to time on (resized to 1920x1080; default: a procedural portrait)")
    s.add_argument("--trimap", help="infer bench: the photo's trimap")
    s.add_argument("--refiner", help="infer bench: refiner weights (default: the released refiner)")
    s.add_argument("--fast-only", action="store_true",
                   help="infer bench: only cf + ML and the fast-mode rows (the quality rows take minutes per image)")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("demo", help="the embedded default job: synthetic hair benchmark, trimaps, baseline, metrics")
    s.add_argument("--out", default="runs/demo", help="output folder (data, mattes, tables)")
    s.add_argument("--quick", action="store_true", help="fewer, smaller images")
    s.set_defaults(fn=cmd_demo)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.allow_huge:
        from .data import io as gio
        gio.MAX_PIXELS = None
    try:
        return int(args.fn(args) or 0)
    except GanMattingError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
