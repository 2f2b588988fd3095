"""The bench command writes its tables (speed is measured there, never asserted in tests)."""
from __future__ import annotations

from gan_matting.cli import main


def test_bench_quick_writes_tables(tmp_path, capsys):
    assert main(["bench", "metrics", "--quick", "--repeats", "1", "--out", str(tmp_path)]) == 0
    assert main(["bench", "train", "--quick", "--repeats", "1", "--out", str(tmp_path)]) == 0
    m = (tmp_path / "bench_metrics.md").read_text()
    t = (tmp_path / "bench_train.md").read_text()
    for text in (m, t):
        assert "- date:" in text and "- torch:" in text and "- cpu:" in text
    assert "| Conn |" in m
    assert "G + global D + local D" in t and "G only (lambda_adv 0)" in t and "ratio to first" in t
