"""Exact DIM metrics: the shared checker, plus tests of our own that need no shared data."""
from __future__ import annotations

import subprocess
import sys
from collections import deque

import numpy as np
import pytest

from gan_matting import metrics as M

from .conftest import REPO, shared_path


def test_shared_metric_checker_passes():
    checker = shared_path("metrics", "check_metrics.py")
    res = subprocess.run([sys.executable, str(checker), "--adapter", str(REPO / "tests" / "metric_adapter.py")],
                         capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert res.returncode == 0, res.stdout + res.stderr
    assert " 0 failed" in res.stdout and "FAIL" not in res.stdout


def _case(seed=0, h=24, w=30):
    rng = np.random.default_rng(seed)
    gt = np.clip(rng.normal(0.5, 0.4, (h, w)), 0, 1)
    pred = np.clip(gt + rng.normal(0, 0.1, (h, w)), 0, 1)
    tri = rng.choice(np.array([0, 128, 255], np.uint8), size=(h, w), p=[0.3, 0.4, 0.3])
    return (np.round(pred * 255).astype(np.uint8), np.round(gt * 255).astype(np.uint8), tri)


def test_sad_mse_scale_and_unknown_only():
    gt = np.zeros((10, 20), np.float64)
    pred = np.full_like(gt, 0.1)
    tri = np.zeros((10, 20), np.uint8)
    tri[:, :10] = 128  # 100 unknown pixels; the other 100 differ too but must not count
    assert M.sad(pred, gt, tri) == pytest.approx(100 * 0.1 / 1000)
    assert M.mse(pred, gt, tri) == pytest.approx(0.01)  # raw mean, no /1000
    assert M.sad(gt, gt, tri) == 0.0


def test_uint8_and_float_inputs_agree_and_no_wraparound():
    pred, gt, tri = _case(1)
    for fn in (M.sad, M.mse, M.gradient_error, M.connectivity_error):
        assert fn(pred, gt, tri) == pytest.approx(fn(pred / 255.0, gt / 255.0, tri), rel=1e-9)
    # uint8 subtraction would wrap around: 0 - 255 must count as 1, not 1/255
    a, b = np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)
    assert M.sad(a, b, np.full((4, 4), 128, np.uint8)) == pytest.approx(16 / 1000)


def test_gradient_kernel_is_dim_kernel():
    k = M._GRAD_KX
    assert k.shape == (9, 9)  # halfsize 4 for sigma 1.4
    assert np.sqrt((k ** 2).sum()) == pytest.approx(1.0)
    assert np.allclose(k, -k[:, ::-1])  # odd in x
    assert np.allclose(k, k[::-1, :])   # even in y


def test_gradient_uses_mat2gray():
    _, gt, tri = _case(2)
    gt = gt.copy()
    gt.flat[0], gt.flat[1] = 0, 255
    scaled = np.round(gt * 0.8).astype(np.uint8)  # max 204: mat2gray stretches it back
    assert M.gradient_error(scaled, gt, tri) < 0.02 * M.gradient_error(np.zeros_like(gt), gt, tri)
    assert M.gradient_error(gt, gt, tri) == 0.0


def _conn_bruteforce(pred, gt, tri):
    """Slow, literal transcription of compute_connectivity_error.m (BFS, column-major scan)."""
    p, g = pred / 255.0, gt / 255.0
    h, w = p.shape
    lmap = -np.ones((h, w))
    for i in range(1, 11):
        t = i / 10
        inter = (p >= t) & (g >= t)
        seen = np.zeros((h, w), bool)
        best = []
        for x in range(w):          # column-major, like bwconncomp
            for y in range(h):
                if inter[y, x] and not seen[y, x]:
                    comp, q = [], deque([(y, x)])
                    seen[y, x] = True
                    while q:
                        cy, cx = q.popleft()
                        comp.append((cy, cx))
                        for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                            if 0 <= ny < h and 0 <= nx < w and inter[ny, nx] and not seen[ny, nx]:
                                seen[ny, nx] = True
                                q.append((ny, nx))
                    if len(comp) > len(best):  # strict: the first of equal sizes wins
                        best = comp
        omega = np.zeros((h, w), bool)
        for cy, cx in best:
            omega[cy, cx] = True
        lmap[(lmap == -1) & ~omega] = (i - 1) / 10
    lmap[lmap == -1] = 1
    dp, dg = p - lmap, g - lmap
    php, phg = 1 - dp * (dp >= 0.15), 1 - dg * (dg >= 0.15)
    return np.abs(php - phg)[tri == 128].sum() / 1000


@pytest.mark.parametrize("seed", range(6))
def test_connectivity_matches_bruteforce(seed):
    pred, gt, tri = _case(seed, 14, 17)
    if seed % 2:  # exact decimal levels: 153/255 == 0.6 must pass the 0.6 threshold
        gt = np.where(gt > 128, 153, 51).astype(np.uint8)
    assert M.connectivity_error(pred, gt, tri) == pytest.approx(_conn_bruteforce(pred, gt, tri), rel=1e-9)


def test_connectivity_tie_break_is_column_major():
    gt = np.zeros((6, 6), np.uint8)
    gt[0, 3:6] = 255  # component A, first in row-major order
    gt[3:6, 0] = 255  # component B, same size, first in column-major order
    pred = gt.copy()
    pred[0, 3:6] = 200
    tri = np.full(gt.shape, 128, np.uint8)
    assert M.connectivity_error(pred, gt, tri) == pytest.approx(_conn_bruteforce(pred, gt, tri))


def test_connectivity_empty_policies():
    gt = np.full((8, 8), 255, np.uint8)
    pred = np.zeros_like(gt)
    tri = np.full(gt.shape, 128, np.uint8)
    assert M.connectivity_error(pred, gt, tri, empty="skip") == 0.0
    assert M.connectivity_error(pred, gt, tri, empty="assign") > 0.0
    with pytest.raises(ValueError):
        M.connectivity_error(pred, gt, tri, empty="nope")


def test_sod_metrics_on_perfect_and_inverted():
    gt = np.zeros((20, 20), np.uint8)
    gt[5:15, 5:15] = 255
    f = M.f_measure(gt, gt)
    assert f["max_f"] == pytest.approx(1.0) and f["adaptive_f"] == pytest.approx(1.0)
    prec, rec = M.pr_curve(gt, gt)
    assert prec.shape == rec.shape == (256,) and rec[0] == 1.0 and prec[0] == pytest.approx(0.25)
    assert M.iou(gt, gt) == 1.0 and M.dice(gt, gt) == 1.0
    inv = 255 - gt
    assert M.iou(inv, gt) == 0.0 and M.dice(inv, gt) == 0.0
    assert M.mae(inv, gt) == 1.0


def test_iou_dice_relation_and_empty():
    pred, gt, _ = _case(3)
    i, d = M.iou(pred, gt), M.dice(pred, gt)
    assert d == pytest.approx(2 * i / (1 + i))
    z = np.zeros((5, 5), np.uint8)
    assert M.iou(z, z) == 0.0 and M.dice(z, z) == 0.0


def test_foreground_error_only_where_alpha_positive():
    a = np.zeros((4, 4))
    a[:2] = 0.5
    fg = np.zeros((4, 4, 3))
    pred = fg.copy()
    pred[2:] = 1.0  # wrong only where alpha = 0: must not count
    assert M.foreground_error(pred, fg, a) == 0.0
    pred[:2] = 0.5
    assert M.foreground_error(pred, fg, a) == pytest.approx(0.25)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        M.sad(np.zeros((4, 4)), np.zeros((4, 5)), np.zeros((4, 5), np.uint8))


def test_matting_metrics_masks_known_regions():
    pred, gt, tri = _case(4)
    noisy = pred.copy()
    noisy[tri == 0] = 255  # garbage in the known background is overwritten by the DIM masking
    masked, plain = M.matting_metrics(noisy, gt, tri), M.matting_metrics(pred, gt, tri)
    for k in ("sad", "mse", "grad", "conn"):
        assert masked[k] == pytest.approx(plain[k], rel=1e-12)
    unmasked = M.matting_metrics(noisy, gt, tri, mask_known=False)
    assert unmasked["grad"] != pytest.approx(plain["grad"], rel=1e-6)  # the 9x9 kernel sees the known region


def _blobby_case(seed: int, h: int, w: int):
    """Smooth random mattes with many components at every threshold, a band-shaped unknown region
    and known regions already masked (the DIM protocol)."""
    from scipy import ndimage
    rng = np.random.default_rng(seed)
    gt = np.clip(ndimage.gaussian_filter(rng.normal(0.5, 1.0, (h, w)), 2.0) * 2.0, 0, 1)
    pred = np.clip(gt + ndimage.gaussian_filter(rng.normal(0, 0.6, (h, w)), 1.0), 0, 1)
    tri = np.where(gt > 0.9, 255, np.where(gt < 0.1, 0, 128)).astype(np.uint8)
    tri = np.where(ndimage.binary_dilation(tri == 128, iterations=1), 128, tri).astype(np.uint8)
    pred8 = np.round(M.mask_with_trimap(pred, tri) * 255).astype(np.uint8)
    return pred8, np.round(gt * 255).astype(np.uint8), tri


@pytest.mark.parametrize("seed,h,w", [(0, 37, 53), (1, 64, 41), (2, 9, 120), (3, 80, 80), (4, 5, 7)])
def test_fast_metrics_equal_the_straightforward_implementation(seed, h, w):
    from gan_matting import metrics_reference as R
    pred, gt, tri = _blobby_case(seed, h, w)
    for fast, ref in ((M.sad, R.sad), (M.mse, R.mse), (M.gradient_error, R.gradient_error),
                      (M.connectivity_error, R.connectivity_error)):
        assert fast(pred, gt, tri) == pytest.approx(ref(pred, gt, tri), rel=1e-9, abs=1e-15), fast.__name__
    # float inputs and a float trimap take the other code paths
    pf, gf, tf = pred / 255.0, gt / 255.0, tri / 255.0
    assert M.connectivity_error(pf, gf, tf) == pytest.approx(R.connectivity_error(pf, gf, tf), rel=1e-9)
    assert M.gradient_error(pf, gf, tf) == pytest.approx(R.gradient_error(pf, gf, tf), rel=1e-9)
    assert M.sad(pf, gf, tf) == pytest.approx(R.sad(pf, gf, tf), rel=1e-9)


def test_gradient_crop_equals_full_image_at_borders_and_inside():
    """The bounding-box crop reads 4 px beyond the unknown region; near the image border it must
    fall back to replicated borders exactly as the full-image filter does."""
    from gan_matting import metrics_reference as R
    pred, gt, _ = _blobby_case(7, 40, 50)
    for box in [(0, 3, 0, 50), (37, 40, 10, 20), (15, 18, 20, 23), (0, 40, 49, 50)]:
        tri = np.zeros((40, 50), np.uint8)
        tri[box[0]:box[1], box[2]:box[3]] = 128
        assert M.gradient_error(pred, gt, tri) == pytest.approx(R.gradient_error(pred, gt, tri), rel=1e-9)
    assert M.gradient_error(pred, gt, np.zeros((40, 50), np.uint8)) == 0.0


def test_gradient_difference_sums_to_the_gradient_error_and_signs_missing_edges():
    pred, gt, tri = _blobby_case(3, 40, 50)
    d = M.gradient_difference(pred, gt, tri)
    assert d.shape == gt.shape and (d[tri != 128] == 0).all()
    assert (d ** 2).sum() / 1000 == pytest.approx(M.gradient_error(pred, gt, tri), rel=1e-12)
    # a flat prediction has no edges: every difference is a missing edge (<= 0), none is extra
    flat = M.gradient_difference(np.full_like(gt, 128), gt, tri)
    assert flat.max() <= 0 and flat.min() < 0
    assert (M.gradient_difference(pred, gt, np.zeros_like(tri)) == 0).all()
