"""Procedural portraits: a head and shoulders with hair, fur and jewellery, exact alpha and F.

``render_scene(width, height, rng, cfg)`` returns alpha (H, W), fg (H, W, 3), region (H, W) and a
small dict describing what was drawn. Everything is a function of the generator's state.

What is drawn (sizes scale with the image):
  body/head    opaque shapes with smooth shading (region "body")
  hair         clumps of Bezier-like strands that converge at the tips, sub-pixel widths tapering to
               the tips, curls, flyaways, per-strand colour jitter along a root-to-tip gradient
  fur          a collar of short dense strands along the shoulders (some images)
  jewellery    chains of small linked rings, bead strings (some glass beads semi-transparent), thin
               wires, hoop or drop earrings with semi-transparent gems, a lace/veil with holes
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import colorsys
import numpy as np

from .render import Canvas

HAIR_PALETTE = {  # HSV-ish bases: (hue, sat, value)
    "black": (0.07, 0.35, 0.10), "dark-brown": (0.07, 0.55, 0.22), "brown": (0.07, 0.55, 0.38),
    "auburn": (0.03, 0.70, 0.45), "red": (0.02, 0.75, 0.60), "blond": (0.11, 0.50, 0.78),
    "platinum": (0.12, 0.15, 0.90), "grey": (0.0, 0.0, 0.65), "dyed-blue": (0.60, 0.60, 0.55),
}
METALS = {"gold": (0.83, 0.68, 0.22), "silver": (0.78, 0.80, 0.82), "rose": (0.80, 0.55, 0.48)}


@dataclass
class SceneConfig:
    ss: int = 4                     # supersampling factor per axis
    hair_density: float = 1.0       # scales the number of clumps / strands
    p_curly: float = 0.35
    p_fur: float = 0.35
    p_jewellery: float = 0.7
    p_lace: float = 0.3
    max_strand_width: float = 1.3   # px at the root
    min_strand_width: float = 0.12  # px at the tip
    specular: float = 0.0           # strength of the hairs' specular highlights (0 = none, the benchmarks' data)


def _hsv(h, s, v) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1)), np.float64)


def _curve(p0: np.ndarray, d0: np.ndarray, length: float, n: int, gravity: float, curl_amp: float,
           curl_freq: float, curl_phase: float, rng: np.random.Generator) -> np.ndarray:
    """A strand centre line: integrate a heading that bends towards gravity, with curl and noise."""
    step = length / (n - 1)
    ang = np.arctan2(d0[1], d0[0])
    pts = np.empty((n, 2))
    pts[0] = p0
    wobble = rng.normal(0, 0.02, n).cumsum() * 0.3
    for i in range(1, n):
        down = np.pi / 2
        diff = (down - ang + np.pi) % (2 * np.pi) - np.pi
        ang += gravity * diff / n * 3.0 + wobble[i] / n * 10
        curl = curl_amp * np.sin(curl_freq * i / n * 2 * np.pi + curl_phase)
        pts[i] = pts[i - 1] + step * np.array([np.cos(ang + curl), np.sin(ang + curl)])
    return pts


def _strand_segments(pts: np.ndarray, w_root: float, w_tip: float) -> np.ndarray:
    n = len(pts)
    w = np.linspace(w_root, w_tip, n) ** 1.0
    return np.concatenate([pts[:-1], pts[1:], w[:-1, None], w[1:, None]], axis=1)


def _specular(pts: np.ndarray, cols: np.ndarray, light: Tuple[float, float, float], strength: float) -> np.ndarray:
    """Kajiya-Kay highlights on a strand's segment colours: bright where the strand's tangent T is
    perpendicular to the half vector H, sin(T, H) ** p. H = (cos phi, sin phi) * c in the image plane (+ a
    component towards the viewer), so the highlight moves along a curving strand while alpha does not change:
    in a photo, brightness along a strand is mostly colour, not coverage (GT03's red hair)."""
    phi, c, p = light
    d = np.diff(pts, axis=0)
    t = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    cos_th = c * (t[:, 0] * np.cos(phi) + t[:, 1] * np.sin(phi))
    spec = np.clip(1.0 - cos_th ** 2, 0.0, 1.0) ** (p / 2.0)
    tint = 0.55 + 0.45 * cols  # highlights keep some of the hair's hue, mostly white
    return np.clip(cols + strength * spec[:, None] * tint, 0.0, 1.0)


def _draw_hair(cv: Canvas, rng: np.random.Generator, cfg: SceneConfig, head: Tuple[float, ...],
               scale: float, info: Dict) -> None:
    cx, cy, rx, ry = head
    name = list(HAIR_PALETTE)[int(rng.integers(0, len(HAIR_PALETTE)))]
    h0, s0, v0 = HAIR_PALETTE[name]
    info["hair_colour"] = name
    curly = rng.uniform() < cfg.p_curly
    info["curly"] = bool(curly)
    base = _hsv(h0, s0, v0)
    # solid hair mass over the top of the head, slightly larger than the skull
    t = np.linspace(np.pi * 1.02, np.pi * 1.98, 40)
    cap = np.stack([cx + rx * 1.08 * np.cos(t), cy + ry * 1.08 * np.sin(t)], axis=1)
    cap = np.vstack([cap, [[cx + rx * 0.9, cy - ry * 0.2], [cx - rx * 0.9, cy - ry * 0.2]]])
    cv.polygon(cap, base * 0.85, "hair")

    hair_len = scale * rng.uniform(0.35, 1.1)
    n_clumps = int(rng.integers(40, 90) * cfg.hair_density)
    segs, cols = [], []
    light = None
    if cfg.specular > 0:  # its own child stream: the same seed draws the same hair with or without highlights
        spec_rng = rng.spawn(1)[0]
        light = (spec_rng.uniform(0, np.pi), spec_rng.uniform(0.75, 1.0), spec_rng.uniform(8, 60))
        spec_strength = cfg.specular * spec_rng.uniform(0.4, 1.0)
    for _ in range(n_clumps):
        theta = rng.uniform(np.pi * 0.95, np.pi * 2.05)  # roots over the top and the sides
        root = np.array([cx + rx * 1.0 * np.cos(theta), cy + ry * 1.0 * np.sin(theta)])
        normal = np.array([np.cos(theta) * ry, np.sin(theta) * rx])
        normal /= np.linalg.norm(normal)
        length = hair_len * rng.uniform(0.5, 1.0) * (1.0 if np.sin(theta) < -0.3 else 1.2)
        n_pts = int(np.clip(length / 6, 12, 60))
        amp = rng.uniform(0.3, 0.9) if curly else rng.uniform(0.0, 0.12)
        freq = rng.uniform(2, 6) if curly else rng.uniform(0.5, 1.5)
        gravity = rng.uniform(0.3, 1.2) if curly else rng.uniform(0.9, 2.0)  # straight hair falls
        guide = _curve(root, normal, length, n_pts, gravity, amp, freq, rng.uniform(0, 6.3), rng)
        n_str = int(rng.integers(8, 30) * cfg.hair_density)
        spread = rng.uniform(2, 10) * scale / 400
        for _s in range(n_str):
            off = rng.normal(0, spread, 2)
            conv = np.linspace(1.0, rng.uniform(0.0, 0.6), n_pts)[:, None]  # clumps converge at the tips
            jitter = rng.normal(0, 0.25, (n_pts, 2)).cumsum(axis=0) * 0.15
            pts = guide + off * conv + jitter
            keep = int(n_pts * rng.uniform(0.6, 1.0))
            pts = pts[:max(keep, 3)]
            w0 = rng.uniform(cfg.min_strand_width * 2, cfg.max_strand_width)
            segs.append(_strand_segments(pts, w0, cfg.min_strand_width))
            hv = rng.normal(0, 0.08)
            c_root = _hsv(h0 + rng.normal(0, 0.01), s0, v0 * 0.8 + hv)
            c_tip = _hsv(h0 + rng.normal(0, 0.015), s0 * 0.9, v0 * 1.15 + hv)
            tt = np.linspace(0, 1, len(pts) - 1)[:, None]
            c = c_root * (1 - tt) + c_tip * tt
            if light is not None:  # strands of a clump differ slightly in angle, so highlights are not aligned
                c = _specular(pts, c, (light[0] + spec_rng.normal(0, 0.12), light[1], light[2]), spec_strength)
            cols.append(c)
    # flyaways: long, very thin, wandering strands outside the silhouette
    n_fly = int(rng.integers(15, 60) * cfg.hair_density)
    for _ in range(n_fly):
        theta = rng.uniform(np.pi * 0.9, np.pi * 2.1)
        root = np.array([cx + rx * 1.05 * np.cos(theta), cy + ry * 1.05 * np.sin(theta)])
        d0 = np.array([np.cos(theta + rng.normal(0, 0.5)), np.sin(theta + rng.normal(0, 0.5))])
        length = scale * rng.uniform(0.1, 0.45)
        pts = _curve(root, d0, length, int(np.clip(length / 5, 8, 50)), rng.uniform(0.0, 0.5),
                     rng.uniform(0.1, 0.7), rng.uniform(1, 4), rng.uniform(0, 6.3), rng)
        segs.append(_strand_segments(pts, rng.uniform(0.15, 0.5), cfg.min_strand_width))
        c = _hsv(h0, s0, v0 * 1.2 + rng.normal(0, 0.05))
        cols.append(np.repeat(c[None], len(pts) - 1, axis=0))
    info["strands"] = len(segs)
    cv.capsules(np.concatenate(segs), np.concatenate(cols), "hair")


def _draw_fur(cv: Canvas, rng: np.random.Generator, cfg: SceneConfig, shoulders, scale: float) -> None:
    sx, sy, srx, sry = shoulders
    hue, sat, val = rng.uniform(0, 1), rng.uniform(0.0, 0.5), rng.uniform(0.3, 0.95)
    n = int(scale * rng.uniform(4, 8) * cfg.hair_density)
    segs, cols = [], []
    for _ in range(n):
        theta = rng.uniform(np.pi * 1.05, np.pi * 1.95)
        root = np.array([sx + srx * np.cos(theta), sy + sry * np.sin(theta)])
        normal = np.array([np.cos(theta) * sry, np.sin(theta) * srx])
        normal /= np.linalg.norm(normal)
        length = scale * rng.uniform(0.01, 0.06)
        d0 = normal + rng.normal(0, 0.35, 2)
        pts = _curve(root - normal * length * 0.3, d0 / np.linalg.norm(d0), length, 6, 0.1,
                     rng.uniform(0, 0.3), 1.0, rng.uniform(0, 6.3), rng)
        segs.append(_strand_segments(pts, rng.uniform(0.3, 1.0), cfg.min_strand_width))
        cols.append(np.repeat(_hsv(hue, sat, val + rng.normal(0, 0.1))[None], 5, axis=0))
    cv.capsules(np.concatenate(segs), np.concatenate(cols), "hair")


def _catenary(x0, x1, y_top, sag, n) -> np.ndarray:
    x = np.linspace(x0, x1, n)
    u = (x - (x0 + x1) / 2) / max((x1 - x0) / 2, 1e-6)
    return np.stack([x, y_top + sag * (1 - u ** 2)], axis=1)


def _resample(path: np.ndarray, spacing: float) -> np.ndarray:
    d = np.r_[0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    s = np.arange(0, d[-1], max(spacing, 1e-3))
    return np.stack([np.interp(s, d, path[:, 0]), np.interp(s, d, path[:, 1])], axis=1)


def _draw_jewellery(cv: Canvas, rng: np.random.Generator, head, neck_y: float, scale: float, info: Dict) -> None:
    cx, cy, rx, ry = head
    metal = np.array(METALS[list(METALS)[int(rng.integers(0, len(METALS)))]])
    items = []
    if rng.uniform() < 0.7:  # chain of linked rings
        path = _resample(_catenary(cx - rx * 0.9, cx + rx * 0.9, neck_y, scale * rng.uniform(0.08, 0.2), 60),
                         scale * rng.uniform(0.006, 0.014))
        link = np.linalg.norm(path[1] - path[0]) if len(path) > 1 else 3.0
        for i in range(len(path) - 1):
            mid = (path[i] + path[i + 1]) / 2
            ang = np.arctan2(*(path[i + 1] - path[i])[::-1])
            shade = metal * rng.uniform(0.8, 1.15)
            if i % 2 == 0:
                cv.ring(mid[0], mid[1], link * 0.65, link * 0.35, ang, np.clip(shade, 0, 1), rng.uniform(0.3, 0.7), "jewellery")
            else:  # edge-on link: a short bar
                cv.polyline(np.array([mid - [np.cos(ang) * link * 0.6, np.sin(ang) * link * 0.6],
                                      mid + [np.cos(ang) * link * 0.6, np.sin(ang) * link * 0.6]]),
                            np.clip(shade, 0, 1), rng.uniform(0.4, 0.8), "jewellery")
        items.append("chain")
    if rng.uniform() < 0.6:  # bead string on a thin wire
        path = _catenary(cx - rx * 1.0, cx + rx * 1.0, neck_y + scale * 0.02, scale * rng.uniform(0.15, 0.3), 80)
        cv.polyline(path, metal * 0.7, rng.uniform(0.2, 0.5), "jewellery")
        r_bead = scale * rng.uniform(0.006, 0.015)
        beads = _resample(path, r_bead * 2.3)
        glass = rng.uniform() < 0.5
        hue = rng.uniform()
        for b in beads:
            col = _hsv(hue + rng.normal(0, 0.03), rng.uniform(0.1, 0.8), rng.uniform(0.5, 1.0))
            cv.ellipse(b[0], b[1], r_bead, r_bead, col, "jewellery", opacity=rng.uniform(0.45, 0.8) if glass else 1.0)
        items.append("glass-beads" if glass else "beads")
    for side in (-1, 1):  # earrings
        if rng.uniform() < 0.6:
            ex, ey = cx + side * rx * 0.98, cy + ry * 0.15
            if rng.uniform() < 0.5:
                r = scale * rng.uniform(0.02, 0.05)
                cv.ring(ex, ey + r, r, r, 0.0, metal, rng.uniform(0.4, 1.0), "jewellery", n=48)
                items.append("hoop")
            else:
                drop = scale * rng.uniform(0.03, 0.07)
                cv.polyline(np.array([[ex, ey], [ex + rng.normal(0, 1), ey + drop]]), metal, rng.uniform(0.2, 0.4), "jewellery")
                g = scale * rng.uniform(0.008, 0.02)
                gem = np.array([[ex, ey + drop - g], [ex + g * 0.8, ey + drop + g * 0.3],
                                [ex, ey + drop + g * 1.6], [ex - g * 0.8, ey + drop + g * 0.3]])
                cv.polygon(gem, _hsv(rng.uniform(), 0.7, 0.9), "jewellery", opacity=rng.uniform(0.35, 0.75))
                items.append("gem")
    info["jewellery"] = items


def _draw_lace(cv: Canvas, rng: np.random.Generator, head, scale: float, info: Dict) -> None:
    """A veil over one side of the head: semi-transparent fabric with a grid of holes and a scalloped hem."""
    cx, cy, rx, ry = head
    col = np.array([0.95, 0.93, 0.88]) if rng.uniform() < 0.6 else np.array([0.08, 0.08, 0.09])
    op = rng.uniform(0.3, 0.6)
    x0, x1 = cx - rx * 1.6, cx + rx * rng.uniform(-0.2, 1.6)
    y0, y1 = cy - ry * 1.3, cy + ry * rng.uniform(0.6, 1.6)
    hem = np.linspace(x1, x0, 40)
    scallop = y1 + np.abs(np.sin(np.linspace(0, 12 * np.pi, 40))) * scale * 0.02
    poly = np.vstack([[[x0, y0], [x1, y0]], np.stack([hem, scallop], axis=1)])
    # draw the fabric, then cut holes by drawing the fabric in pieces: a mesh of thin threads
    cv.polygon(poly[:2].tolist() + [[x1, y0 + (y1 - y0) * 0.08], [x0, y0 + (y1 - y0) * 0.08]], col, "jewellery", op)
    pitch = scale * rng.uniform(0.012, 0.03)
    thread = rng.uniform(0.3, 0.9)
    ys = np.arange(y0 + (y1 - y0) * 0.08, y1, pitch)
    xs = np.arange(x0, x1, pitch)
    segs = [[x0, y, x1, y, thread, thread] for y in ys] + [[x, y0, x + pitch * 0.5, y1, thread, thread] for x in xs]
    cv.capsules(np.array(segs), col, "jewellery", opacity=min(1.0, op * 1.6))
    cv.polyline(np.stack([hem, scallop], axis=1), col, thread * 2, "jewellery", opacity=min(1.0, op * 1.8))
    info["lace"] = True


def render_scene(width: int, height: int, rng: np.random.Generator,
                 cfg: SceneConfig | None = None) -> Dict[str, object]:
    """Render one portrait. Returns {'alpha': (H, W), 'fg': (H, W, 3), 'region': (H, W) uint8, 'info': dict}."""
    cfg = cfg or SceneConfig()
    cv = Canvas(width, height, cfg.ss)
    scale = float(min(width, height))
    info: Dict[str, object] = {}
    # head and shoulders, placed with some freedom so crops differ
    cx = width * rng.uniform(0.35, 0.65)
    cy = height * rng.uniform(0.32, 0.5)
    rx, ry = scale * rng.uniform(0.11, 0.17), scale * rng.uniform(0.14, 0.21)
    head = (cx, cy, rx, ry)
    skin = _hsv(rng.uniform(0.03, 0.1), rng.uniform(0.2, 0.6), rng.uniform(0.35, 0.95))
    shoulders = (cx + rng.normal(0, scale * 0.03), cy + ry * 1.5 + scale * 0.3, scale * rng.uniform(0.35, 0.5), scale * 0.3)
    cloth = _hsv(rng.uniform(), rng.uniform(0, 0.8), rng.uniform(0.15, 0.9))
    neck_y = cy + ry * 0.9
    cv.polygon([[cx - rx * 0.45, cy], [cx + rx * 0.45, cy], [cx + rx * 0.5, shoulders[1]], [cx - rx * 0.5, shoulders[1]]], skin * 0.9, "body")
    cv.ellipse(*shoulders, cloth, "body")
    cv.ellipse(cx, cy, rx, ry, skin, "body")
    if rng.uniform() < cfg.p_fur:
        _draw_fur(cv, rng, cfg, shoulders, scale)
        info["fur"] = True
    _draw_hair(cv, rng, cfg, head, scale, info)
    if rng.uniform() < cfg.p_jewellery:
        _draw_jewellery(cv, rng, head, neck_y + ry * 0.35, scale, info)
    if rng.uniform() < cfg.p_lace:
        _draw_lace(cv, rng, head, scale, info)
    alpha, fg, region = cv.resolve()
    return {"alpha": alpha, "fg": fg, "region": region, "info": info}
