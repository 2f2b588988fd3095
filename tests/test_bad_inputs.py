"""Bad input gets one clear line naming the file, and nothing is lost or crashes with a traceback."""
from __future__ import annotations

import io as _io

import numpy as np
import pytest
from PIL import Image

from gan_matting import GanMattingError
from gan_matting.cli import main
from gan_matting.data import io as gio
from gan_matting.data.dataset import load_sample
from gan_matting.data.layouts import read_folder

from .conftest import disk_alpha, save


def _png_bytes(arr) -> bytes:
    b = _io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


def test_missing_file(tmp_path):
    with pytest.raises(gio.ImageReadError, match="file not found") as e:
        gio.read_rgb(tmp_path / "nope.png")
    assert "nope.png" in str(e.value)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(gio.ImageReadError, match=r"empty\.png: empty file"):
        gio.read_rgb(p)


def test_not_an_image(tmp_path):
    p = tmp_path / "text.png"
    p.write_text("hello, I am not a PNG")
    with pytest.raises(gio.ImageReadError, match=r"text\.png: not an image"):
        gio.read_alpha(p)


def test_truncated_png(tmp_path):
    data = _png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(gio.ImageReadError, match=r"cut\.png: corrupt or truncated"):
        gio.read_rgb(p)


def test_truncated_jpeg(tmp_path):
    b = _io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(b, "JPEG")
    p = tmp_path / "cut.jpg"
    p.write_bytes(b.getvalue()[:300])
    with pytest.raises(gio.ImageReadError, match=r"cut\.jpg"):
        gio.read_rgb(p)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(gio.ImageReadError, match="is a folder"):
        gio.read_rgb(tmp_path)


def test_decompression_bomb_refused_then_allowed(tmp_path, monkeypatch):
    p = save(tmp_path / "big.png", np.zeros((40, 40), np.uint8))
    monkeypatch.setattr(gio, "MAX_PIXELS", 100)
    with pytest.raises(gio.ImageReadError, match="too large.*--allow-huge"):
        gio.read_alpha(p)
    assert gio.read_alpha(p, allow_huge=True).shape == (40, 40)
    out = tmp_path / "t.png"
    assert main(["make-trimap", "--mask", str(p), "--out", str(out)]) == 1 and not out.exists()
    assert main(["--allow-huge", "make-trimap", "--mask", str(p), "--out", str(out)]) == 0 and out.exists()


def test_trimap_with_other_values(tmp_path):
    t = np.zeros((10, 10), np.uint8)
    t[:, 5:] = 255
    t[4:6] = 127  # a resized/JPEG trimap
    p = save(tmp_path / "tri.png", t)
    with pytest.raises(gio.ImageReadError, match=r"tri\.png: trimap has values other than 0/128/255.*127"):
        gio.read_trimap(p)
    snapped = gio.read_trimap(p, snap=True)
    assert set(np.unique(snapped)) <= {0, 128, 255} and (snapped[4:6] == 128).all()


def test_size_mismatch_names_both_files(tiny_custom):
    save(tiny_custom / "alphas" / "s0.png", np.zeros((10, 12), np.uint8))
    folder = read_folder(tiny_custom)
    with pytest.raises(GanMattingError, match=r"size mismatch in sample s0.*images/s0\.png.*alphas/s0\.png"):
        load_sample(folder.samples[0])


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(GanMattingError, match="no images found"):
        read_folder(tmp_path)
    with pytest.raises(GanMattingError, match="not found"):
        read_folder(tmp_path / "missing")
    other = tmp_path / "other"
    (other / "pictures").mkdir(parents=True)
    with pytest.raises(GanMattingError, match="cannot tell the dataset layout"):
        read_folder(other)


def test_check_data_lists_every_problem(tiny_custom, capsys):
    (tiny_custom / "alphas" / "s1.png").unlink()                       # missing partner
    (tiny_custom / "images" / "s2.png").write_bytes(b"\x89PNG junk")   # corrupt file
    save(tiny_custom / "trimaps" / "s0.png", np.full((48, 56), 100, np.uint8))  # bad trimap values
    save(tiny_custom / "alphas" / "extra.png", np.zeros((4, 4), np.uint8))       # orphan
    assert main(["check-data", str(tiny_custom)]) == 1
    out = capsys.readouterr().out
    assert "no alpha file named s1" in out
    assert "s2.png: not an image" in out
    assert "trimaps/s0.png" in out and "other than 0/128/255" in out
    assert "extra.png: no image file named extra" in out


def test_cli_errors_are_one_line(tmp_path, capsys):
    code = main(["make-trimap", "--mask", str(tmp_path / "nomask.png"), "--out", str(tmp_path / "t.png")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "nomask.png: file not found" in err
    assert not (tmp_path / "t.png").exists()  # nothing half-written


def test_superpixel_needs_image(tmp_path, capsys):
    m = save(tmp_path / "m.png", (disk_alpha() > 0.5).astype(np.uint8) * 255)
    assert main(["make-trimap", "--mask", str(m), "--method", "superpixel", "--out", str(tmp_path / "t.png")]) == 1
    assert "needs --image" in capsys.readouterr().err


def test_make_trimap_size_mismatch(tmp_path, capsys):
    m = save(tmp_path / "m.png", np.zeros((20, 20), np.uint8))
    im = save(tmp_path / "i.png", np.zeros((21, 20, 3), np.uint8))
    assert main(["make-trimap", "--mask", str(m), "--image", str(im), "--method", "superpixel",
                 "--out", str(tmp_path / "t.png")]) == 1
    assert "size mismatch" in capsys.readouterr().err


def test_eval_missing_and_wrong_size_predictions(tiny_custom, tmp_path, capsys):
    pred = tmp_path / "pred"
    save(pred / "s0.png", np.zeros((48, 56), np.uint8))
    assert main(["eval", "--pred", str(pred), "--data", str(tiny_custom)]) == 1
    assert "no prediction for 2 image(s): s1, s2" in capsys.readouterr().err
    for i in (1, 2):
        save(pred / f"s{i}.png", np.zeros((48, 56), np.uint8))
    save(pred / "s2.png", np.zeros((47, 56), np.uint8))
    assert main(["eval", "--pred", str(pred), "--data", str(tiny_custom)]) == 1
    assert "s2.png: prediction is 56x47" in capsys.readouterr().err


def test_eval_empty_prediction_folder(tiny_custom, tmp_path, capsys):
    (tmp_path / "none").mkdir()
    assert main(["eval", "--pred", str(tmp_path / "none"), "--data", str(tiny_custom)]) == 1
    assert "no predicted mattes" in capsys.readouterr().err


def test_write_trimap_refuses_bad_values(tmp_path):
    with pytest.raises(GanMattingError, match="refusing"):
        gio.write_trimap(tmp_path / "t.png", np.full((3, 3), 7, np.uint8))
    assert not (tmp_path / "t.png").exists()


# --- odd but valid inputs are read correctly ------------------------------------------------------

def test_sixteen_bit_png_keeps_precision(tmp_path):
    a = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    p = tmp_path / "a16.png"
    Image.fromarray(a).save(p)
    got = gio.read_alpha(p)
    assert got.dtype == np.float32 and np.allclose(got, a / 65535.0, atol=1e-6)
    assert gio.read_rgb(p).shape == (64, 64, 3)


def test_greyscale_palette_rgba_cmyk(tmp_path):
    g = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (4, 1))
    grey = gio.read_rgb(save(tmp_path / "g.png", g))
    assert grey.shape == (4, 32, 3) and np.allclose(grey[..., 0], grey[..., 2])
    pal = Image.fromarray(np.stack([g] * 3, -1)).convert("P")
    pal.save(tmp_path / "p.png")
    assert gio.read_rgb(tmp_path / "p.png").shape == (4, 32, 3)
    rgba = np.zeros((4, 32, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = g
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert np.allclose(gio.read_rgb(tmp_path / "rgba.png")[..., 0], 200 / 255)
    assert np.allclose(gio.read_alpha(tmp_path / "rgba.png"), g / 255.0)  # cut-out: alpha channel
    Image.fromarray(np.stack([g] * 3, -1)).convert("CMYK").save(tmp_path / "c.jpg")
    assert gio.read_rgb(tmp_path / "c.jpg").shape == (4, 32, 3)


def test_rgb_alpha_takes_first_channel(tmp_path):
    a = np.zeros((5, 5, 3), np.uint8)
    a[..., 0] = 77
    a[..., 1] = 200
    assert np.allclose(gio.read_alpha(save(tmp_path / "a.png", a)), 77 / 255)


def test_exif_rotation_is_applied(tmp_path):
    arr = np.zeros((10, 30, 3), np.uint8)
    arr[:, :5] = 255
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    im.save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=95)
    got = gio.read_rgb(tmp_path / "r.jpg")
    assert got.shape == (30, 10, 3)
    assert got[:5].mean() > 0.8 and got[-5:].mean() < 0.2  # the white stripe moved to the top
