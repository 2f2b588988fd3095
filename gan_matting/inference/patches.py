"""Full-resolution patches: pick where to refine, cut them out with context, paste results back.

The image is cut into a grid of ``patch x patch`` cells. Each selected cell is extracted with ``margin``
pixels of context on every side (replicate-padded at the image border), so a network whose valid
convolutions eat exactly ``margin`` pixels returns the cell itself and the result does not depend on which
other cells were selected.

    score = cell_scores(error, unknown, patch)          # (B, Hc, Wc): mean error, -inf where no unknown px
    idx = select_cells(score, k)                        # (N, 3) long: batch, cell row, cell column
    idx, valid = select_cells_static(score, k)          # (K, 3) + (K,) bool: fixed shape, for CUDA graphs
    x = extract_cells(tensor, idx, patch, margin)       # (N, C, patch + 2m, patch + 2m)
    out = scatter_cells(dst, cells, idx, patch)         # dst with the selected cells replaced
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cell_scores(error: torch.Tensor, unknown: torch.Tensor, patch: int) -> torch.Tensor:
    """error, unknown: (B, 1, H, W). Mean error per cell over its unknown pixels; cells without an
    unknown pixel get -inf so that they are never chosen. Partial cells at the bottom/right count."""
    err = F.pad(error * unknown, _pad_to(error, patch))
    unk = F.pad(unknown.float(), _pad_to(error, patch))
    s_err = F.avg_pool2d(err, patch)[:, 0]
    s_unk = F.avg_pool2d(unk, patch)[:, 0]
    score = s_err / s_unk.clamp_min(1e-12)
    return torch.where(s_unk > 0, score, torch.full_like(score, float("-inf")))


def select_cells(score: torch.Tensor, k: int) -> torch.Tensor:
    """The k highest-scoring cells over the batch (ties broken by position, deterministically), never a
    -inf cell. Returns (N, 3) long [batch, row, col], N <= k, sorted by position."""
    idx, valid = select_cells_static(score, k)
    return idx[valid]


def select_cells_static(score: torch.Tensor, k: int):
    """``select_cells`` with a shape known in advance: always min(k, cells) rows, plus a (K,) bool mask of
    the rows that are real choices (finite score). No host synchronisation, so it runs inside a CUDA graph;
    ``idx[valid]`` is exactly ``select_cells(score, k)``."""
    b, hc, wc = score.shape
    flat = score.reshape(-1)
    k = max(0, min(k, flat.numel()))
    # stable: equal scores keep index order, so the choice does not depend on the sort implementation;
    # -inf cells sort last, so the finite ones among the first k are the top min(k, finite) cells
    order = torch.sort(flat, descending=True, stable=True).indices[:k]
    order = torch.sort(order).values
    valid = torch.isfinite(flat[order])
    return torch.stack([order // (hc * wc), (order // wc) % hc, order % wc], dim=1), valid


def extract_cells(x: torch.Tensor, idx: torch.Tensor, patch: int, margin: int) -> torch.Tensor:
    """x (B, C, H, W) -> (N, C, patch + 2 margin, patch + 2 margin) windows around the selected cells.
    Outside the image the nearest edge pixel is repeated (replicate padding, done by clamping indices so
    that the image is never copied)."""
    size = patch + 2 * margin
    if idx.numel() == 0:
        return x.new_zeros(0, x.shape[1], size, size)
    h, w = x.shape[-2:]
    ar = torch.arange(size, device=x.device) - margin
    rows = (idx[:, 1:2] * patch + ar).clamp(0, h - 1)[:, :, None]  # (N, size, 1)
    cols = (idx[:, 2:3] * patch + ar).clamp(0, w - 1)[:, None, :]  # (N, 1, size)
    out = x[idx[:, 0][:, None, None], :, rows, cols]  # advanced indices first: (N, size, size, C)
    return out.permute(0, 3, 1, 2).contiguous()


def extract_cells_resampled(src: torch.Tensor, idx: torch.Tensor, patch: int, margin: int, size) -> torch.Tensor:
    """The windows ``extract_cells`` would cut from ``src`` (B, C, h, w) upsampled bilinearly to ``size``
    (H, W), without making that full-size copy: only the window pixels are sampled (grid_sample with the
    same pixel-centre convention as F.interpolate(align_corners=False))."""
    s = patch + 2 * margin
    n, c = len(idx), src.shape[1]
    if n == 0:
        return src.new_zeros(0, c, s, s)
    big_h, big_w = size
    ar = torch.arange(s, device=src.device) - margin
    rows = (idx[:, 1:2] * patch + ar).clamp(0, big_h - 1).to(src.dtype)  # (N, S)
    cols = (idx[:, 2:3] * patch + ar).clamp(0, big_w - 1).to(src.dtype)
    gy = ((rows + 0.5) / big_h * 2 - 1)[:, :, None].expand(n, s, s)
    gx = ((cols + 0.5) / big_w * 2 - 1)[:, None, :].expand(n, s, s)
    grid = torch.stack([gx, gy], dim=-1).reshape(1, -1, s, 2)
    out = None
    # every window sampled from each image of the batch, then the right one kept: B sampling calls
    # (B is 1 in inference) and no data-dependent shapes, so no host synchronisation (CUDA graphs)
    for b in range(src.shape[0]):
        v = F.grid_sample(src[b:b + 1], grid, mode="bilinear", padding_mode="border", align_corners=False)
        v = v.reshape(c, n, s, s).transpose(0, 1)
        out = v if out is None else torch.where((idx[:, 0] == b)[:, None, None, None], v, out)
    return out.contiguous()


def scatter_cells(dst: torch.Tensor, cells: torch.Tensor, idx: torch.Tensor, patch: int) -> torch.Tensor:
    """Copy of dst (B, C, H, W) with each selected cell replaced by cells (N, C, patch, patch); the parts of
    border cells that fall outside the image are dropped."""
    if idx.numel() == 0:
        return dst.clone()
    b, c, h, w = dst.shape
    ph, pw = _pad_to(dst, patch)[3], _pad_to(dst, patch)[1]
    out = F.pad(dst, (0, pw, 0, ph))
    ar = torch.arange(patch, device=dst.device)
    rows = (idx[:, 1:2] * patch + ar)[:, :, None]
    cols = (idx[:, 2:3] * patch + ar)[:, None, :]
    out[idx[:, 0][:, None, None], :, rows, cols] = cells.permute(0, 2, 3, 1).to(out.dtype)
    return out[:, :, :h, :w].contiguous()


def _pad_to(x: torch.Tensor, patch: int):
    """F.pad amounts (left, right, top, bottom) that make H and W multiples of patch."""
    h, w = x.shape[-2:]
    return (0, (-w) % patch, 0, (-h) % patch)
