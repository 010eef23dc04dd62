"""The objective O(r1, r2) of person ReID under resolution change (Sec. 3, Eq. 2).

``O(r1, r2) = D_sim(r1, r2) / D_dif(r1, r2)`` with D_sim (D_dif) the squared Euclidean
distances ``||f_i^{r1} - f_i'^{r2}||^2`` summed over pairs of the same (different) identity.
Figs. 2 and 4 are slices of the grid O(r_i, r_j): r1 = r2, and r2 = 1. Images whose pid is
not a person's (pid <= 0: Market-1501's distractors 0 and junk -1) are left out.

Computed without forming pairs: for two sets A, B the sum over all pairs is
``|B| sum_i |a_i|^2 + |A| sum_j |b_j|^2 - 2 (sum_i a_i).(sum_j b_j)``, and the same formula
per identity (counts, sums of squared norms, sums of vectors grouped by pid) gives D_sim;
D_dif is the total minus D_sim. Both sets are first centred on their joint mean (distances
do not change; it avoids cancellation) and everything is accumulated in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from lib.data.resolution import Size, degrade_batch
from lib.models.modes import evaluating

REDUCTIONS = ("sum", "mean")


def _as_float64(x) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    return t.detach().double()


def _as_pids(x) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    return t.detach().long().reshape(-1)


def _pid_index(pids_a: Tensor, pids_b: Tensor) -> tuple[Tensor, Tensor, int]:
    uniq, inverse = torch.unique(torch.cat([pids_a, pids_b]), return_inverse=True)
    return inverse[: len(pids_a)], inverse[len(pids_a) :], len(uniq)


def objective(
    f_a,
    pids_a,
    f_b,
    pids_b,
    reduction: str = "sum",
    *,
    exclude_same_image: bool = False,
) -> float:
    """O = D_sim / D_dif of Eq. 2 between features ``f_a`` (N_a, D) and ``f_b`` (N_b, D).

    Pairs are all (i, i') with i in A and i' in B; same-identity pairs go to D_sim, the
    others to D_dif. Rows whose pid is <= 0 on either side are ignored: they are no
    identity (Market-1501's distractors share pid 0; counted as one person they would put
    every distractor pair in D_sim). ``reduction="sum"`` is Eq. 2 as written; ``"mean"``
    divides D_sim and D_dif by their numbers of pairs. The figures use ``"mean"``: the
    summed ratio equals the mean ratio times N_sim / N_dif, a factor set by how many images
    each identity has, so sums make values of two datasets (Market1501 and MSMT17 share
    Fig. 2) incomparable, while the mean ratio reads the same on any test set (1 = no
    separation of identities).
    Within one test set both give the same curve shapes (they differ by that one factor).

    ``exclude_same_image=True`` says that ``f_a[i]`` and ``f_b[i]`` are the same image (the
    same test set, at resolutions r1 and r2): the n pairs (i, i) are then left out of D_sim
    and of its pair count. With r1 = r2 they are zero distances that only lower the mean;
    :func:`objective_grid` excludes them in every cell (see there). Default False: Eq. 2
    over two arbitrary sets, every pair counted.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    a, b = _as_float64(f_a), _as_float64(f_b)
    pa, pb = (_as_pids(p).to(a.device) for p in (pids_a, pids_b))
    b = b.to(a.device)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features must be (N, D) with one D, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    if len(pa) != len(a) or len(pb) != len(b):
        raise ValueError("one pid per feature row is needed")
    if exclude_same_image and (len(a) != len(b) or not torch.equal(pa, pb)):
        raise ValueError("exclude_same_image needs the same images (same pids, same order)")
    keep_a, keep_b = pa > 0, pb > 0  # with exclude_same_image both masks are the same
    a, pa, b, pb = a[keep_a], pa[keep_a], b[keep_b], pb[keep_b]
    centre = (a.sum(dim=0) + b.sum(dim=0)) / (len(a) + len(b))
    a, b = a - centre, b - centre
    sq_a, sq_b = (a * a).sum(dim=1), (b * b).sum(dim=1)
    total = len(b) * sq_a.sum() + len(a) * sq_b.sum() - 2 * a.sum(dim=0) @ b.sum(dim=0)

    ia, ib, num = _pid_index(pa, pb)
    count_a = torch.bincount(ia, minlength=num).double()
    count_b = torch.bincount(ib, minlength=num).double()
    sum_a = torch.zeros(num, a.shape[1], dtype=a.dtype, device=a.device).index_add_(0, ia, a)
    sum_b = torch.zeros(num, b.shape[1], dtype=b.dtype, device=b.device).index_add_(0, ib, b)
    sq_sum_a = torch.zeros(num, dtype=a.dtype, device=a.device).index_add_(0, ia, sq_a)
    sq_sum_b = torch.zeros(num, dtype=b.dtype, device=b.device).index_add_(0, ib, sq_b)
    d_sim = (count_b * sq_sum_a + count_a * sq_sum_b - 2 * (sum_a * sum_b).sum(dim=1)).sum()
    n_sim = float((count_a * count_b).sum())
    d_dif = max(float(total - d_sim), 0.0)
    n_dif = float(len(a) * len(b)) - n_sim
    if exclude_same_image:  # the (i, i) pairs are same-identity pairs: only D_sim changes
        d_sim = d_sim - ((a - b) ** 2).sum()
        n_sim -= len(a)
    d_sim = max(float(d_sim), 0.0)
    if n_sim <= 0 or n_dif <= 0:
        raise ValueError(f"need same- and different-identity pairs, got {n_sim:g} and {n_dif:g}")
    if reduction == "mean":
        return (d_sim / n_sim) / (d_dif / n_dif) if d_dif > 0 else float("inf")
    return d_sim / d_dif if d_dif > 0 else float("inf")


def objective_grid(
    features_at: Callable[[float], tuple],
    resolutions: Sequence[float],
    reduction: str = "mean",
    *,
    exclude_same_image: bool = True,
) -> pd.DataFrame:
    """The grid O(r1, r2) over ``resolutions`` (index r1, columns r2); Figs. 2 and 4.

    ``features_at(r) -> (features, pids)`` gives the features of one test set at
    resolution r (e.g. with :func:`features_at_resolution`); it is called once per
    resolution. Fig. 2(a) is the diagonal ``np.diag(grid)``, Fig. 2(b) the column r2 = 1.

    Same-image pairs: every resolution shows the same images, so each cell has n pairs
    (i, i) of one image against itself (at r1 and r2). By default they are excluded in
    every cell: ReID never ranks an image against itself, and on the diagonal they are n
    zero distances that would lower D_sim there but not elsewhere, so Fig. 2(a) and Fig. 2(b)
    would disagree at r1 = r2 = 1. Every cell then covers the same pairs of distinct images.
    """
    cache: dict[float, tuple[Tensor, Tensor]] = {}
    for r in resolutions:
        if r not in cache:
            f, p = features_at(r)
            cache[r] = (_as_float64(f), _as_pids(p))
    rs = list(dict.fromkeys(resolutions))
    grid = pd.DataFrame(index=pd.Index(rs, name="r1"), columns=pd.Index(rs, name="r2"), dtype=float)
    for r1 in rs:
        for r2 in rs:
            grid.loc[r1, r2] = objective(
                *cache[r1], *cache[r2], reduction, exclude_same_image=exclude_same_image
            )
    return grid


def features_at_resolution(
    model_or_callable: nn.Module | Callable[[Tensor], Tensor | dict],
    images_hr: Tensor,
    r: float,
    *,
    input_size: tuple[int, int] | None = None,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    width_max: float | None = None,
    source_sizes: Sequence[Size] | None = None,
) -> Tensor:
    """Features of HR images (N, 3, H, W) in [0, 1] after degrading them to resolution r.

    Sec. 3: r = width / width_max, so each image is down-sampled (antialiased bilinear) to
    width ``round_half_up(r * width_max)`` (at least 1 px, never enlarged), height by the
    same factor, then up-sampled bilinearly to the model input size (``input_size``, default
    (H, W)): enlarging by interpolation does not restore resolution. Row i renders an HR
    image of ``source_sizes[i]`` = (width, height) pixels and ``width_max`` is the dataset's
    widest width in those pixels (:func:`lib.data.resolution.source_geometry` gives both for
    samples); by default each row is its own source and W is width_max (r relative to the
    tensor), see :func:`lib.data.resolution.degrade_batch`. The model runs in eval mode
    (its mode is restored after) under ``torch.no_grad``; its output is a tensor or a dict
    with key ``"f"``; a plain callable ``images -> features`` works too. Batches are moved
    to ``device`` (where the model must be); features come back as float32 on the CPU.
    """
    if not 0 < r <= 1:
        raise ValueError(f"resolution r must be in (0, 1], got {r}")
    if images_hr.ndim != 4:
        raise ValueError(f"images_hr must be (N, C, H, W), got {tuple(images_hr.shape)}")
    if source_sizes is not None and len(source_sizes) != len(images_hr):
        raise ValueError(f"{len(source_sizes)} source sizes for {len(images_hr)} images")
    out = tuple(input_size) if input_size is not None else tuple(images_hr.shape[-2:])
    modules = (model_or_callable,) if isinstance(model_or_callable, nn.Module) else ()
    features = []
    with evaluating(*modules):
        for start in range(0, len(images_hr), batch_size):
            x = images_hr[start : start + batch_size].to(device).float()
            sizes = None if source_sizes is None else source_sizes[start : start + batch_size]
            x = degrade_batch(x, r, width_max, source_sizes=sizes, size=out)
            y = model_or_callable(x)
            features.append((y["f"] if isinstance(y, dict) else y).float().cpu())
    return torch.cat(features) if features else torch.empty(0)


def long_form(grid: pd.DataFrame) -> pd.DataFrame:
    """An O(r1, r2) grid (index r1, columns r2, as :func:`objective_grid` returns it) as long
    records with columns ``r1``, ``r2``, ``O``: what notebooks 01 and 08 save per seed and
    :func:`lib.claims.grids_by_seed` turns back into grids."""
    return grid.rename_axis(index="r1", columns="r2").stack().rename("O").reset_index()
