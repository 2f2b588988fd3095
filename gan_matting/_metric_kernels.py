"""numba kernels behind the exact Grad and Conn metrics (``gan_matting.metrics`` is the interface).

Why kernels: the plain scipy versions spend their time on work the metrics never read. Grad needs
the filtered matte only on the unknown band (plus the 4-px reach of the 9x9 kernel), and Conn needs
the connected components of ten nested threshold sets, which one union-find sweep from the highest
threshold down builds incrementally instead of labelling the full image ten times.
Parity with the straightforward implementation (``metrics_reference``) is tested on random mattes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange  # the cache dir is set by gan_matting/__init__.py


@njit(cache=True, nogil=True)
def _clamp(i, n):
    return 0 if i < 0 else (n - 1 if i >= n else i)


@njit(cache=True, nogil=True, parallel=True)
def gradient_magnitude(a, lo, scale, g, dg, r0, r1, c0, c1):
    """|grad| of mat2gray(a) = (a - lo) / scale on rows [r0, r1) x cols [c0, c1), replicate borders.

    x: derivative along columns then Gaussian along rows; y: the transpose (scipy's correlate1d
    order and rounding, so the result equals the full-image filtering on the region).
    """
    h, w = a.shape
    k = g.shape[0]
    rad = k // 2
    ra, rb = max(r0 - rad, 0), min(r1 + rad, h)  # rows the vertical pass reads
    nr, nc = rb - ra, c1 - c0
    hd = np.empty((nr, nc))  # horizontal derivative
    hg = np.empty((nr, nc))  # horizontal Gaussian
    for y in prange(ra, rb):
        for x in range(c0, c1):
            sd = 0.0
            sg = 0.0
            for t in range(k):
                v = (a[y, _clamp(x + t - rad, w)] - lo) / scale
                sd += dg[t] * v
                sg += g[t] * v
            hd[y - ra, x - c0] = sd
            hg[y - ra, x - c0] = sg
    out = np.empty((r1 - r0, nc))
    for y in prange(r0, r1):
        for x in range(nc):
            gx = 0.0
            gy = 0.0
            for t in range(k):
                yy = _clamp(y + t - rad, h) - ra
                gx += g[t] * hd[yy, x]
                gy += dg[t] * hg[yy, x]
            out[y - r0, x] = np.sqrt(gx * gx + gy * gy)
    return out


@njit(cache=True, nogil=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _root(parent, i):
    while parent[i] != i:  # read-only: safe from several threads
        i = parent[i]
    return i


@njit(cache=True, nogil=True, parallel=True)
def _mark_members(parent, bucket, unk, inside, i, best):
    for k in prange(unk.shape[0]):
        p = unk[k]
        if bucket[p] >= i and _root(parent, p) == best:
            inside[k] |= 1 << i


@njit(cache=True, nogil=True, parallel=True)
def _buckets(mf, thr):
    """Highest i with m >= t_i (0: none); int8 keeps the array in cache for the sweep."""
    bucket = np.empty(mf.shape[0], np.int8)
    for p in prange(mf.shape[0]):
        v = mf[p]
        b = 0
        while v >= thr[b + 1]:
            b += 1
        bucket[p] = b
    return bucket


@njit(cache=True, nogil=True)
def connectivity_levels(m, unknown, n_steps, skip_empty):
    """DIM connectivity level l of the unknown pixels, in row-major order (as ``array[unknown]``).

    m = min(pred, gt) on [0, 1], so that (pred >= t) & (gt >= t) is m >= t. For t_i = i / n_steps,
    Omega_i is the largest 4-connected component of {m >= t_i}, ties to the component that comes
    first in column-major order (MATLAB's bwconncomp + max). l = t_{i-1} for the first i whose
    Omega_i misses the pixel, else 1. skip_empty: a level with an empty set is skipped (IndexNet)
    instead of assigning t_{i-1} to every pixel (GCA/mmagic).
    """
    h, w = m.shape
    n = h * w
    thr = np.empty(n_steps + 2)
    for i in range(n_steps + 1):
        thr[i] = i / n_steps  # the exact decimals of the reference
    thr[n_steps + 1] = np.inf
    bucket = _buckets(m.ravel(), thr)
    counts = np.zeros(n_steps + 2, np.int64)
    for p in range(n):
        counts[bucket[p]] += 1
    # pixels grouped by bucket (counting sort, raster order inside a bucket), highest first
    start = np.zeros(n_steps + 2, np.int64)
    for b in range(n_steps - 1, -1, -1):
        start[b] = start[b + 1] + counts[b + 1]
    order = np.empty(n, np.int32)
    fill = start.copy()
    for p in range(n):
        b = bucket[p]
        order[fill[b]] = p
        fill[b] += 1
    parent = np.arange(n, dtype=np.int32)
    size = np.zeros(n, np.int32)
    first = np.zeros(n, np.int32)  # smallest column-major index in the component
    unk = np.flatnonzero(unknown.ravel())
    inside = np.zeros(unk.shape[0], np.int32)  # bit i: pixel is in Omega_i
    best, best_size, best_first = -1, 0, 0
    last_root = -1
    for i in range(n_steps, 0, -1):
        for j in range(start[i], start[i] + counts[i]):
            p = order[j]
            y, x = p // w, p % w
            size[p] = 1
            first[p] = x * h + y
            # which neighbours are already in: a higher bucket, or this bucket earlier in raster order
            up = y > 0 and bucket[p - w] >= i
            left = x > 0 and bucket[p - 1] >= i
            down = y < h - 1 and bucket[p + w] > i
            right = x < w - 1 and bucket[p + 1] > i
            # two neighbours that share a present diagonal pixel are already one component (every
            # pair of present 4-neighbours was joined when the later one came in)
            ul = up and left and bucket[p - w - 1] >= i
            ur = up and right and bucket[p - w + 1] >= i
            dl = down and left and bucket[p + w - 1] > i
            dr = down and right and bucket[p + w + 1] > i
            r = p
            for q, need in ((p - 1, left), (p - w, up and not ul), (p + 1, right and not ur),
                            (p + w, down and not (dr or dl))):
                if not need:
                    continue
                # the left pixel came in just before: its root is still the one found then
                rq = last_root if (q == p - 1 and j > start[i] and order[j - 1] == q) else _find(parent, q)
                if rq == r:
                    continue
                if size[rq] > size[r]:
                    r, rq = rq, r
                parent[rq] = r
                size[r] += size[rq]
                if first[rq] < first[r]:
                    first[r] = first[rq]
            last_root = r
            if size[r] > best_size or (size[r] == best_size and first[r] < best_first):
                best, best_size, best_first = r, size[r], first[r]
        if best < 0:  # the set {m >= t_i} is empty
            if skip_empty:
                for k in range(unk.shape[0]):
                    inside[k] |= 1 << i
            continue
        best = _find(parent, best)
        _mark_members(parent, bucket, unk, inside, i, best)
    level = np.empty(unk.shape[0])
    for k in range(unk.shape[0]):
        lv = 1.0
        for i in range(1, n_steps + 1):
            if not (inside[k] >> i) & 1:
                lv = thr[i - 1]
                break
        level[k] = lv
    return level
