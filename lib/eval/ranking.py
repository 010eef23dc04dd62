"""Exact ranks of a few chosen gallery entries in each query row, without sorting rows.

Only the ranks of a query's same-identity gallery images are needed for CMC and mAP
(:mod:`lib.eval.metrics`). With ``s`` their distances, the counts of distances ``< s_k`` and
``<= s_k`` for every k come from counting the row against the sorted thresholds
``{nextafter(s_k, -inf), s_k}``; when exactly one distance equals ``s_k`` its rank is the
first count + 1, otherwise (a tie) the rank is counted exactly with the gallery index
breaking the tie, which reproduces a stable sort by distance.

The counting costs a few passes over the chunk instead of a sort (MSMT17: 82,161 entries a
row), by one of three exact routes (:func:`counts_at_most`).
"""

from __future__ import annotations

import torch
from torch import Tensor

FILTER_MAX_FRACTION = 0.1  # search entries below the largest same-pid distance when this few
NUM_BINS = 4096  # per-row histogram bins of binned_counts


def buffer(work: dict, name: str, shape: tuple[int, int], dtype, device) -> Tensor:
    """A reusable scratch tensor: re-allocating chunk-sized memory costs page faults."""
    size = shape[0] * shape[1]
    buf = work.get(name)
    if buf is None or buf.numel() < size or buf.dtype != dtype or buf.device != device:
        buf = work[name] = torch.empty(size, dtype=dtype, device=device)
    return buf[:size].view(shape)


def ordered_keys(x: Tensor) -> Tensor:
    """int64 keys in [0, 2^32) that order like the float32 values ``x`` (-0.0 as 0.0)."""
    bits = (x + 0.0).view(torch.int32)
    return (bits ^ ((bits >> 31) & 0x7FFFFFFF)).long() + 2**31


def search_rows(values: Tensor, rows: Tensor, thresholds: Tensor) -> Tensor:
    """Global position of each float32 ``values[e]`` among the row-sorted ``thresholds``:
    ``rows[e] * (W + 1) + #{t in row rows[e] : t < values[e]}``, by one 1-d search of int64
    keys (row << 32 | ordered value; a sentinel closes each row)."""
    band = torch.arange(len(thresholds), device=values.device)[:, None] << 32
    keys = torch.cat([ordered_keys(thresholds) + band, band + (2**32 - 1)], dim=1)
    return torch.searchsorted(keys.view(-1), ordered_keys(values) + (rows << 32))


def binned_counts(dist: Tensor, thresholds: Tensor, limit: Tensor, work: dict) -> Tensor:
    """Counts of :func:`counts_at_most` through a per-row histogram of NUM_BINS bins.

    Any monotone map ``bin(x) = clamp(x * scale + offset)`` gives, for a threshold t,
    ``#{d <= t} = #{bin(d) < bin(t)} + #{bin(d) = bin(t), d <= t}``; the first term is a
    histogram, the second needs only the few "boundary" entries that share a bin with a
    threshold, which are searched exactly.
    """
    rows, width = thresholds.shape
    dev, slots = dist.device, NUM_BINS + 3
    lo = torch.where(torch.isfinite(thresholds[:, 0]), thresholds[:, 0], 0.0)
    scale = NUM_BINS / (limit - lo)
    offset = 1.0 - lo * scale
    bad = ~(torch.isfinite(scale) & torch.isfinite(offset) & (scale > 0))
    scale, offset = scale.masked_fill(bad, 1.0)[:, None], offset.masked_fill(bad, 0.0)[:, None]
    row_slots = torch.arange(rows, device=dev, dtype=torch.int32)[:, None] * slots

    value = torch.mul(dist, scale, out=buffer(work, "value", dist.shape, dist.dtype, dev))
    value.add_(offset).clamp_(0, NUM_BINS + 2)
    bins = buffer(work, "bucket", dist.shape, torch.int32, dev).copy_(value)  # floor
    bins += row_slots
    below = torch.bincount(bins.view(-1), minlength=rows * slots).view(rows, slots).cumsum(1)
    t_bins = (thresholds * scale + offset).clamp_(0, NUM_BINS + 2).int() + row_slots
    marks = torch.zeros(rows * slots, dtype=torch.bool, device=dev)
    marks[t_bins[thresholds <= limit[:, None]].long()] = True
    shared = buffer(work, "mask", dist.shape, torch.bool, dev)
    torch.index_select(marks, 0, bins.view(-1), out=shared.view(-1))
    r, c = shared.view(dist.shape).nonzero(as_tuple=True)
    # boundary entry e counts for threshold k iff first(e) <= k < end(e): e <= t_k, same bin
    first = search_rows(dist[r, c], r, thresholds) - r * (width + 1)  # #{t < e}
    t_keys = torch.cat([t_bins, row_slots + (slots - 1)], dim=1).view(-1)  # row sentinels
    end = torch.searchsorted(t_keys, bins[r, c], right=True) - r * (width + 1)
    inside = torch.zeros(rows, width + 2, dtype=torch.long, device=dev)
    ones = torch.ones_like(r)
    inside.index_put_((r, first), ones, accumulate=True)
    inside.index_put_((r, end), -ones, accumulate=True)
    start = torch.cat([torch.zeros_like(below[:, :1]), below], dim=1)  # start[b] = #{bin < b}
    return start.gather(1, (t_bins - row_slots).long()) + inside.cumsum(1)[:, :width]


def counts_at_most(dist: Tensor, thresholds: Tensor, limit: Tensor, work: dict) -> Tensor:
    """``#{j : dist[i, j] <= thresholds[i, t]}`` for row-sorted thresholds ``<= limit[i]``.

    Three exact routes. float32: entries above ``limit`` (the largest same-pid distance)
    never count, so when at most FILTER_MAX_FRACTION of the chunk lies below it (good
    features: true matches rank high) only those are searched; otherwise
    :func:`binned_counts`, whose cost does not depend on the data (a plain searchsorted of
    random data costs ~4x more: branch mispredictions). float64: searchsorted of the chunk.
    """
    rows, width = thresholds.shape
    dev = dist.device
    if dist.dtype == torch.float32:
        below = torch.le(
            dist, limit[:, None], out=buffer(work, "mask", dist.shape, torch.bool, dev)
        )
        if int(torch.count_nonzero(below)) > FILTER_MAX_FRACTION * below.numel():
            return binned_counts(dist, thresholds, limit, work)
        r, c = below.nonzero(as_tuple=True)
        flat = search_rows(dist[r, c], r, thresholds)
    else:
        out = buffer(work, "bucket", dist.shape, torch.int32, dev)
        flat = torch.searchsorted(thresholds, dist, out_int32=True, out=out)  # #{t < d_ij}
        flat += (torch.arange(rows, dtype=torch.int32, device=dev) * (width + 1))[:, None]
        flat = flat.view(-1)
    hist = torch.bincount(flat, minlength=rows * (width + 1)).view(rows, width + 1)
    return hist.cumsum(dim=1)[:, :width]


def gallery_ranks(dist: Tensor, index: Tensor, present: Tensor, work: dict) -> Tensor:
    """1-based rank (stable order over the whole gallery) of ``dist[i, index[i, k]]``.

    Counts instead of sorting: for the 2P thresholds {nextafter(s_k, -inf), s_k} the
    numbers of distances ``< s_k`` and ``<= s_k``; ties (more than one distance equal to
    ``s_k``) are then counted exactly, with the gallery index breaking them.
    """
    width = index.shape[1]
    s = dist.gather(1, index).masked_fill_(~present, float("inf"))
    thresholds = torch.cat([torch.nextafter(s, torch.full_like(s, -float("inf"))), s], dim=1)
    thresholds, perm = thresholds.sort(dim=1)
    limit = s.masked_fill(~present, -float("inf")).amax(dim=1)
    at_most = counts_at_most(dist, thresholds, limit, work)
    at_most = torch.empty_like(at_most).scatter_(1, perm, at_most)
    less, less_equal = at_most[:, :width], at_most[:, width:]
    ranks = less + 1
    tied = present & (less_equal - less != 1)
    if bool(tied.any()):
        r, k = tied.nonzero(as_tuple=True)
        positions = torch.arange(dist.shape[1], device=dist.device)
        step = max(1, 2**24 // dist.shape[1])
        for a in range(0, len(r), step):
            rr, kk = r[a : a + step], k[a : a + step]
            d, v = dist[rr], s[rr, kk][:, None]
            before = (d == v) & (positions[None, :] < index[rr, kk][:, None])
            ranks[rr, kk] = (d < v).sum(dim=1) + before.sum(dim=1) + 1
    return ranks
