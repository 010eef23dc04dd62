"""Ranking metrics of person ReID: CMC and mAP, market-style and single-shot protocols.

The evaluation of Sec. 5 (Tables 1-3): Euclidean distance between the 256-d features ``f``
of query and gallery images, CMC at ranks 1..``max_rank`` and mAP. Every query is processed
in chunks of rows, so no query x gallery matrix beyond one chunk is ever held (MSMT17:
11,659 x 82,161), on CPU or CUDA tensors alike.

Conventions (shared by every function here; the tests' reference implementations agree):

* Ranking is a STABLE sort by distance: equal distances are ranked by ascending gallery index
  (``numpy.argsort(d, kind="stable")``). ``-0.0`` and ``0.0`` are equal. NaN is an error.
* ``protocol="market"`` (Market1501, MSMT17, VR-*): for each query the gallery images with the
  same pid AND the same camid are removed; the other same-pid images are the true matches.
* ``protocol="single_shot"`` (VIPeR, CUHK03, CAVIAR, MLR-*): trial ``t`` keeps one gallery
  image per identity, the one with the smallest key in
  ``numpy.random.default_rng((seed, t)).random(num_gallery)`` (a uniform draw); CMC and mAP
  are averaged over the trials (their standard deviations are returned too). No same-camera
  removal: in these datasets query and gallery come from disjoint cameras, so the one drawn
  image of the query's identity is its match.
* A query with no true match left is skipped (``num_valid`` counts the others; metrics are
  NaN when no query is valid). ``cmc[k-1]`` is the fraction of valid queries whose first true
  match is within the top k; beyond the gallery size it stays at 1 (the array always has
  ``max_rank`` entries). AP is the mean over true matches of the precision at their rank
  (torchreid's definition); mAP the mean AP over valid queries.

Ranks are counted, not sorted: see :mod:`lib.eval.ranking`.
The objective O(r1, r2) of Eq. 2 lives in :mod:`lib.eval.objective` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lib.eval.objective import features_at_resolution, objective, objective_grid
from lib.eval.ranking import buffer, gallery_ranks

__all__ = [
    "evaluate",
    "evaluate_by_resolution",
    "evaluate_features",
    "features_at_resolution",
    "objective",
    "objective_grid",
    "single_shot_draws",
]

PROTOCOLS = ("market", "single_shot")
ROW_BLOCK = 8192  # feature rows per block for norms and checks
CHUNK_BYTES = 384 * 2**20  # working memory aimed at per chunk (about 24 bytes per entry)
RESOLUTION_BINS = tuple(np.linspace(0.0, 1.0, 9).tolist())  # r in steps of 0.125 (Fig. 2)


@dataclass
class _Gallery:
    """Gallery identities grouped for lookup: ``order`` sorts the gallery by (pid, index)."""

    order: Tensor
    pids: Tensor  # unique pids, ascending
    starts: Tensor
    counts: Tensor
    camids: Tensor


def _as_tensor(x, device: torch.device | str | None = None) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    return t.to(device) if device is not None else t


def _group_gallery(g_pids: Tensor, g_camids: Tensor) -> _Gallery:
    order = torch.argsort(g_pids, stable=True)
    pids, counts = torch.unique_consecutive(g_pids[order], return_counts=True)
    return _Gallery(order, pids, torch.cumsum(counts, 0) - counts, counts, g_camids)


def _same_pid_entries(gal: _Gallery, q_pids: Tensor, q_camids: Tensor, protocol: str):
    """Per query row: gallery indices of its pid (R x P, padded), true-match and junk masks."""
    at = torch.searchsorted(gal.pids, q_pids).clamp_(max=len(gal.pids) - 1)
    found = gal.pids[at] == q_pids
    count = torch.where(found, gal.counts[at], 0)
    width = int(count.max()) if len(count) else 0
    slot = torch.arange(width, device=q_pids.device)
    present = slot[None, :] < count[:, None]
    flat = (gal.starts[at][:, None] + slot[None, :]).clamp_(max=len(gal.order) - 1)
    index = gal.order[flat]
    if protocol == "market":
        junk = present & (gal.camids[index] == q_camids[:, None])
    else:
        junk = torch.zeros_like(present)
    return index, present & ~junk, junk


def _chunk_scores(dist: Tensor, index: Tensor, true: Tensor, junk: Tensor, work: dict):
    """AP and first-match rank (1-based, junk removed) of each row; rank 0 = no true match."""
    if index.shape[1] == 0:  # no query of the chunk has its pid in the gallery
        none = torch.zeros(len(dist), dtype=torch.long, device=dist.device)
        return none.double(), none
    ranks = gallery_ranks(dist, index, true | junk, work)
    big = torch.iinfo(ranks.dtype).max
    ranks, perm = ranks.masked_fill(~(true | junk), big).sort(dim=1)
    true, junk = true.gather(1, perm), junk.gather(1, perm)
    kept_rank = ranks - (torch.cumsum(junk, dim=1) - junk.long())  # junk before it removed
    hits = torch.cumsum(true, dim=1)
    num_true = hits[:, -1]
    precision = torch.where(true, hits.double() / kept_rank.double(), 0.0)
    ap = precision.sum(dim=1) / num_true.clamp(min=1)
    first = torch.where(true, kept_rank, big).amin(dim=1)
    first = torch.where(num_true > 0, first, 0)
    return ap, first


def _summarise(ap: list[Tensor], first: list[Tensor], max_rank: int) -> dict:
    ap_all, first_all = torch.cat(ap).cpu().numpy(), torch.cat(first).cpu().numpy()
    valid = first_all > 0
    num_valid = int(valid.sum())
    if num_valid == 0:
        cmc, m_ap = np.full(max_rank, np.nan), float("nan")
    else:
        hist = np.bincount(np.minimum(first_all[valid], max_rank + 1), minlength=max_rank + 2)
        cmc = np.cumsum(hist[1 : max_rank + 1]) / num_valid
        m_ap = float(ap_all[valid].mean())
    return {"cmc": cmc, "mAP": m_ap, "num_valid": num_valid, "num_query": len(first_all)}


def _run(chunks: Iterator[tuple[slice, Tensor]], q_pids, q_camids, gal, protocol, max_rank, work):
    aps, firsts = [], []
    for rows, dist in chunks:
        index, true, junk = _same_pid_entries(gal, q_pids[rows], q_camids[rows], protocol)
        ap, first = _chunk_scores(dist, index, true, junk, work)
        aps.append(ap)
        firsts.append(first)
    return _summarise(aps, firsts, max_rank)


def _average_trials(results: list[dict]) -> dict:
    cmcs = np.stack([r["cmc"] for r in results])
    maps = np.array([r["mAP"] for r in results])
    return {
        "cmc": cmcs.mean(axis=0),
        "mAP": float(maps.mean()),
        "num_valid": results[0]["num_valid"],
        "num_query": results[0]["num_query"],
        "cmc_std": cmcs.std(axis=0),
        "mAP_std": float(maps.std()),
        "trials": len(results),
    }


def single_shot_draws(g_pids, trials: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Gallery indices kept in each single-shot trial: one image per identity (Sec. 5.1).

    Trial ``t`` keeps, for every identity, its image with the smallest key in
    ``numpy.random.default_rng((seed, t)).random(len(g_pids))``; indices returned ascending.
    """
    pids = np.asarray(g_pids.cpu() if isinstance(g_pids, Tensor) else g_pids)
    draws = []
    for t in range(trials):
        keys = np.random.default_rng((seed, t)).random(len(pids))
        order = np.lexsort((keys, pids))
        first = np.ones(len(order), dtype=bool)
        first[1:] = pids[order][1:] != pids[order][:-1]
        draws.append(np.sort(order[first]))
    return draws


def _check(protocol: str, max_rank: int, num_q: int, num_g: int, lengths: tuple) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    if num_q == 0 or num_g == 0:
        raise ValueError(f"need queries and gallery images, got {num_q} and {num_g}")
    if lengths != (num_q, num_g, num_q, num_g):
        raise ValueError(
            f"lengths of q_pids, g_pids, q_camids, g_camids {lengths} do not match "
            f"{num_q} queries and {num_g} gallery images"
        )


def _default_chunk(num_g: int) -> int:
    return max(1, CHUNK_BYTES // (24 * max(num_g, 1)))


def evaluate(
    distmat,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    *,
    protocol: str = "market",
    max_rank: int = 50,
    trials: int = 10,
    seed: int = 0,
    chunk_size: int | None = None,
) -> dict:
    """CMC and mAP of a query x gallery distance matrix (numpy or torch, any device).

    Returns ``{"cmc", "mAP", "num_valid", "num_query"}`` (see the module docstring for the
    protocols, ties and skipped queries); ``single_shot`` adds ``cmc_std``, ``mAP_std`` and
    ``trials``. float16/bfloat16 are ranked in float32, float64 as given (slower: float32
    takes the fast counting routes of :mod:`lib.eval.ranking`). ``chunk_size`` query rows at a
    time (default: about 384 MiB of working memory).
    """
    dist = _as_tensor(distmat)
    if dist.ndim != 2:
        raise ValueError(f"distmat must be 2-d (queries x gallery), got shape {tuple(dist.shape)}")
    if not dist.is_floating_point() or dist.dtype in (torch.float16, torch.bfloat16):
        dist = dist.float()
    dev = dist.device
    qp, gp, qc, gc = (_as_tensor(a, dev).long() for a in (q_pids, g_pids, q_camids, g_camids))
    _check(protocol, max_rank, *dist.shape, (len(qp), len(gp), len(qc), len(gc)))

    work: dict = {}

    def chunks(columns: Tensor | None) -> Iterator[tuple[slice, Tensor]]:
        num_g = dist.shape[1] if columns is None else len(columns)
        step = chunk_size or _default_chunk(num_g)
        for a in range(0, dist.shape[0], step):
            rows = slice(a, a + step)
            d = dist[rows]
            if columns is not None:
                out = buffer(work, "dist", (len(d), num_g), d.dtype, dev)
                d = torch.index_select(d, 1, columns, out=out)
            if torch.ne(d, d, out=buffer(work, "mask", d.shape, torch.bool, dev)).any():
                raise ValueError("distance matrix contains NaN")
            yield rows, d

    if protocol == "market":
        return _run(chunks(None), qp, qc, _group_gallery(gp, gc), protocol, max_rank, work)
    results = []
    for keep in single_shot_draws(gp, trials, seed):
        cols = torch.as_tensor(keep, device=dev)
        gal = _group_gallery(gp[cols], gc[cols])
        results.append(_run(chunks(cols), qp, qc, gal, protocol, max_rank, work))
    return _average_trials(results)


def _prepare(features, device) -> Tensor:
    """float32 (N, D) features on ``device``; NaN or inf is an error. No copy of a float32
    tensor already there (MSMT17 at 2048-d: a 673 MB gallery)."""
    f = _as_tensor(features, device).float()
    if f.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {tuple(f.shape)}")
    for a in range(0, len(f), ROW_BLOCK):
        if not bool(torch.isfinite(f[a : a + ROW_BLOCK]).all()):
            raise ValueError("features contain NaN or inf")
    return f


def _row_norms(f: Tensor, squared: bool) -> Tensor:
    """Row norms (or squared norms), a block of rows at a time (no N x D temporary)."""
    sq = torch.cat([(b * b).sum(dim=1) for b in f.split(ROW_BLOCK)]) if len(f) else f[:, 0]
    return sq if squared else sq.sqrt_()


def _distance_chunks(qf: Tensor, gf: Tensor, step: int, work: dict):
    """Ranking scores of one chunk of query rows against the gallery: ``|g|^2 - 2 q.g``, the
    squared Euclidean distance of the paper less ``|q|^2``, which is constant along a row, so
    it ranks exactly as the distance (and saves one rounding)."""
    g_term = _row_norms(gf, squared=True)[None, :]
    for a in range(0, qf.shape[0], step):
        q = qf[a : a + step]
        out = buffer(work, "dist", (len(q), len(gf)), qf.dtype, qf.device)
        d = torch.mm(q * -2.0, gf.T, out=out).add_(g_term)  # x -2 is exact
        yield slice(a, a + step), d


def evaluate_features(
    qf,
    gf,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    *,
    chunk_size: int | None = None,
    protocol: str = "market",
    max_rank: int = 50,
    trials: int = 10,
    seed: int = 0,
) -> dict:
    """:func:`evaluate` from query and gallery features, computed in query chunks.

    Euclidean distance as in the paper (see ``_distance_chunks`` for the exact scores
    ranked); features (torch on CPU/CUDA, or numpy) are cast to float32 on
    the device of ``qf``. At most ``chunk_size`` query rows (default: about 384 MiB of
    working memory) are held against the gallery at once.
    """
    dev = qf.device if isinstance(qf, Tensor) else torch.device("cpu")
    q, g = _prepare(qf, dev), _prepare(gf, dev)
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query and gallery dims differ: {q.shape[1]} vs {g.shape[1]}")
    qp, gp, qc, gc = (_as_tensor(a, dev).long() for a in (q_pids, g_pids, q_camids, g_camids))
    _check(protocol, max_rank, len(q), len(g), (len(qp), len(gp), len(qc), len(gc)))
    work: dict = {}
    if protocol == "market":
        chunks = _distance_chunks(q, g, chunk_size or _default_chunk(len(g)), work)
        return _run(chunks, qp, qc, _group_gallery(gp, gc), protocol, max_rank, work)
    results = []
    for keep in single_shot_draws(gp, trials, seed):
        cols = torch.as_tensor(keep, device=dev)
        step = chunk_size or _default_chunk(len(cols))
        chunks = _distance_chunks(q, g[cols], step, work)
        gal = _group_gallery(gp[cols], gc[cols])
        results.append(_run(chunks, qp, qc, gal, protocol, max_rank, work))
    return _average_trials(results)


def resolution_buckets(r, bins=RESOLUTION_BINS) -> pd.Categorical:
    """Bucket of each resolution r (Sec. 3): right-closed intervals ``(lo, hi]`` of ``bins``,
    the first one closed on both sides; labels like ``"0.125-0.25"``, ordered."""
    edges = np.asarray(bins, dtype=float)
    r = np.asarray(r.cpu() if isinstance(r, Tensor) else r, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be increasing edges, got {bins}")
    if r.size and (r.min() < edges[0] or r.max() > edges[-1]):
        raise ValueError(f"resolutions outside [{edges[0]}, {edges[-1]}]: {r.min()}..{r.max()}")
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    codes = np.clip(np.searchsorted(edges, r, side="left") - 1, 0, len(labels) - 1)
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


def evaluate_by_resolution(
    qf,
    gf,
    q_pids,
    g_pids,
    q_camids,
    g_camids,
    q_res,
    g_res,
    *,
    bins=RESOLUTION_BINS,
    **kwargs,
) -> pd.DataFrame:
    """Rank-1 and mAP for every (query resolution bucket, gallery resolution bucket) pair.

    Beyond the paper: the data of a resolution-stratified heatmap. For each pair, the queries
    of one bucket are ranked against the gallery restricted to the other bucket with
    :func:`evaluate_features` (``kwargs``: protocol, trials, ...). Tidy rows with
    columns ``q_bucket, g_bucket, num_query, num_gallery, num_valid, rank1, mAP``, for every
    pair of non-empty buckets (NaN metrics where no query has a match in that bucket).
    Pivot with ``df.pivot(index="q_bucket", columns="g_bucket", values="rank1")``.
    """
    qb, gb = resolution_buckets(q_res, bins), resolution_buckets(g_res, bins)
    q_pids, g_pids, q_camids, g_camids = (
        np.asarray(a.cpu() if isinstance(a, Tensor) else a)
        for a in (q_pids, g_pids, q_camids, g_camids)
    )
    rows = []
    for qlabel in qb.categories[np.unique(qb.codes)]:
        qi = np.flatnonzero(qb == qlabel)
        for glabel in gb.categories[np.unique(gb.codes)]:
            gi = np.flatnonzero(gb == glabel)
            res = evaluate_features(
                qf[torch.as_tensor(qi)] if isinstance(qf, Tensor) else qf[qi],
                gf[torch.as_tensor(gi)] if isinstance(gf, Tensor) else gf[gi],
                q_pids[qi],
                g_pids[gi],
                q_camids[qi],
                g_camids[gi],
                **kwargs,
            )
            rows.append(
                (qlabel, glabel, len(qi), len(gi), res["num_valid"], res["cmc"][0], res["mAP"])
            )
    columns = ["q_bucket", "g_bucket", "num_query", "num_gallery", "num_valid", "rank1", "mAP"]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("q_bucket", "g_bucket"):
        df[col] = pd.Categorical(df[col], categories=qb.categories, ordered=True)
    return df
