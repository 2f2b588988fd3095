"""Procedural hair/jewellery generator: analytic coverage, determinism, layout, regions, stream."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_matting import GanMattingError
from gan_matting.data.check import check_folder
from gan_matting.data.io import read_alpha, read_rgb
from gan_matting.data.synth import SynthStream, from_rgba, synth_sample, write_dataset
from gan_matting.data.synth.render import Canvas

from .conftest import save


@pytest.mark.parametrize("ss", [4, 8])
@pytest.mark.parametrize("width", [0.3, 0.5, 1.0, 2.5])
def test_thin_line_coverage_matches_closed_form(ss, width):
    c = Canvas(64, 64, ss)
    p0, p1 = np.array([4.3, 10.2]), np.array([60.1, 50.7])
    c.capsules(np.array([[*p0, *p1, width, width]]), np.array([0.2, 0.4, 0.6]), "hair")
    alpha, fg, region = c.resolve()
    length = np.linalg.norm(p1 - p0)
    area = width * length + np.pi * width ** 2 / 4  # a capsule: rectangle + two half-disc caps
    assert alpha.sum() == pytest.approx(area, rel=0.02)
    assert np.allclose(fg[alpha > 0], [0.2, 0.4, 0.6], atol=1 / 255)  # F is the strand colour
    assert ((region == 1) == (alpha > 0)).all()


@pytest.mark.parametrize("ss", [4, 8])
def test_disk_and_polygon_coverage(ss):
    c = Canvas(64, 64, ss)
    c.ellipse(32.3, 31.7, 20, 20, (0, 1, 0), "body")
    assert c.resolve()[0].sum() == pytest.approx(np.pi * 400, rel=0.002)
    c = Canvas(64, 64, ss)
    tri = np.array([[10.3, 10.1], [50.7, 12.2], [30.2, 55.9]])
    area = 0.5 * abs((tri[1, 0] - tri[0, 0]) * (tri[2, 1] - tri[0, 1]) - (tri[2, 0] - tri[0, 0]) * (tri[1, 1] - tri[0, 1]))
    assert c.resolve()[0].sum() == 0
    c.polygon(tri, (1, 0, 0), "jewellery")
    assert c.resolve()[0].sum() == pytest.approx(area, rel=0.002)


def test_semi_transparent_over_compositing():
    c = Canvas(16, 16, 4)
    c.polygon([[0, 0], [16, 0], [16, 16], [0, 16]], (1, 0, 0), "jewellery", opacity=0.5)
    c.polygon([[0, 0], [16, 0], [16, 16], [0, 16]], (0, 0, 1), "jewellery", opacity=0.5)
    alpha, fg, _ = c.resolve()
    assert np.allclose(alpha, 0.75, atol=2 / 255)  # 0.5 over 0.5
    assert np.allclose(fg[..., 2], 2 / 3, atol=2 / 255) and np.allclose(fg[..., 0], 1 / 3, atol=2 / 255)


def test_sample_obeys_matting_equation_and_regions():
    s = synth_sample(0, 11, 160, 128)
    a, fg, bg, img = s["alpha"], s["fg"], s["bg"], s["image"]
    assert img.shape == (128, 160, 3) and a.shape == (128, 160)
    assert np.abs(a[..., None] * fg + (1 - a[..., None]) * bg - img).max() < 1e-5
    assert ((s["region"] == 0) == (a == 0)).all()
    assert (s["region"] == 1).any()  # there is hair
    partial = (a > 0) & (a < 1)
    assert partial.mean() > 0.02  # soft strands, not a binary mask
    assert (s["trimap"][partial] == 128).all()


def test_specular_highlights_change_hair_colour_not_coverage(tmp_path):
    """Highlights are colour along a strand, never alpha: the same seed draws the same scene with or without."""
    plain = synth_sample(3, 5, 256, 256)
    shiny = synth_sample(3, 5, 256, 256, scene={"specular": 0.8})
    assert np.array_equal(plain["alpha"], shiny["alpha"]) and np.array_equal(plain["bg"], shiny["bg"])
    a, fg0, fg1 = shiny["alpha"], plain["fg"], shiny["fg"]
    hair = (shiny["region"] == 1) & (a > 0.5)
    brighter = fg1.mean(-1) - fg0.mean(-1)
    assert brighter[hair].max() > 0.1 and brighter[hair].min() > -1e-6  # highlights only add light
    body = (shiny["region"] == 3) & (a == 1)  # changed only where a strand crosses it (sub-pixel, body label)
    assert (np.abs(fg1 - fg0).max(-1)[body] > 0).mean() < 0.1
    assert np.abs(a[..., None] * fg1 + (1 - a[..., None]) * shiny["bg"] - shiny["image"]).max() < 1e-5
    assert np.array_equal(synth_sample(3, 5, 256, 256, scene={"specular": 0.0})["image"], plain["image"])
    with pytest.raises(GanMattingError, match="specular"):
        write_dataset(tmp_path / "x", "tiny", n=1, scene={"specular": 1.5}, progress=False)
    with pytest.raises(GanMattingError, match="unknown scene"):
        write_dataset(tmp_path / "x", "tiny", n=1, scene={"shiny": 1}, progress=False)
    with pytest.raises(GanMattingError, match="unknown scene"):  # supersampling stays the preset's
        write_dataset(tmp_path / "x", "tiny", n=1, scene={"ss": 2}, progress=False)


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    a = write_dataset(tmp_path / "a", "tiny", n=2, progress=False)
    b = write_dataset(tmp_path / "b", "tiny", n=2, progress=False)
    write_dataset(tmp_path / "c", "tiny", n=2, seed=99, progress=False)
    sa, sb, sc = ((tmp_path / d / "SHA256SUMS").read_text() for d in "abc")
    assert sa == sb and len(sa.splitlines()) == 12
    assert sa != sc
    assert a["images"][0]["width"] == b["images"][0]["width"]


def test_written_layout_passes_check_data(tiny_synth):
    rep = check_folder(tiny_synth)
    assert rep.ok, rep.format()
    assert rep.layout == "custom" and rep.n_samples == 3 and rep.counts["region"] == 3
    img = read_rgb(tiny_synth / "images" / "synth_0000.png")
    a = read_alpha(tiny_synth / "alphas" / "synth_0000.png")
    fg = read_rgb(tiny_synth / "fg" / "synth_0000.png")
    bg = read_rgb(tiny_synth / "bg" / "synth_0000.png")
    # after 8-bit quantisation of every file the equation still holds to a few levels
    assert np.abs(a[..., None] * fg + (1 - a[..., None]) * bg - img).max() < 3 / 255


def test_stream_is_endless_deterministic_and_cropped():
    st = SynthStream(crop=64, seed=4, min_size=96, max_size=128)
    it = iter(st)
    x0, x1 = next(it), next(it)
    y0 = next(iter(SynthStream(crop=64, seed=4, min_size=96, max_size=128)))
    assert x0["image"].shape == (3, 64, 64) and x0["trimap"].shape == (1, 64, 64)
    assert torch.equal(x0["image"], y0["image"]) and not torch.equal(x0["image"], x1["image"])
    assert set(torch.unique(x0["trimap"]).tolist()) <= {0.0, 0.5, 1.0}


def test_from_rgba_cutouts(tmp_path):
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., :3] = [200, 100, 50]
    rgba[10:30, 10:40, 3] = 255
    rgba[8:10, 10:40, 3] = 128
    save(tmp_path / "cut" / "obj.png", rgba)
    n = from_rgba(tmp_path / "cut", tmp_path / "out", per_image=2)
    assert n == 2 and check_folder(tmp_path / "out").ok
    assert np.allclose(read_alpha(tmp_path / "out" / "alphas" / "obj_00.png"), rgba[..., 3] / 255, atol=1 / 255)
    save(tmp_path / "opaque" / "x.png", np.full((8, 8, 4), 255, np.uint8))
    from gan_matting import GanMattingError
    with pytest.raises(GanMattingError, match="no transparency"):
        from_rgba(tmp_path / "opaque", tmp_path / "o2")
