"""The bench command writes its tables (speed is measured there, never asserted in tests)."""
from __future__ import annotations

import pytest

from gan_matting.cli import main


def _rows(md: str):
    """Data rows of the markdown table as lists of cells (header and rule skipped)."""
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


@pytest.mark.slow
def test_bench_quick_writes_tables(tmp_path):
    assert main(["bench", "metrics", "--quick", "--repeats", "2", "--out", str(tmp_path)]) == 0
    assert main(["bench", "train", "--quick", "--repeats", "1", "--out", str(tmp_path)]) == 0
    m = (tmp_path / "bench_metrics.md").read_text()
    t = (tmp_path / "bench_train.md").read_text()
    for text in (m, t):
        assert "- date:" in text and "- torch:" in text and "- cpu:" in text
    metric_rows = {r[0]: [float(x) for x in r[1:]] for r in _rows(m)}
    assert {"SAD", "MSE", "Grad", "Conn"} <= set(metric_rows)
    for name, (median, lo, hi) in metric_rows.items():
        assert 0 < lo <= median <= hi, name        # real timings, ordered
    train_rows = _rows(t)
    assert len(train_rows) == 3 and float(train_rows[0][-1]) == 1.0  # ratios are to the first row
    for r in train_rows:
        s_per_step, per_s = float(r[4]), float(r[5])
        assert s_per_step > 0 and per_s == pytest.approx(int(r[3].split(" x ")[0]) / s_per_step, rel=0.02)
    g_only = train_rows[1]
    assert g_only[2] == "0" and float(g_only[-1]) < 1.0  # no D is built, so the step is cheaper
