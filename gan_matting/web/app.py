"""The local web page behind ``gan-matting serve``: one HTML page and one JSON endpoint (Starlette).

    app = create_app(service)          # service = MattingService(predict, trimap_free=False)
    uvicorn.run(app, host="127.0.0.1", port=8000)

``POST /api/matte`` takes a multipart form: ``image`` (required), and ``trimap`` (a 0/128/255 file) or
``strokes`` (the page's brush layer: 128 = unknown band, 255 = foreground marks). It answers
``{"width", "height", "seconds", "unknown", "alpha", "rgba", "crop", "photo_crop"}``: α and the RGBA
cut-out as PNG data URLs at the input's full size, ``crop`` = [x, y, w, h] of the hair-detail crop for
the before/after slider and ``photo_crop`` that crop of the photo; or ``{"error": "one line"}`` with 400 (bad input) or 413 (over a limit).

Uploads go to a per-request temporary folder that is removed when the answer is sent; the client's file
names are never used as paths. Images are read by ``data.io`` like every other entry point (EXIF rotation,
16-bit, CMYK, greyscale, corrupt files), after a header-only check of the pixel count.
"""

from __future__ import annotations

import base64
import io
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Optional, Tuple

import numpy as np
from PIL import Image

from .. import GanMattingError
from ..foreground import output_foreground
from ..data.io import read_rgb, read_trimap, to_uint8

PredictFn = Callable[[np.ndarray, Optional[np.ndarray]], Tuple[np.ndarray, Optional[np.ndarray]]]

DEFAULT_MAX_UPLOAD_MB = 40      # all files of one request together
DEFAULT_MAX_PIXELS = 16_000_000  # 4K UHD is 8.3 Mpx; bigger images belong to `gan-matting infer --tile`
CROP_SIDE = 192                  # the before/after slider's crop, in input pixels


class UploadTooLarge(GanMattingError):
    """The request body passed the upload limit (HTTP 413)."""


@dataclass
class Limits:
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB << 20
    max_pixels: int = DEFAULT_MAX_PIXELS


def png_data_url(arr: np.ndarray) -> str:
    """(H, W) or (H, W, 3|4) float on [0, 1] -> 'data:image/png;base64,...' (8-bit)."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(arr)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def detail_crop(alpha: np.ndarray, side: int = CROP_SIDE) -> Tuple[int, int, int, int]:
    """[x, y, w, h] of the square (at most ``side``) with the most fractional alpha: where hair is."""
    from scipy import ndimage
    h, w = alpha.shape
    cw, ch = min(side, w), min(side, h)
    frac = ((alpha > 0.02) & (alpha < 0.98)).astype(np.float32)
    density = ndimage.uniform_filter(frac, size=(ch, cw), mode="constant")
    cy, cx = np.unravel_index(int(np.argmax(density)), density.shape)
    x = int(np.clip(cx - cw // 2, 0, w - cw))
    y = int(np.clip(cy - ch // 2, 0, h - ch))
    return x, y, cw, ch


class MattingService:
    """Reads uploaded files, checks them against the limits, mattes one image at a time (the model and
    the CPU are shared) and encodes the answer."""

    def __init__(self, predict: PredictFn, trimap_free: bool = False, limits: Optional[Limits] = None,
                 fg: str = "ml"):
        self.predict = predict
        self.trimap_free = trimap_free
        self.limits = limits or Limits()
        self.fg = fg
        self._lock = threading.Lock()

    def warm_up(self) -> float:
        """Matte a tiny image once so that the first visitor does not wait for numba's compilation
        (pymatting's solvers and ML foreground); returns the seconds it took."""
        t0 = time.perf_counter()
        yy, xx = np.mgrid[0:24, 0:24]
        alpha = np.clip(9 - np.hypot(yy - 12, xx - 12), 0, 1).astype(np.float32)
        img = np.stack([alpha, 0.5 * np.ones_like(alpha), 1 - alpha], -1).astype(np.float32)
        tri = np.where(alpha >= 1, 255, np.where(alpha <= 0, 0, 128)).astype(np.uint8)
        tri[9:15, 3:6] = 128  # a band wide enough for the solvers
        alpha, fg = self.predict(img, None if self.trimap_free else tri)
        output_foreground(img, alpha, fg, self.fg)
        return time.perf_counter() - t0

    def _check_pixels(self, path: Path, what: str) -> None:
        try:
            with Image.open(path) as im:  # header only: a 30,000 x 30,000 PNG is refused before decoding
                w, h = im.size
        except Exception:
            return  # read_rgb names the problem (corrupt, unknown format) in its own words
        if w * h > self.limits.max_pixels:
            raise UploadTooLarge(f"{what} is {w}x{h} = {w * h / 1e6:.1f} Mpx, over this page's limit of "
                                 f"{self.limits.max_pixels / 1e6:.1f} Mpx (use `gan-matting infer`, which tiles)")

    def matte(self, image: Path, trimap: Optional[Path] = None, strokes: Optional[Path] = None) -> dict:
        from ..data.trimap import trimap_from_strokes
        from ..data.io import read_alpha
        self._check_pixels(image, "the image")
        img = read_rgb(image)
        h, w = img.shape[:2]
        tri = None
        if trimap is not None:
            tri = read_trimap(trimap)
            what = "the trimap"
        elif strokes is not None:
            tri = trimap_from_strokes(np.round(read_alpha(strokes) * 255).astype(np.uint8))
            what = "the painted band"
        if tri is not None and tri.shape != (h, w):
            raise GanMattingError(f"size mismatch: the image is {w}x{h}, {what} is {tri.shape[1]}x{tri.shape[0]}")
        if tri is None and not self.trimap_free:
            raise GanMattingError("this model needs a trimap: upload one, or paint the unknown band over the "
                                  "subject's edge with the brush")
        with self._lock:
            t0 = time.perf_counter()
            alpha, fg = self.predict(img, tri)
            fg = output_foreground(img, alpha, fg, self.fg)
            seconds = time.perf_counter() - t0
        rgba = np.concatenate([fg, alpha[..., None]], axis=-1)
        x, y, cw, ch = detail_crop(alpha)
        return {"width": w, "height": h, "seconds": round(seconds, 3),
                "unknown": None if tri is None else round(float((tri == 128).mean()), 4),
                "alpha": png_data_url(alpha), "rgba": png_data_url(rgba), "crop": [x, y, cw, ch],
                # the photo as read here (EXIF-rotated, CMYK/16-bit converted), so the slider never
                # depends on what the browser can decode
                "photo_crop": png_data_url(img[y:y + ch, x:x + cw])}


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is refused with 413, by its Content-Length
    before anything is read, or while streaming when the client sends no length."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await _json(send, 413, {"error": self._message(int(length))})
        seen = 0

        async def counted():
            nonlocal seen
            msg = await receive()
            seen += len(msg.get("body", b""))
            if seen > self.max_bytes:
                raise UploadTooLarge(self._message(seen))
            return msg
        return await self.app(scope, counted, send)

    def _message(self, n: int) -> str:
        return f"upload of {n / 2**20:.1f} MiB is over this page's limit of {self.max_bytes / 2**20:.0f} MiB"


async def _json(send, status: int, body: dict) -> None:
    import json
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def page_html() -> str:
    return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def create_app(service: MattingService):
    """The Starlette app: ``GET /`` the page, ``POST /api/matte`` the matte, ``GET /api/info`` limits."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    html = page_html()

    async def index(request):
        return HTMLResponse(html)

    async def info(request):
        return JSONResponse({"trimap_free": service.trimap_free, "max_pixels": service.limits.max_pixels,
                             "max_upload_bytes": service.limits.max_upload_bytes})

    async def matte(request):
        with tempfile.TemporaryDirectory(prefix="gan_matting_serve_") as tmp:
            try:
                paths = await _save_uploads(request, Path(tmp))
                if "image" not in paths:
                    raise GanMattingError("no image in the upload (form field 'image')")
                answer = await run_in_threadpool(service.matte, paths["image"], paths.get("trimap"),
                                                 paths.get("strokes"))
            except UploadTooLarge as exc:
                return JSONResponse({"error": str(exc)}, status_code=413)
            except GanMattingError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(answer)

    app = Starlette(routes=[Route("/", index), Route("/api/info", info),
                            Route("/api/matte", matte, methods=["POST"])])
    return BodyLimit(app, service.limits.max_upload_bytes)


async def _save_uploads(request, folder: Path) -> dict:
    """The form's file fields (image, trimap, strokes) written into ``folder`` under fixed names."""
    try:
        form = await request.form(max_files=3, max_fields=8)
    except UploadTooLarge:
        raise
    except Exception as exc:  # malformed multipart, wrong content type
        raise GanMattingError(f"could not read the upload as a form ({exc})") from None
    paths = {}
    try:
        for field in ("image", "trimap", "strokes"):
            item = form.get(field)
            if item is None or isinstance(item, str):
                continue
            data = await item.read()
            if not data:
                continue  # an empty optional file input
            paths[field] = folder / field
            paths[field].write_bytes(data)
    finally:
        await form.close()
    return paths
