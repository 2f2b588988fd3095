"""Matte a video with PyAV: frames in, alpha and cut-out videos (or PNG sequences) out.

    gan-matting infer clip.mp4 --trimap first_frame_trimap.png --out out/            # out/alpha.mp4, out/composite.mp4
    gan-matting infer clip.mp4 --trimap t.png --frames png --smooth 0.3 --out out/   # out/alpha/000000.png, out/rgba/...

Trimaps: the first frame uses ``--trimap`` (an image the frame's size); every later frame uses the
trimap made from the previous frame's alpha > 0.5 by erosion/dilation (``--video-radius`` px), so the band
follows a moving subject. Trimap-free weights need none.

Outputs keep the input's timestamps (variable frame rate survives) and time base. ``alpha.mp4`` holds
alpha as luma, ``composite.mp4`` the cut-out over ``--composite-on`` (default green); the audio stream
is copied into ``composite.mp4`` without re-encoding where the container allows it. H.264 needs even
sides, so odd frames are padded by one replicated row/column in the videos (PNG sequences keep the
exact size). A corrupt or truncated input stops with a one-line error after closing the outputs, so
every frame matted so far stays readable; "truncated" means decoding ended more than 2.5 frame
intervals before the video length the file declares (FFmpeg itself skips damaged packets quietly).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import GanMattingError
from .foreground import output_foreground

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
PredictFn = Callable[[np.ndarray, Optional[np.ndarray]], tuple]


def is_video_file(path: Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass
class VideoResult:
    frames: int
    seconds: float
    outputs: list


def _even(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    pad = ((0, h % 2), (0, w % 2)) + ((0, 0),) * (a.ndim - 2)
    return np.pad(a, pad, mode="edge") if (h % 2 or w % 2) else a


class _VideoWriter:
    """One H.264 stream in its own container, fed RGB uint8 frames with the input's timestamps."""

    def __init__(self, path: Path, like, width: int, height: int, audio=None):
        import av
        self.container = av.open(str(path), mode="w")
        rate = like.average_rate or 25
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = "yuv420p"
        # frames keep the input's timestamps: the encoder counts in the input's time base (VFR survives)
        self.stream.time_base = self.stream.codec_context.time_base = like.time_base
        self.stream.options = {"crf": "18", "preset": "veryfast"}
        self.audio_in, self.audio_out = audio, None
        if audio is not None:
            try:
                self.audio_out = self.container.add_stream_from_template(audio)
            except Exception:  # a codec MP4 cannot hold: the video goes without audio, and says so
                print(f"note: the audio ({audio.codec_context.name}) cannot be copied into {path.name}; "
                      "it is written without sound", file=sys.stderr)

    def write(self, rgb: np.ndarray, pts, time_base) -> None:
        import av
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(_even(rgb)), format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def mux_audio(self, packet) -> None:
        if self.audio_out is not None and packet.dts is not None:
            packet.stream = self.audio_out
            self.container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()


def _ended_early(src: Path, container, vin, last_time: Optional[float], n: int) -> Optional[str]:
    """A message when the last decoded frame lies more than 2.5 frame intervals before the end the
    container declares (a truncated file, or packets the decoder dropped), else None."""
    import av
    if last_time is None:
        return None
    if vin.duration and vin.time_base:
        end = float(vin.duration * vin.time_base)
    elif container.duration and not container.streams.audio:  # the container's length is the video's
        end = container.duration / av.time_base
    else:
        return None
    step = 1.0 / float(vin.average_rate) if vin.average_rate else 0.04
    if last_time >= end - 2.5 * step:
        return None
    return (f"{src}: decoding stopped at {last_time:.2f} s of the {end:.2f} s the file declares (truncated or damaged); "
            f"the {n} frame(s) before were written")


def matte_video(src: Path, predict: PredictFn, out: Path, first_trimap: Optional[np.ndarray],
                trimap_free: bool = False, frames: str = "video", smooth: float = 0.0,
                backdrop: np.ndarray | None = None, radius: int = 10, fg_mode: str = "model",
                progress: bool = True) -> VideoResult:
    """Matte every frame of ``src``; see the module docstring for what is written under ``out``."""
    import time

    import av

    from .data.io import write_image
    from .data.trimap import trimap_from_alpha
    if frames not in ("video", "png"):
        raise GanMattingError(f"--frames {frames!r}: choose video or png")
    if not 0.0 <= smooth < 1.0:
        raise GanMattingError(f"--smooth {smooth}: must be in [0, 1)")
    backdrop = np.array([0.0, 1.0, 0.0]) if backdrop is None else backdrop
    try:
        container = av.open(str(src))
    except (av.FFmpegError, OSError) as exc:
        raise GanMattingError(f"{src}: cannot open as a video ({exc})") from None
    if not container.streams.video:
        container.close()
        raise GanMattingError(f"{src}: no video stream")
    vin = container.streams.video[0]
    ain = container.streams.audio[0] if container.streams.audio else None
    vin.thread_type = "AUTO"
    out.mkdir(parents=True, exist_ok=True)
    writers: list = []
    n, t_start, prev_alpha = 0, time.perf_counter(), None
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=vin.frames or None, desc="matte video", unit="frame")
    if frames == "video":  # opened up front, so audio packets that precede the first frame are kept
        w0, h0 = vin.codec_context.width, vin.codec_context.height
        writers = [_VideoWriter(out / "alpha.mp4", vin, w0, h0), _VideoWriter(out / "composite.mp4", vin, w0, h0, audio=ain)]
    error: Optional[str] = None
    last_time = None
    try:
        streams = [vin] + ([ain] if ain is not None and frames == "video" else [])
        for packet in container.demux(*streams):
            if packet.stream.type == "audio":
                if writers:
                    writers[1].mux_audio(packet)
                continue
            for frame in packet.decode():
                img = frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
                h, w = img.shape[:2]
                if trimap_free:
                    tri = None
                elif prev_alpha is None:
                    if first_trimap is None:
                        raise GanMattingError("these weights need a trimap for the first frame (--trimap)")
                    if first_trimap.shape != (h, w):
                        raise GanMattingError(f"--trimap is {first_trimap.shape[1]}x{first_trimap.shape[0]}, "
                                              f"the video's frames are {w}x{h}")
                    tri = first_trimap
                else:
                    # from the previous matte's alpha > 0.5, not its near-0/1 pixels: those sit inside the
                    # previous known regions (copied as is), so the band would never move with the subject
                    tri = trimap_from_alpha((prev_alpha > 0.5).astype(np.float32), radius)
                alpha, fg = predict(img, tri)
                fg = output_foreground(img, alpha, fg, fg_mode)
                if smooth and prev_alpha is not None:  # exponential moving average against flicker
                    alpha = ((1 - smooth) * alpha + smooth * prev_alpha).astype(np.float32)
                prev_alpha = alpha
                if frames == "png":
                    write_image(out / "alpha" / f"{n:06d}.png", alpha)
                    write_image(out / "rgba" / f"{n:06d}.png", np.concatenate([fg, alpha[..., None]], axis=-1))
                else:
                    a8 = np.round(alpha * 255).astype(np.uint8)
                    writers[0].write(np.repeat(a8[..., None], 3, axis=-1), frame.pts, frame.time_base)
                    comp = alpha[..., None] * fg + (1 - alpha[..., None]) * backdrop
                    writers[1].write(np.round(np.clip(comp, 0, 1) * 255).astype(np.uint8), frame.pts, frame.time_base)
                n += 1
                if frame.time is not None:
                    last_time = float(frame.time)
                if bar is not None:
                    bar.update(1)
    except av.FFmpegError as exc:  # corrupt or truncated input: keep what was written
        error = f"{src}: the video is damaged after frame {n} ({exc}); the {n} frame(s) before it were written"
    finally:
        if bar is not None:
            bar.close()
        if error is None and n:  # FFmpeg skips damaged packets quietly: compare with the declared length
            error = _ended_early(src, container, vin, last_time, n)
        container.close()
        for wr in writers:
            wr.close()
    if error:
        raise GanMattingError(error)
    if n == 0:
        raise GanMattingError(f"{src}: no decodable frame")
    outputs = [str(out / "alpha.mp4"), str(out / "composite.mp4")] if frames == "video" else [str(out / "alpha"), str(out / "rgba")]
    return VideoResult(n, time.perf_counter() - t_start, outputs)
