"""The small owners every layer shares: trimap encoding, atomic writes, config comparison."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_matting.atomic import atomic_write
from gan_matting.config import config_diff
from gan_matting.data.trimap_format import apply_known, trimap_onehot, trimap_to_unit, unknown_mask

PKG = Path(__file__).resolve().parents[1] / "gan_matting"


def test_trimap_encoding_round_trip_numpy_and_torch():
    raw = np.array([[0, 128, 255]], np.uint8)
    unit = trimap_to_unit(raw)
    assert unit.dtype == np.float32 and unit.tolist() == [[0.0, 0.5, 1.0]]
    assert torch.equal(trimap_to_unit(torch.from_numpy(raw)), torch.from_numpy(unit))
    t = torch.from_numpy(unit)[None, None]
    oh = trimap_onehot(t)
    assert oh.shape == (1, 3, 1, 3) and torch.equal(oh[0, :, 0], torch.eye(3))
    assert unknown_mask(t).flatten().tolist() == [0.0, 1.0, 0.0]


def test_apply_known_numpy_matches_torch():
    alpha = np.random.default_rng(0).random((5, 6)).astype(np.float32)
    tri = trimap_to_unit(np.random.default_rng(1).choice([0, 128, 255], (5, 6)).astype(np.uint8))
    a_np = apply_known(alpha, tri)
    a_t = apply_known(torch.from_numpy(alpha), torch.from_numpy(tri)).numpy()
    assert np.array_equal(a_np, a_t) and a_np.dtype == np.float32
    assert (a_np[tri == 1] == 1).all() and (a_np[tri == 0] == 0).all()
    assert np.array_equal(a_np[tri == 0.5], alpha[tri == 0.5])


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "x.bin"
    atomic_write(target, lambda p: p.write_bytes(b"old"))

    def broken(p: Path):
        p.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["x.bin"]  # no temporary left behind


def test_config_diff_names_dotted_keys():
    a = {"model": {"generator": {"width": 16, "depth": 5}}, "train": {"steps": 10}}
    b = {"model": {"generator": {"width": 32, "depth": 5}}, "train": {"steps": 10, "new": 1}}
    assert config_diff(a, b) == ["model.generator.width: 16 -> 32", "train.new: '<absent>' -> 1"]
    assert config_diff(a, a) == []


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            dots = "." * node.level
            yield dots + node.module


def test_layers_point_down():
    """models/, losses/, data/ and inference/ never import training/; data/ never imports models/."""
    for sub, banned in (("models", ("training",)), ("losses", ("training", "models")),
                        ("inference", ("training",)), ("data", ("training", "models", "losses", "inference"))):
        for f in (PKG / sub).rglob("*.py"):
            for mod in _imports(f):
                top = mod.lstrip(".").split(".")[0]
                assert not (mod.startswith("..") and top in banned), f"{f.relative_to(PKG)} imports {mod}"
