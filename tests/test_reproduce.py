"""The reproduction driver (experiments/reproduce.py): its target list, errors, and a real tiny run that
writes a stamped table; the variant table's tiny form when ../shared/data is there."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


from .conftest import shared_path

REPO = Path(__file__).resolve().parents[1]


def _driver():
    spec = importlib.util.spec_from_file_location("reproduce", REPO / "experiments" / "reproduce.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_every_target_names_existing_scripts(capsys):
    rep = _driver()
    assert rep.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in rep.ORDER)
    for t in rep.TARGETS.values():  # every script a target runs is in the repo
        for cmd in t.commands + t.tiny:
            for word in cmd.split():
                if word.startswith("experiments/") and "$" not in word:
                    assert (REPO / word).is_file(), word
    assert rep.main(["no-such-table"]) == 2


def test_tiny_bench_writes_a_stamped_table(tmp_path):
    rep = _driver()
    assert rep.main(["--tiny", "bench", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "bench.md").read_text()
    for field in ("- command: `", "- date: ", "commit ", "- versions: gan_matting", "torch ", "- hardware: ", "logical cores"):
        assert field in text, field
    assert "## runs/reproduce_tiny/bench/bench_metrics.md" in text and "| SAD |" in text


def test_tiny_variant_table_has_a_row_per_variant(tmp_path):
    data = shared_path("data", "alphamatting_dev")
    rep = _driver()
    assert rep.main(["--tiny", "variants", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "variants.md").read_text()
    for v in ("unet (2 steps)", "autoencoder (2 steps)"):
        assert f"| {v} |" in text, v
    assert "trimap1, all" in text and "trimap2, all" in text and data.is_dir()
