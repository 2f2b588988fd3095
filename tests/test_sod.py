"""Dataset-level SOD metrics: equal to PySODMetrics on the same inputs, and the conventions that
differ from per-image averaging."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from gan_matting import sod

pysod = pytest.importorskip("py_sod_metrics", reason="PySODMetrics is a core dependency (setup.cfg)")


def _dataset(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(5):
        h, w = 23 + 4 * k, 31 - 2 * k
        gt = np.zeros((h, w), np.uint8)
        gt[h // 4: 3 * h // 4, w // 5: 4 * w // 5] = 255
        gt[rng.random((h, w)) < 0.05] = 200
        pred = np.clip(gt * 0.7 + rng.normal(40, 50, (h, w)), 0, 255).astype(np.uint8)
        out.append((pred, gt))
    out.append((np.full((12, 13), 90, np.uint8), out[0][1][:12, :13].copy()))  # constant prediction
    out.append((out[1][0][:10, :10].copy(), np.zeros((10, 10), np.uint8)))      # no foreground in gt
    out.append((np.linspace(0, 100, 150).reshape(10, 15).astype(np.uint8),      # never reaches 255
                np.where(np.arange(150).reshape(10, 15) > 70, 255, 0).astype(np.uint8)))
    return out


def test_equal_to_pysodmetrics():
    data = _dataset()
    ev = sod.SODEvaluator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PySODMetrics warns that Fmeasure will move to FmeasureV2
        fm, mae, sm, em, wfm = pysod.Fmeasure(), pysod.MAE(), pysod.Smeasure(), pysod.Emeasure(), pysod.WeightedFmeasure()
    v2 = pysod.FmeasureV2({"iou": pysod.IOUHandler(with_dynamic=False, with_adaptive=False, with_binary=True),
                           "dice": pysod.DICEHandler(with_dynamic=False, with_adaptive=False, with_binary=True)})
    for pred, gt in data:
        ev.step(pred, gt)
        for m in (fm, mae, sm, em, wfm, v2):
            m.step(pred=pred, gt=gt)
    ours = ev.results()
    f, v = fm.get_results(), v2.get_results()
    np.testing.assert_allclose(ours["f_curve"], f["fm"]["curve"], rtol=1e-12)
    np.testing.assert_allclose(ours["precision"], f["pr"]["p"], rtol=1e-12)
    np.testing.assert_allclose(ours["recall"], f["pr"]["r"], rtol=1e-12)
    expected = {"max_f": f["fm"]["curve"].max(), "mean_f": f["fm"]["curve"].mean(), "adaptive_f": f["fm"]["adp"],
                "mae": mae.get_results()["mae"], "s_measure": sm.get_results()["sm"],
                "max_e": em.get_results()["em"]["curve"].max(), "adaptive_e": em.get_results()["em"]["adp"],
                "weighted_f": wfm.get_results()["wfm"], "iou": v["iou"]["binary"], "dice": v["dice"]["binary"]}
    for k, val in expected.items():
        assert ours[k] == pytest.approx(float(val), rel=1e-12, abs=1e-15), k
    assert ours["n"] == len(data)


def test_max_f_is_max_of_the_mean_curve_not_mean_of_maxima():
    """Two images whose best thresholds differ: the dataset max-F is below the mean of per-image maxima."""
    gt = np.zeros((20, 20), np.uint8)
    gt[:, :10] = 255
    a = np.where(gt > 0, 250, 200).astype(np.uint8)
    a[0, 15] = 0  # after min-max normalisation a separates the classes only at thresholds 205..255
    b = np.where(gt > 0, 60, 30).astype(np.uint8)
    b[0, 15] = 255  # and b only at thresholds 1..34 (plus one false positive)
    ev = sod.SODEvaluator()
    per_image_max = []
    for pred in (a, b):
        ev.step(pred, gt)
        per_image_max.append(ev.fcurve[-1].max())
    res = ev.results()
    assert res["max_f"] < np.mean(per_image_max) - 0.01
    assert res["max_f"] == pytest.approx(np.mean(ev.fcurve, axis=0).max())


def test_input_checks_and_curve_files(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        sod.prepare(np.zeros((4, 4)), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        sod.prepare(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="no image"):
        sod.SODEvaluator().results()
    ev = sod.SODEvaluator()
    for pred, gt in _dataset(1)[:3]:
        ev.step(pred, gt)
    res = ev.results()
    path = sod.write_curve_csv(tmp_path / "pr.csv", res)
    p, r, f = sod.read_curve_csv(path)
    np.testing.assert_allclose(p, res["precision"], atol=1e-6)
    np.testing.assert_allclose(f, res["f_curve"], atol=1e-6)
    png = sod.plot_curves({"a": (p, r, f), "b": (p * 0.9, r, f * 0.9)}, tmp_path / "pr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="PR-curve"):
        sod.read_curve_csv(tmp_path / "bad.csv")
    table = sod.markdown_table({"run": res})
    assert "| run | 3 |" in table and "max F" in table
