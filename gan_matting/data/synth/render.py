"""Supersampled rasterisation with exact alpha, foreground colour and region labels.

The canvas is ``ss`` times larger than the output and holds straight RGBA (uint8) plus a region-label
plane. Thin structures (hair strands, wires, chain links) are drawn as tapered *capsules* by a numba
kernel that point-samples subpixel centres, which estimates covered area without bias even for
strands narrower than a subpixel (Pillow's polygon fill over-covers thin shapes by 25-100%). Large
filled polygons use an exact even-odd scanline fill; semi-transparent shapes are composited with the "over" operator.

Downsampling averages *premultiplied* colour and alpha over each ss x ss block, so for every pixel
alpha = covered fraction (times opacity) and F = premultiplied colour / alpha; image = alpha*F + (1-alpha)*B
therefore holds exactly for any background B. Coordinates passed in are in output pixels, with
pixel (i, j) covering [j, j+1) x [i, i+1).
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage

from numba import njit  # the cache dir is set by gan_matting/__init__.py

from ..regions import REGION_IDS


@njit(cache=True, nogil=True)
def _draw_capsules(rgba, lab, segs, cols, labels, ss):  # pragma: no cover - compiled
    """segs: (N, 6) x0, y0, x1, y1, r0, r1 in output px (radius tapers linearly from r0 to r1);
    cols: (N, 4) uint8 RGBA (alpha 255 = opaque overwrite, else 'over'); labels: (N,) uint8."""
    H, W = lab.shape
    for k in range(segs.shape[0]):
        x0, y0, x1, y1 = segs[k, 0] * ss, segs[k, 1] * ss, segs[k, 2] * ss, segs[k, 3] * ss
        r0, r1 = segs[k, 4] * ss, segs[k, 5] * ss
        rmax = max(r0, r1)
        xmin = max(0, int(np.floor(min(x0, x1) - rmax)))
        xmax = min(W - 1, int(np.ceil(max(x0, x1) + rmax)))
        ymin = max(0, int(np.floor(min(y0, y1) - rmax)))
        ymax = min(H - 1, int(np.ceil(max(y0, y1) + rmax)))
        dx, dy = x1 - x0, y1 - y0
        l2 = dx * dx + dy * dy
        a = cols[k, 3] / 255.0
        for py in range(ymin, ymax + 1):
            cy = py + 0.5
            for px in range(xmin, xmax + 1):
                cx = px + 0.5
                t = 0.0
                if l2 > 0:
                    t = ((cx - x0) * dx + (cy - y0) * dy) / l2
                    t = min(1.0, max(0.0, t))
                ex, ey = x0 + t * dx - cx, y0 + t * dy - cy
                r = r0 + t * (r1 - r0)
                if ex * ex + ey * ey <= r * r:
                    lab[py, px] = labels[k]
                    if cols[k, 3] == 255:
                        for c in range(4):
                            rgba[py, px, c] = cols[k, c]
                    else:
                        da = rgba[py, px, 3] / 255.0
                        oa = a + da * (1.0 - a)
                        for c in range(3):
                            v = (cols[k, c] * a + rgba[py, px, c] * da * (1.0 - a)) / oa
                            rgba[py, px, c] = np.uint8(min(255.0, v + 0.5))
                        rgba[py, px, 3] = np.uint8(min(255.0, oa * 255.0 + 0.5))


@njit(cache=True, nogil=True)
def _fill_polygon(mask, xs, ys):  # pragma: no cover - compiled
    """Even-odd fill of one polygon, sampling subpixel centres exactly (mask: (h, w) uint8)."""
    h, w = mask.shape
    n = xs.shape[0]
    cuts = np.empty(n, np.float64)
    for py in range(h):
        cy = py + 0.5
        m = 0
        for i in range(n):
            j = (i + 1) % n
            ya, yb = ys[i], ys[j]
            if (ya <= cy < yb) or (yb <= cy < ya):
                cuts[m] = xs[i] + (cy - ya) * (xs[j] - xs[i]) / (yb - ya)
                m += 1
        c = np.sort(cuts[:m])
        for k in range(0, m - 1, 2):
            # centres px + 0.5 in [c[k], c[k+1])
            a = max(0, int(np.ceil(c[k] - 0.5)))
            b = min(w, int(np.ceil(c[k + 1] - 0.5)))
            for px in range(a, b):
                mask[py, px] = 1


@njit(cache=True, nogil=True)
def _resolve(rgba, lab, ss, alpha, prem, region):  # pragma: no cover - compiled
    """Box-downsample premultiplied RGBA and take the majority non-background label."""
    H, W = alpha.shape
    inv = 1.0 / (ss * ss * 255.0)
    for i in range(H):
        for j in range(W):
            sa = 0.0
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            c1 = 0
            c2 = 0
            c3 = 0
            for u in range(i * ss, (i + 1) * ss):
                for v in range(j * ss, (j + 1) * ss):
                    a = rgba[u, v, 3] / 255.0
                    sa += a
                    s0 += rgba[u, v, 0] * a
                    s1 += rgba[u, v, 1] * a
                    s2 += rgba[u, v, 2] * a
                    lb = lab[u, v]
                    if lb == 1:
                        c1 += 1
                    elif lb == 2:
                        c2 += 1
                    elif lb == 3:
                        c3 += 1
            alpha[i, j] = sa / (ss * ss)
            prem[i, j, 0] = s0 * inv
            prem[i, j, 1] = s1 * inv
            prem[i, j, 2] = s2 * inv
            if sa > 0 and c1 + c2 + c3 > 0:
                if c1 >= c2 and c1 >= c3:
                    region[i, j] = 1
                elif c2 >= c3:
                    region[i, j] = 2
                else:
                    region[i, j] = 3


def _u8(c: Sequence[float]) -> np.ndarray:
    return np.clip(np.round(np.asarray(c, np.float64) * 255.0), 0, 255).astype(np.uint8)


class Canvas:
    """A supersampled straight-RGBA canvas plus a region-label plane."""

    def __init__(self, width: int, height: int, ss: int = 4):
        self.w, self.h, self.ss = int(width), int(height), int(ss)
        self.rgba = np.zeros((self.h * ss, self.w * ss, 4), np.uint8)
        self.lab = np.zeros((self.h * ss, self.w * ss), np.uint8)

    # --- thin structures --------------------------------------------------------------------
    def capsules(self, segs: np.ndarray, colours: np.ndarray, region: str, opacity: float = 1.0) -> None:
        """Draw tapered segments. segs: (N, 6) x0, y0, x1, y1, w0, w1 (widths in px);
        colours: (N, 3) or (3,) on [0, 1]. Opaque segments overwrite; others are composited 'over'."""
        segs = np.asarray(segs, np.float64).reshape(-1, 6).copy()
        if not len(segs):
            return
        segs[:, 4:] *= 0.5  # widths -> radii
        cols = np.empty((len(segs), 4), np.uint8)
        cols[:, :3] = _u8(np.broadcast_to(colours, (len(segs), 3)))
        cols[:, 3] = _u8(opacity)
        labels = np.full(len(segs), REGION_IDS[region], np.uint8)
        _draw_capsules(self.rgba, self.lab, segs, cols, labels, float(self.ss))

    def polyline(self, pts: np.ndarray, colours, widths, region: str, opacity: float = 1.0) -> None:
        """A polyline of K points as K-1 capsules; widths: scalar or (K,) tapering per point."""
        pts = np.asarray(pts, np.float64)
        w = np.broadcast_to(np.asarray(widths, np.float64), (len(pts),))
        segs = np.concatenate([pts[:-1], pts[1:], w[:-1, None], w[1:, None]], axis=1)
        cols = np.asarray(colours, np.float64)
        if cols.ndim == 2 and len(cols) == len(pts):
            cols = cols[:-1]
        self.capsules(segs, cols, region, opacity)

    def ring(self, cx, cy, rx, ry, angle, colour, width, region: str, n: int = 24) -> None:
        t = np.linspace(0, 2 * np.pi, n + 1)
        ca, sa = np.cos(angle), np.sin(angle)
        x, y = rx * np.cos(t), ry * np.sin(t)
        pts = np.stack([cx + x * ca - y * sa, cy + x * sa + y * ca], axis=1)
        self.polyline(pts, colour, width, region)

    # --- filled shapes ------------------------------------------------------------------------
    def polygon(self, pts, colour, region: str, opacity: float = 1.0) -> None:
        """Fill a polygon (K, 2) in output px, sampling subpixel centres exactly."""
        pts = np.asarray(pts, np.float64) * self.ss
        ox, oy = max(0, int(np.floor(pts[:, 0].min()))), max(0, int(np.floor(pts[:, 1].min())))
        ex = min(self.w * self.ss, int(np.ceil(pts[:, 0].max())) + 1)
        ey = min(self.h * self.ss, int(np.ceil(pts[:, 1].max())) + 1)
        if ex <= ox or ey <= oy:
            return
        mask = np.zeros((ey - oy, ex - ox), np.uint8)
        _fill_polygon(mask, pts[:, 0] - ox, pts[:, 1] - oy)
        self.over(oy, ox, mask.astype(np.float32) * float(opacity), np.asarray(colour, np.float32), region)

    def ellipse(self, cx, cy, rx, ry, colour, region: str, opacity: float = 1.0) -> None:
        t = np.linspace(0, 2 * np.pi, max(16, int(2 * np.pi * max(rx, ry) * self.ss / 4)), endpoint=False)
        self.polygon(np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1), colour, region, opacity)

    def over(self, oy: int, ox: int, a_src: np.ndarray, colour, region: str) -> None:
        """Composite a (h, w) opacity map of one colour (or an (h, w, 3) colour map) over the canvas at (oy, ox)."""
        h, w = a_src.shape
        dst = self.rgba[oy:oy + h, ox:ox + w].astype(np.float32) / 255.0
        da = dst[..., 3]
        oa = a_src + da * (1 - a_src)
        col = np.broadcast_to(np.asarray(colour, np.float32), (h, w, 3))
        rgb = (col * a_src[..., None] + dst[..., :3] * (da * (1 - a_src))[..., None]) / np.maximum(oa, 1e-8)[..., None]
        hit = a_src > 0
        out = np.concatenate([rgb, oa[..., None]], axis=-1)
        blk = self.rgba[oy:oy + h, ox:ox + w]
        blk[hit] = np.clip(np.round(out[hit] * 255.0), 0, 255).astype(np.uint8)
        self.lab[oy:oy + h, ox:ox + w][hit] = REGION_IDS[region]

    # --- result ------------------------------------------------------------------------------
    def resolve(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Downsample to output resolution.

        Returns alpha (H, W) float32 on [0, 1]; fg (H, W, 3) float32 on [0, 1] (extrapolated smoothly
        where alpha = 0); region (H, W) uint8 ids, 0 exactly where alpha = 0, else the most common
        non-background label among the pixel's subpixels.
        """
        alpha = np.empty((self.h, self.w), np.float32)
        prem = np.empty((self.h, self.w, 3), np.float32)
        region = np.zeros((self.h, self.w), np.uint8)
        _resolve(self.rgba, self.lab, self.ss, alpha, prem, region)
        region[alpha <= 0] = 0
        fg = np.zeros_like(prem)
        pos = alpha > 0
        fg[pos] = prem[pos] / alpha[pos][:, None]
        return np.clip(alpha, 0, 1), _extrapolate_fg(np.clip(fg, 0, 1), alpha), region


def _extrapolate_fg(fg: np.ndarray, alpha: np.ndarray, sigma: float = 6.0) -> np.ndarray:
    """Fill F where alpha = 0 by normalised convolution, so F is smooth and defined everywhere."""
    w = alpha.astype(np.float32)
    empty = w == 0
    if not empty.any():
        return fg
    if not w.any():
        return np.full_like(fg, 0.5)
    den = ndimage.gaussian_filter(w, sigma)
    num = np.stack([ndimage.gaussian_filter(fg[..., c] * w, sigma) for c in range(3)], axis=-1)
    mean = (fg * w[..., None]).sum(axis=(0, 1)) / w.sum()
    fill = np.where(den[..., None] > 1e-4, num / np.maximum(den, 1e-4)[..., None], mean)
    out = fg.copy()
    out[empty] = fill[empty]
    return np.clip(out, 0, 1)
