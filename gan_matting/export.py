"""Export trained networks to ONNX / TorchScript, and run an exported generator.

    gan-matting export --weights checkpoints/gan_matting_real_cf.safetensors --format onnx --out g.onnx
    gan-matting infer photo.jpg --trimap t.png --backend onnx --weights g.onnx --out out/

What is exported is the network, not the pipeline around it: the graph takes inputs whose height and
width are multiples of ``pad_multiple`` (what the network pads to: 2**depth, 2**(depth-1) for u2net; batch,
height and width are dynamic) and returns
``alpha`` (B, 1, H, W) and ``fg`` (B, 3, H, W). The runner here does what ``UNetGenerator.forward`` does
around the network: it pads with ``pad_to_multiple``, computes the classical prior for prior-based
weights (pymatting, outside the graph), crops, and copies the trimap's known regions. Inputs, in order:
``image`` (B, 3, H, W) on [0, 1]; ``trimap`` (B, 1, H, W) in {0, 0.5, 1} unless trimap-free; ``prior``
(B, k, H, W) for prior-based weights. The generator's config travels in the ONNX metadata
(``gan_matting.generator``) and in the TorchScript file's extra file ``generator.json``.

A refiner file (``--refiner``) is exported beside it as ``OUT-STEM.refiner.onnx`` (cells (N, C, S, S) ->
alpha, fg of the (S - 2 margin)^2 core); ``--backend onnx`` runs the quality mode only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from . import GanMattingError
from .atomic import atomic_write
from .models.unet import pad_to_multiple

FORMATS = ("onnx", "torchscript")
OPSET = 17  # onnxruntime's CPU provider runs every op of these graphs at opset 17
META_KEY = "gan_matting.generator"


class GeneratorGraph(nn.Module):
    """The generator as an export-friendly graph: positional tensors in, (alpha, fg) out."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G.eval()
        self.prior, self.trimap_free = bool(getattr(G, "prior", "")), bool(getattr(G, "trimap_free", False))

    def forward(self, image: torch.Tensor, *rest: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        trimap = None if self.trimap_free else rest[0]
        prior = rest[-1] if self.prior else None
        out = self.G(image, trimap, prior) if self.prior else self.G(image, trimap)
        return out["alpha"], out["fg"]


def input_names(G: nn.Module) -> Tuple[str, ...]:
    names = ("image",) + (() if getattr(G, "trimap_free", False) else ("trimap",))
    return names + (("prior",) if getattr(G, "prior", "") else ())


def _example_inputs(G: nn.Module, m: int) -> Tuple[torch.Tensor, ...]:
    from .priors import prior_methods
    h, w = 2 * m, 3 * m
    g = torch.Generator().manual_seed(0)
    ex = {"image": torch.rand(1, 3, h, w, generator=g),
          "trimap": torch.randint(0, 3, (1, 1, h, w), generator=g).float() / 2,
          "prior": torch.rand(1, len(prior_methods(getattr(G, "prior", ""))), h, w, generator=g)}
    return tuple(ex[n] for n in input_names(G))


def pad_multiple(G: nn.Module) -> int:
    """The multiple the generator pads its input to (a network's ``pad_multiple``, else 2**depth): the
    runner must pad exactly as ``forward`` would, or the network sees other borders than in eager mode."""
    return int(getattr(G, "pad_multiple", 2 ** int(G.depth)))


def export_generator(weights, fmt: str, out, opset: int = OPSET) -> Path:
    """Write the generator of ``weights`` (.safetensors) as ONNX or TorchScript at ``out`` (atomically)."""
    from .models.weights import load_generator
    if fmt not in FORMATS:
        raise GanMattingError(f"--format {fmt!r}: choose from {', '.join(FORMATS)}")
    G, meta = load_generator(weights, "cpu")
    graph = GeneratorGraph(G).eval()
    m = pad_multiple(G)
    ex = _example_inputs(G, m)
    info = {"config": json.loads(meta["generator"]), "pad_multiple": m, "inputs": list(input_names(G)),
            "prior": getattr(G, "prior", ""),  # top level: an ensemble's config holds it per member
            "source": Path(weights).name}
    if fmt == "onnx":
        return atomic_write(out, lambda tmp: _write_onnx(graph, ex, tmp, input_names(G), info, opset))
    with torch.no_grad():
        traced = torch.jit.trace(graph, ex)
    return atomic_write(out, lambda tmp: torch.jit.save(traced, str(tmp), _extra_files={"generator.json": json.dumps(info)}))


def _write_onnx(graph: nn.Module, ex, path: Path, names, info: Dict, opset: int) -> None:
    import onnx
    axes = {n: {0: "batch", 2: "height", 3: "width"} for n in list(names) + ["alpha", "fg"]}
    with torch.no_grad():
        torch.onnx.export(graph, ex, str(path), input_names=list(names), output_names=["alpha", "fg"],
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    model = onnx.load(str(path))
    model.metadata_props.add(key=META_KEY, value=json.dumps(info))
    onnx.save(model, str(path))


class _RefinerGraph(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval()

    def forward(self, cells: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        out = self.net(cells)
        return out["alpha"], out["fg"]


def export_refiner(weights, out, opset: int = OPSET) -> Path:
    """The patch refiner of a refiner file as ONNX (cells (N, C, S, S) -> alpha, fg of the core)."""
    import onnx
    from .models.weights import load_refiner
    nets, _meta = load_refiner(weights, "cpu")
    net = nets["refiner"]
    c = net.in_channels
    s = 16 + 2 * int(net.margin)
    graph = _RefinerGraph(net)

    def write(tmp: Path) -> None:
        axes = {n: {0: "cells", 2: "size", 3: "size"} for n in ("cells", "alpha", "fg")}
        with torch.no_grad():
            torch.onnx.export(graph, (torch.rand(2, c, s, s),), str(tmp), input_names=["cells"],
                              output_names=["alpha", "fg"], dynamic_axes=axes, opset_version=opset, dynamo=False)
        model = onnx.load(str(tmp))
        model.metadata_props.add(key="gan_matting.refiner", value=json.dumps({"margin": int(net.margin), "channels": c}))
        onnx.save(model, str(tmp))
    return atomic_write(out, write)


class OnnxGenerator:
    """An exported generator under ONNX Runtime, called like ``predict_image``: numpy in, numpy out.

    The whole image goes through the graph at once (no tiles, unlike the PyTorch quality mode), so
    memory grows with the image: about what the untiled PyTorch model needs."""

    def __init__(self, path, threads: int = 0):
        import onnxruntime as ort
        p = Path(path)
        if not p.is_file():
            raise GanMattingError(f"{p}: ONNX file not found")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise GanMattingError(f"{p}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None
        raw = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if raw is None:
            raise GanMattingError(f"{p}: not a gan_matting generator export (no {META_KEY} metadata)")
        info = json.loads(raw)
        self.inputs, self.multiple = tuple(info["inputs"]), int(info["pad_multiple"])
        self.prior = info.get("prior", info["config"].get("prior", ""))  # older exports: in the config
        self.trimap_free = "trimap" not in self.inputs

    def __call__(self, image: np.ndarray, trimap: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        """image (H, W, 3) float on [0, 1]; trimap (H, W) uint8 0/128/255 -> alpha (H, W), fg (H, W, 3)."""
        from .data.trimap_format import apply_known, trimap_to_unit
        h, w = image.shape[:2]
        if trimap is None and not self.trimap_free:
            raise GanMattingError("this export needs a trimap (--trimap)")
        feeds: Dict[str, torch.Tensor] = {"image": torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()}
        if trimap is not None:
            feeds["trimap"] = torch.from_numpy(trimap_to_unit(trimap))[None, None].float()
        if self.prior:
            from .priors import prior_stack
            feeds["prior"] = torch.from_numpy(prior_stack(self.prior, image.astype(np.float64), trimap)).permute(2, 0, 1)[None].float()
        run = {n: pad_to_multiple(feeds[n], self.multiple).numpy() for n in self.inputs}
        alpha, fg = self.session.run(["alpha", "fg"], run)
        alpha, fg = alpha[0, 0, :h, :w], fg[0, :, :h, :w].transpose(1, 2, 0)
        if trimap is not None:
            alpha = apply_known(alpha, trimap_to_unit(trimap))
        return np.clip(alpha, 0, 1).astype(np.float32), np.clip(fg, 0, 1).astype(np.float32)
