"""Foreground colour estimation from alpha: exact box means, blur fusion against the true F, dispatch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_matting import metrics as M
from gan_matting.foreground import blur_fusion, box_mean, estimate_foreground, output_foreground


@pytest.mark.parametrize("r", [0, 1, 5, 40])
def test_box_mean_is_the_clipped_window_mean(r):
    x = torch.rand(1, 2, 23, 31, dtype=torch.float64, generator=torch.Generator().manual_seed(r))
    want = torch.zeros_like(x)
    for i in range(23):
        for j in range(31):
            want[..., i, j] = x[..., max(0, i - r):i + r + 1, max(0, j - r):j + r + 1].mean((-2, -1))
    assert torch.allclose(box_mean(x, r), want, atol=1e-12)


def _composite(h=96, w=128, seed=0):
    """A soft disk with thin strands (fractional alpha) of a smooth-coloured F over a textured B."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    alpha = np.clip((30 - np.hypot(yy - h / 2, xx - w / 2)) / 6, 0, 1)
    for k in range(8):  # strands: thin lines of partial opacity leaving the disk
        ang = k * np.pi / 4 + 0.2
        d = np.abs((xx - w / 2) * np.sin(ang) - (yy - h / 2) * np.cos(ang))
        along = (xx - w / 2) * np.cos(ang) + (yy - h / 2) * np.sin(ang)
        alpha = np.maximum(alpha, 0.6 * np.clip(1 - d, 0, 1) * (along > 0) * (along < 45))
    fg = np.stack([0.8 + 0.1 * xx / w, 0.5 + 0.2 * yy / h, 0.2 + 0 * xx], -1).astype(np.float32)
    bg = rng.uniform(0, 1, (h // 8 + 1, w // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)[:h, :w].astype(np.float32)
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    tri = np.where(alpha >= 1, 255, np.where(alpha <= 0, 0, 128)).astype(np.uint8)
    return img.astype(np.float32), alpha.astype(np.float32), fg, tri


def test_blur_fusion_recovers_the_foreground_far_better_than_the_image():
    img, alpha, fg, tri = _composite()
    est = estimate_foreground(img, alpha, "blur")
    assert est.shape == img.shape and est.dtype == np.float32 and 0 <= est.min() and est.max() <= 1
    err_blur = M.foreground_error(est, fg, alpha, tri)
    err_img = M.foreground_error(img, fg, alpha, tri)
    err_ml = M.foreground_error(estimate_foreground(img, alpha, "ml"), fg, alpha, tri)
    assert err_blur < 0.25 * err_img, (err_blur, err_img)
    assert err_blur < 3 * err_ml + 1e-4, (err_blur, err_ml)  # in ML's league, not only better than nothing
    # where alpha = 1 the compositing equation forces F = image
    x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None]
    a = torch.from_numpy(alpha)[None, None]
    f = blur_fusion(x, a)
    assert torch.allclose(f[a.expand_as(f) == 1], x[a.expand_as(x) == 1], atol=1e-4)


def test_output_foreground_dispatch():
    img, alpha, _fg, _tri = _composite(32, 40)
    own = np.full_like(img, 0.25)
    assert output_foreground(img, alpha, own, "model") is own
    assert np.allclose(output_foreground(img, alpha, None, "model"), estimate_foreground(img, alpha, "ml"))
    assert np.allclose(output_foreground(img, alpha, own, "blur"), estimate_foreground(img, alpha, "blur"))
    with pytest.raises(ValueError, match="foreground method"):
        output_foreground(img, alpha, own, "magic")


def _blur_fusion_exact(image, alpha, radii=(90, 6)):
    """The paper's two passes with exact full-resolution window means (the reference for the fast code)."""
    f, b = image, image
    for r in radii:
        wa = box_mean(alpha, r)
        f_mean = box_mean(f * alpha, r) / (wa + 1e-5)
        b_mean = box_mean(b * (1 - alpha), r) / (1 - wa + 1e-5)
        f = (f_mean + alpha * (image - alpha * f_mean - (1 - alpha) * b_mean)).clamp(0, 1)
        b = b_mean
    return f


def test_blur_fusion_pooled_wide_pass_stays_close_to_the_exact_one():
    img, alpha, _fg, _tri = _composite(150, 203)  # sizes that are not multiples of the pooling
    x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None].double()
    a = torch.from_numpy(alpha)[None, None].double()
    fast, exact = blur_fusion(x, a, cells=False), _blur_fusion_exact(x, a)
    seen = (a > 0).expand_as(fast)
    assert (fast - exact)[seen].abs().max() < 0.02
    assert (fast - exact)[seen].abs().mean() < 2e-3


@pytest.mark.parametrize("size", [(96, 128), (77, 141)])
def test_blur_fusion_on_band_cells_equals_the_dense_pass_where_alpha_is_positive(size):
    img, alpha, _fg, _tri = _composite(*size)
    alpha[:5, :] = 0.5  # a fractional strip on the image border: border cells must see no outside pixels
    x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None].double()
    a = torch.from_numpy(alpha)[None, None].double()
    dense, cells = blur_fusion(x, a, cells=False), blur_fusion(x, a, cells=True)
    seen = (a > 0).expand_as(dense)
    assert torch.allclose(dense[seen], cells[seen], atol=1e-9)
    opaque = (a == 1).expand_as(x)  # the compositing equation forces F = image there, in both modes
    assert torch.allclose(cells[opaque], x[opaque], atol=1e-9) and torch.allclose(dense[opaque], x[opaque], atol=1e-9)
    # no fractional alpha at all: nothing to estimate, F is the image
    hard = (a > 0.5).double()
    assert torch.equal(blur_fusion(x, hard, cells=True), x)


def test_blur_fusion_in_row_strips_equals_one_strip(monkeypatch):
    import gan_matting.foreground as fgm
    img, alpha, _fg, _tri = _composite(104, 72)
    x = torch.from_numpy(img.transpose(2, 0, 1).copy())[None].double()
    a = torch.from_numpy(alpha)[None, None].double()
    whole = blur_fusion(x, a, cells=False)
    monkeypatch.setattr(fgm, "STRIP_PX", 40 * 72)  # strips of 40 rows: 3 strips, the last one short
    strips = blur_fusion(x, a, cells=False)
    assert torch.allclose(whole, strips, atol=1e-12)
