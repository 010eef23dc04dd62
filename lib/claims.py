"""The paper's claims, each confirmed, refuted or left open by our runs with its interval.

One row per claim: what the paper says and where (its table or figure, with the paper's
own difference where it reports one), our paired difference over seeds or trials (same
data and identity split per pair), its 95% t-interval, n and the verdict of
:func:`lib.eval.stats.verdict`. Row claims compare two rows of Tables 1-3 on Rank-1 (in %);
curve claims (Figs. 2 and 4, Sec. 4.2's fusion weights) compare values read off the curves,
one per seed. ``make reproduce`` writes the table to ``figures/claims.{csv,md}``; ``make
readme`` copies it into the README.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.eval.stats import paired_difference, verdict

COLUMNS = ["claim", "source", "paper", "dataset", "protocol", "metric", "ours", "baseline",
           "difference", "ci_low", "ci_high", "n", "verdict"]  # fmt: skip


@dataclass(frozen=True)
class RowClaim:
    """ "``method`` beats ``baseline``" in Table ``table`` (Rank-1, higher is better)."""

    claim: str
    table: int
    method: str
    baseline: str
    direction: int = 1


ROW_CLAIMS = (
    RowClaim("FFSR beats bilinear up-sampling", 1, "FFSR (Gaussian)", "Bilinear"),
    RowClaim("FFSR beats SRCNN", 1, "FFSR (Gaussian)", "SRCNN"),
    RowClaim("FFSR beats VDSR", 1, "FFSR (Gaussian)", "VDSR"),
    RowClaim("FFSR beats AE (its network trained with MSE)", 1, "FFSR (Gaussian)", "AE"),
    RowClaim("joint learning beats no joint learning", 1, "FFSR (Gaussian, JL)", "FFSR (Gaussian)"),
    RowClaim("a person mask beats the Gaussian mask", 1, "FFSR (DeeperCut, JL)", "FFSR (Gaussian, JL)"),
    RowClaim("RIFE beats ResNet", 2, "RIFE", "ResNet50"),
    RowClaim("RIFE beats two ResNets fused with equal weights", 2, "RIFE", "two ResNet50"),
    RowClaim("RIFE beats two ResNets fused with learned weights", 2, "RIFE",
             "two ResNet50 (learned weights)"),
    RowClaim("FFSR+RIFE beats FFSR", 3, "FFSR+RIFE", "FFSR"),
    RowClaim("FFSR+RIFE beats RIFE", 3, "FFSR+RIFE", "RIFE"),
    RowClaim("FFSR+RIFE beats ResNet", 3, "FFSR+RIFE", "ResNet50"),
)  # fmt: skip

# The paper's column a claim's sign is read from where our data is not one of its datasets:
# Tables 1-2 are on VR-MSMT17 only; Table 3's VR-MSMT17 column is the closest to VR-Synthetic.
PAPER_DATASET = {1: "VR-MSMT17", 2: "VR-MSMT17", 3: "VR-MSMT17"}


def paper_difference(
    paper: pd.DataFrame, table: int, method: str, baseline: str, dataset: str | None
) -> float:
    """The paper's Rank-1 difference ``method - baseline`` in Table ``table`` on ``dataset``
    (the paper's column name; Tables 1-2: VR-MSMT17), NaN where it reports none."""
    rows = paper[paper["table"] == table]
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
    by = rows.groupby("label")["rank1"].first()
    if method not in by.index or baseline not in by.index:
        return float("nan")
    return float(by[method] - by[baseline])


def _paper_text(value: float, table: int, dataset: str | None) -> str:
    where = f"Table {table}" + (f", {dataset}" if dataset else "")
    return f"{where}: {value:+.1f}" if np.isfinite(value) else f"{where}: not reported"


def row_claims(
    records: pd.DataFrame,
    table: int,
    *,
    dataset: str,
    protocol: str,
    paper: pd.DataFrame | None = None,
    paper_dataset: str | None = None,
    pair_on: str = "seed",
    metric: str = "rank1",
) -> list[dict]:
    """Rows of the claims table for Table ``table``'s claims from per-seed (or per-trial)
    ``records`` (columns ``method``, ``pair_on`` and ``metric`` as a fraction). A claim whose
    rows are missing or marked not run is reported with n = 0 and verdict inconclusive."""
    wide = records.pivot_table(index=pair_on, columns="method", values=metric, aggfunc="first")
    out = []
    for c in (c for c in ROW_CLAIMS if c.table == table):
        paper_value = float("nan")
        if paper is not None:
            where = paper_dataset or PAPER_DATASET.get(table)
            paper_value = paper_difference(paper, table, c.method, c.baseline, where)
        if c.method in wide and c.baseline in wide:
            a, b = 100 * wide[c.method].to_numpy(), 100 * wide[c.baseline].to_numpy()
        else:
            a = b = np.array([np.nan])
        out.append(
            _row(
                c.claim,
                f"Table {table}",
                _paper_text(paper_value, table, paper_dataset or PAPER_DATASET.get(table)),
                dataset,
                protocol,
                f"{metric} (%)",
                a,
                b,
                c.direction,
            )  # fmt: skip
        )
    return out


def _row(claim, source, paper, dataset, protocol, metric, a, b, direction) -> dict:
    diff = paired_difference(a, b)
    ok = np.isfinite(a) & np.isfinite(b)
    return {
        "claim": claim,
        "source": source,
        "paper": paper,
        "dataset": dataset,
        "protocol": protocol,
        "metric": metric,
        "ours": float(np.mean(a[ok])) if ok.any() else float("nan"),
        "baseline": float(np.mean(b[ok])) if ok.any() else float("nan"),
        "difference": diff.difference,
        "ci_low": diff.ci_low,
        "ci_high": diff.ci_high,
        "n": diff.n,
        "verdict": verdict(diff, direction),
    }


def curve_claim(
    claim: str,
    source: str,
    paper: str,
    values: Mapping[int, tuple[float, float]] | Sequence[tuple[float, float]],
    *,
    dataset: str,
    protocol: str,
    metric: str,
    direction: int = 1,
) -> dict:
    """A claim read off a curve: ``values`` holds one ``(a, b)`` pair per seed (for instance
    O at low and at full resolution) and the claim is that ``a - b`` has the sign
    ``direction``."""
    pairs = list(values.values()) if isinstance(values, Mapping) else list(values)
    a = np.array([p[0] for p in pairs], dtype=float)
    b = np.array([p[1] for p in pairs], dtype=float)
    return _row(claim, source, paper, dataset, protocol, metric, a, b, direction)


def claims_frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    """The claims table (columns :data:`COLUMNS`), in the order given."""
    frame = pd.DataFrame(list(rows))
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"claim rows lack the columns {missing}")
    return frame[COLUMNS].reset_index(drop=True)


def grids_by_seed(long: pd.DataFrame, network: str) -> dict[int, pd.DataFrame]:
    """O(r1, r2) grids of ``network`` per seed from the long records notebooks 01 and 08 write
    (columns ``network``, ``seed``, ``r1``, ``r2``, ``O``): what :func:`objective_claims` takes."""
    part = long[long["network"] == network]
    return {s: g.pivot(index="r1", columns="r2", values="O") for s, g in part.groupby("seed")}


def _rise(grid: pd.DataFrame) -> float:
    """How much O(r, 1) rises from r = 1 to the lowest r (Fig. 2b's and 4b's slope)."""
    lo, hi = min(grid.index), max(grid.index)
    return float(grid.loc[lo, hi] - grid.loc[hi, hi])


def objective_claims(
    grids: Mapping[str, Mapping[int, pd.DataFrame]], *, dataset: str, protocol: str
) -> list[dict]:
    """Figs. 2 and 4 as claims, from O(r1, r2) grids per network and seed (``grids[network]
    [seed]``, index r1, columns r2). Fig. 2 (ResNet): O rises as both resolutions fall;
    it rises when only the query's falls; and more steeply then. Fig. 4: each of FFSR, RIFE and
    FFSR+RIFE lowers O (mean over the grid) and flattens the mismatch curve (the rise of
    O(r, 1) from r = 1 to the lowest r)."""
    rows = []
    base = grids.get("ResNet", {})

    def corners(g: pd.DataFrame) -> tuple[float, float, float]:
        lo, hi = min(g.index), max(g.index)
        return float(g.loc[lo, lo]), float(g.loc[lo, hi]), float(g.loc[hi, hi])

    if base:
        c = {s: corners(g) for s, g in base.items()}
        lo = min(next(iter(base.values())).index)
        fig2 = (
            (f"O rises as both resolutions fall: O({lo:g},{lo:g}) > O(1,1)", "Fig. 2a",
             "Fig. 2a: rises", 0, 2),
            (f"O rises as the query's resolution falls: O({lo:g},1) > O(1,1)", "Fig. 2b",
             "Fig. 2b: rises", 1, 2),
            (f"mismatch is harder than low resolution: O({lo:g},1) > O({lo:g},{lo:g})", "Fig. 2",
             "Fig. 2: (b) more abrupt than (a)", 1, 0),
        )  # fmt: skip
        for claim, source, paper, i, j in fig2:
            pairs = {s: (v[i], v[j]) for s, v in c.items()}
            rows.append(curve_claim(claim, source, paper, pairs, dataset=dataset,
                                    protocol=protocol, metric="O"))  # fmt: skip
    for label, per_seed in grids.items():
        if label == "ResNet" or not base:
            continue
        seeds = sorted(set(per_seed) & set(base))
        mean_o = {s: (float(per_seed[s].to_numpy().mean()), float(base[s].to_numpy().mean()))
                  for s in seeds}  # fmt: skip
        rows.append(curve_claim(
            f"{label} lowers O (mean over the grid) below ResNet's", "Fig. 4", "Fig. 4: lower",
            mean_o, dataset=dataset, protocol=protocol, metric="mean O", direction=-1))  # fmt: skip
        slopes = {s: (_rise(per_seed[s]), _rise(base[s])) for s in seeds}
        rows.append(curve_claim(
            f"{label} flattens the mismatch curve: smaller rise of O(r,1) than ResNet's", "Fig. 4",
            "Fig. 4: flatter", slopes, dataset=dataset, protocol=protocol,
            metric="O(r min,1) - O(1,1)", direction=-1))  # fmt: skip
    return rows


def fusion_claims(
    weights: Mapping[int, pd.DataFrame], *, dataset: str, protocol: str
) -> list[dict]:
    """Sec. 4.2: "for high-resolution images, w_L would be smaller than w_H, and vice versa".
    From RIFE's fusion weights per seed (columns ``r``, ``w_low``, ``w_high``, averaged over
    blocks and images): w_H rises and w_L falls from the lowest to the highest r."""
    ends = {}
    for s, w in weights.items():
        by_r = w.groupby("r")[["w_low", "w_high"]].mean()
        lo, hi = by_r.index.min(), by_r.index.max()
        ends[s] = (by_r.loc[lo], by_r.loc[hi])
    paper = "Sec. 4.2: w_L < w_H at high r, and vice versa"
    return [
        curve_claim("RIFE's w_H rises with r", "Sec. 4.2", paper,
                    {s: (hi["w_high"], lo["w_high"]) for s, (lo, hi) in ends.items()},
                    dataset=dataset, protocol=protocol, metric="w_H(r max) - w_H(r min)"),
        curve_claim("RIFE's w_L falls with r", "Sec. 4.2", paper,
                    {s: (hi["w_low"], lo["w_low"]) for s, (lo, hi) in ends.items()},
                    dataset=dataset, protocol=protocol, metric="w_L(r max) - w_L(r min)",
                    direction=-1),
    ]  # fmt: skip
