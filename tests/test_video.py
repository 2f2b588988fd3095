"""Video matting round trip on a clip the test generates: procedural hair moving over a background,
odd frame size, variable frame rate and an audio track."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from gan_matting.cli import main
from gan_matting.data.io import write_trimap

av = pytest.importorskip("av", reason="PyAV is a core dependency (setup.cfg)")

H, W, N = 61, 83, 6  # odd sides on purpose


def _scene(k: int):
    """A disk with hair-like strands moving right by 3 px per frame over a striped background."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cx, cy = 30 + 3 * k, 30
    r = np.hypot(xx - cx, yy - cy)
    alpha = np.clip(14 - r, 0, 1)
    for ang in np.linspace(0, np.pi, 7):  # thin strands leaving the disk
        d = np.abs((xx - cx) * np.sin(ang) - (yy - cy) * np.cos(ang))
        alpha = np.maximum(alpha, np.clip(1 - d, 0, 1) * 0.6 * (r < 24))
    fg = np.stack([0.9 * np.ones_like(xx), 0.6 * np.ones_like(xx), 0.2 * np.ones_like(xx)], -1)
    bg = np.stack([0.2 + 0.2 * (np.sin(xx / 3) > 0), 0.3 * np.ones_like(xx), 0.7 * np.ones_like(xx)], -1)
    return alpha[..., None] * fg + (1 - alpha[..., None]) * bg, alpha


def _write_clip(path, vfr: bool = True, audio: bool = True, truncate: bool = False):
    c = av.open(str(path), "w")
    v = c.add_stream("libx264", rate=25)
    v.width, v.height, v.pix_fmt = W + 1, H + 1, "yuv420p"  # H.264 needs even sides: pad, then crop in the test
    v.time_base = Fraction(1, 1000)
    a = None
    if audio:
        a = c.add_stream("aac", rate=16000)
        a.layout = "mono"
    pts = 0
    for k in range(N):
        img, _ = _scene(k)
        img = np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="edge")
        f = av.VideoFrame.from_ndarray(np.round(img * 255).astype(np.uint8), format="rgb24")
        f.pts, f.time_base = pts, Fraction(1, 1000)
        pts += 40 if (not vfr or k % 2) else 80  # variable frame rate: 40 and 80 ms steps
        for p in v.encode(f):
            c.mux(p)
    if a is not None:
        samples = np.sin(np.arange(16000 * 0.5) * 2 * np.pi * 440 / 16000).astype(np.float32)[None]
        af = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        af.sample_rate, af.pts = 16000, 0
        for p in list(a.encode(af)) + list(a.encode()):
            c.mux(p)
    for p in v.encode():
        c.mux(p)
    c.close()
    if truncate:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 4 // 5])


def _trimap0():
    _, alpha = _scene(0)
    alpha = np.pad(alpha, ((0, 1), (0, 1)), mode="edge")
    from gan_matting.data.trimap import trimap_from_alpha
    return trimap_from_alpha(alpha, 6)


def _frames(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * f.time_base), f.to_ndarray(format="gray")) for f in c.decode(s)], bool(c.streams.audio)


def test_video_round_trip_keeps_timestamps_audio_and_follows_the_subject(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _write_clip(clip)
    write_trimap(tmp_path / "t.png", _trimap0())
    assert main(["infer", str(clip), "--trimap", str(tmp_path / "t.png"), "--fg", "model", "--out", str(tmp_path / "o")]) == 0
    assert "frames/s" in capsys.readouterr().out
    alpha_frames, _ = _frames(tmp_path / "o" / "alpha.mp4")
    comp_frames, comp_audio = _frames(tmp_path / "o" / "composite.mp4")
    src_frames, _ = _frames(clip)
    assert len(alpha_frames) == len(comp_frames) == N
    src_t = [t for t, _ in src_frames]
    assert len(set(np.round(np.diff(src_t), 3))) == 2  # the clip really has a variable frame rate
    assert [t for t, _ in alpha_frames] == pytest.approx(src_t, abs=1e-3)  # and the matte keeps it
    assert comp_audio  # audio remuxed
    # the matte follows the moving disk: its centre of mass moves right by ~3 px per frame
    xs = [float((a.astype(float) * np.arange(a.shape[1])).sum() / max(a.sum(), 1)) for _, a in alpha_frames]
    assert xs[-1] - xs[0] == pytest.approx(3 * (N - 1), abs=4)
    assert alpha_frames[0][1][30, 30 + 0] > 200 and alpha_frames[0][1][5, 75] < 40


def test_video_png_frames_smoothing_and_errors(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _write_clip(clip, vfr=False, audio=False)
    write_trimap(tmp_path / "t.png", _trimap0())
    base = ["infer", str(clip), "--trimap", str(tmp_path / "t.png"), "--fg", "model"]
    assert main(base + ["--frames", "png", "--smooth", "0.5", "--out", str(tmp_path / "p")]) == 0
    assert len(list((tmp_path / "p" / "alpha").glob("*.png"))) == N
    assert len(list((tmp_path / "p" / "rgba").glob("*.png"))) == N
    # a wrong-size first trimap, a truncated clip and a non-video file: one line each
    write_trimap(tmp_path / "small.png", np.full((10, 10), 128, np.uint8))
    capsys.readouterr()
    assert main(["infer", str(clip), "--trimap", str(tmp_path / "small.png"), "--out", str(tmp_path / "s")]) == 1
    assert "frames are" in capsys.readouterr().err
    # a truncated MKV (streamable): the frames before the cut are written, then one line says so
    bad = tmp_path / "cut.mkv"
    _write_clip(bad, audio=False, truncate=True)
    assert main(base[:1] + [str(bad)] + base[2:] + ["--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "truncated or damaged" in errors[0] and "Traceback" not in err
    written = len(_frames(tmp_path / "c" / "alpha.mp4")[0])
    assert 0 < written < N and f"the {written} frame(s) before were written" in err
    # a truncated MP4 (its index sits at the end): nothing to decode, one line naming the file
    bad_mp4 = tmp_path / "cut.mp4"
    _write_clip(bad_mp4, audio=False, truncate=True)
    assert main(base[:1] + [str(bad_mp4)] + base[2:] + ["--out", str(tmp_path / "c2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "cut.mp4" in err and err.count("\n") == 1
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
    assert main(base[:1] + [str(tmp_path / "junk.mp4")] + base[2:] + ["--out", str(tmp_path / "j")]) == 1
    assert "cannot open as a video" in capsys.readouterr().err
