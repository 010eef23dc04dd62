"""The paper's claims, each confirmed, refuted or left open by our runs with its interval.

One row per claim: what the paper says and where (its table and column, with the paper's own
difference where it reports one), our paired difference over seeds or trials (same data and
identity split per pair), its 95% interval, n, and two verdicts:

- ``verdict`` (the sign): ``holds`` / ``refuted`` when the family's Holm-adjusted p-value
  (``p_holm``, :func:`lib.eval.stats.holm`) is below 0.05 and the difference has the paper's
  sign / the other sign, else ``inconclusive``. A family is one table or figure on one
  dataset (Table 1, Table 2, Table 3, Fig. 2, Fig. 4, Sec. 4.2, each per dataset), so the
  chance of any false "holds" or "refuted" within a family is at most 5%.
- ``magnitude_verdict``: our interval against the paper's reported gain
  (:func:`lib.eval.stats.magnitude_verdict`): ``reproduced``, ``smaller than reported``,
  ``larger than reported``, ``inconclusive`` or ``no paper number``. ``paper_gain_scaled``
  (the paper's gain times our baseline over the paper's baseline) and ``scaled_inside`` are
  a reading aid for a setting far weaker than the paper's, not a verdict.

Identity-split trials that resample one pool (CAVIAR's halves of 50 identities) overlap, so
their rows use Nadeau and Bengio's corrected resampled t (:func:`lib.eval.stats.corrected_interval`)
for the interval and the p-value. ``n_for_power`` is the number of seeds or trials a paired
test at 0.05 would need to detect the paper's gain with 80% power, from our differences'
standard deviation (:func:`lib.eval.stats.n_for_power`); ``shared_runs`` names the other rows
that reuse one of this row's runs (they are not independent tests).

Row claims compare two rows of Tables 1-3 on Rank-1 (in %); curve claims (Figs. 2 and 4,
Sec. 4.2's fusion weights) compare values read off the curves, one per seed. ``make
reproduce`` writes the table to ``figures/claims.{csv,md}``; ``make readme`` copies it into
the README.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lib.eval.stats import (
    corrected_interval,
    corrected_p_value,
    holm,
    magnitude_verdict,
    n_for_power,
    paired_difference,
    paired_p_value,
)

COLUMNS = ["claim", "source", "paper", "dataset", "protocol", "metric", "ours", "baseline",
           "difference", "ci_low", "ci_high", "n", "verdict", "paper_gain",
           "magnitude_verdict", "p_value", "p_holm", "family", "n_for_power", "shared_runs",
           "paper_gain_scaled", "scaled_inside"]  # fmt: skip
ALPHA = 0.05  # family-wise error rate of each family (Holm)


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

# The paper's column a claim is compared with. Tables 1-2 are on VR-MSMT17 only. Table 3:
# a real dataset's own column; VR-Synthetic against VR-MSMT17 (the same construction, widths
# over a 4:1 span); MLR-Synthetic against MLR-CUHK03, the MLR column closest in kind (one
# camera's queries down-sampled by {2, 3, 4} against an HR gallery, several images per
# identity and hundreds of training identities; MLR-VIPeR has one image per camera and
# identity). MLR-Market1501 is no column of the paper: no number to compare.
PAPER_DATASET = {1: "VR-MSMT17", 2: "VR-MSMT17", 3: "VR-MSMT17"}
PAPER_COLUMN = {"vr_synthetic": "VR-MSMT17", "mlr_synthetic": "MLR-CUHK03", "caviar": "CAVIAR",
                "vr_market1501": "VR-Market1501", "vr_msmt17": "VR-MSMT17",
                "mlr_viper": "MLR-VIPeR", "mlr_cuhk03": "MLR-CUHK03", "mlr_market1501": None}  # fmt: skip


def paper_column(table: int, dataset: str) -> str | None:
    """The paper's column that Table ``table``'s claims on ``dataset`` are compared with
    (see :data:`PAPER_COLUMN`); None where the paper has none."""
    if table in (1, 2):
        return PAPER_DATASET[table]
    return PAPER_COLUMN.get(dataset, PAPER_DATASET[table])


# The run each row of Tables 1-3 (and each network of Fig. 4) reads its numbers from, so that
# rows reusing one run are marked (Table 1's Bilinear is Table 2's and Table 3's ResNet).
RUN_OF_ROW = {
    "Bilinear": "ResNet extractor", "ResNet50": "ResNet extractor", "ResNet": "ResNet extractor",
    "SRCNN": "SRCNN + ResNet", "VDSR": "VDSR + ResNet", "AE": "AE + ResNet",
    "FFSR (Gaussian)": "FFSR + ResNet (no JL)", "FFSR (Gaussian, JL)": "FFSR joint",
    "FFSR": "FFSR joint", "FFSR (DeeperCut, JL)": "FFSR joint, person masks",
    "two ResNet50": "two ResNets", "two ResNet50 (learned weights)": "two ResNets, learned",
    "RIFE": "RIFE extractor", "FFSR+RIFE": "FFSR+RIFE joint",
}  # fmt: skip


def paper_difference(
    paper: pd.DataFrame, table: int, method: str, baseline: str, dataset: str | None
) -> float:
    """The paper's Rank-1 difference ``method - baseline`` in Table ``table`` on ``dataset``
    (the paper's column name; Tables 1-2: VR-MSMT17), NaN where it reports none."""
    return paper_rank1(paper, table, method, dataset) - paper_rank1(paper, table, baseline, dataset)


def paper_rank1(paper: pd.DataFrame, table: int, label: str, dataset: str | None) -> float:
    """The paper's Rank-1 (%) of row ``label`` of Table ``table`` in column ``dataset``; NaN
    where it reports none (or ``dataset`` is None)."""
    if dataset is None:
        return float("nan")
    rows = paper[(paper["table"] == table) & (paper["dataset"] == dataset)]
    by = rows.groupby("label")["rank1"].first()
    return float(by[label]) if label in by.index else float("nan")


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
    overlap: tuple[int, int] | None = None,
) -> list[dict]:
    """Rows of the claims table for Table ``table``'s claims from per-seed (or per-trial)
    ``records`` (columns ``method``, ``pair_on`` and ``metric`` as a fraction). A claim whose
    rows are missing or marked not run is reported with n = 0 and verdict inconclusive.
    ``paper_dataset``: the paper's column (default :func:`paper_column`); ``overlap``:
    ``(n_train, n_test)`` identities of trials that resample one pool (the corrected
    resampled t then gives the interval and p-value)."""
    wide = records.pivot_table(index=pair_on, columns="method", values=metric, aggfunc="first")
    column = paper_dataset or paper_column(table, dataset)
    out = []
    for c in (c for c in ROW_CLAIMS if c.table == table):
        gain = base_paper = float("nan")
        if paper is not None:
            gain = paper_difference(paper, table, c.method, c.baseline, column)
            base_paper = paper_rank1(paper, table, c.baseline, column)
        if c.method in wide and c.baseline in wide:
            a, b = 100 * wide[c.method].to_numpy(), 100 * wide[c.baseline].to_numpy()
        else:
            a = b = np.array([np.nan])
        row = _row(c.claim, f"Table {table}", _paper_text(gain, table, column), dataset,
                   protocol, f"{metric} (%)", a, b, c.direction, overlap=overlap)  # fmt: skip
        row.update(
            paper_gain=gain,
            paper_baseline=base_paper,
            label=f"{c.method} vs {c.baseline}",
            runs={RUN_OF_ROW.get(c.method, c.method), RUN_OF_ROW.get(c.baseline, c.baseline)},
        )
        out.append(row)
    return out


CAVIAR_HALVES = (25, 25)  # identities in each trial's training and test halves (Sec. 5.1)
MARKET_SEEDS = "market_seeds.csv"  # written by python -m lib market (lib.market)
MARKET_FIG4 = "market_fig4_seeds.csv"  # its O(r1, r2) grids, one row per cell
FIG2_DATASET = "market1501"  # cells of Fig. 2 there: the baseline trained on HR images
MARKET_FUSION = "market_fusion_seeds.csv"  # RIFE's fusion weights against r, per seed


def market_claims(folder: str | Path, paper: pd.DataFrame | None = None) -> list[dict]:
    """Rows of Tables 1-3 on VR-Market1501 (and MLR-Market1501) from ``market_seeds.csv`` in
    ``folder`` (metrics in %), paired by seed, and those of Figs. 2 (dataset ``market1501``,
    the baseline trained on HR images) and 4 from ``market_fig4_seeds.csv``, and Sec. 4.2's
    from RIFE's fusion weights in ``market_fusion_seeds.csv``;
    only the claims whose two sides have been run. Empty where the files are absent (a clone
    without the Market runs)."""
    path = Path(folder) / MARKET_SEEDS
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    rows = []
    for dataset in sorted(frame["dataset"].unique(), key=lambda d: (not d.startswith("vr_"), d)):
        for table in (1, 2, 3):
            part = frame[(frame["dataset"] == dataset) & (frame["table"] == table)]
            if part.empty:
                continue
            records = part.assign(rank1=part["rank1"] / 100)
            found = row_claims(records, table, dataset=dataset, protocol="market", paper=paper)
            rows += [r for r in found if r["n"] >= 1]
    grids = Path(folder) / MARKET_FIG4
    if grids.is_file():  # Figs. 2 and 4 on Market: O(r1, r2) of each network per seed
        cells = pd.read_csv(grids)
        for dataset in sorted(cells["dataset"].unique()):
            part = cells[cells["dataset"] == dataset]
            by_network = {n: grids_by_seed(part, n) for n in part["network"].unique()}
            hr = dataset == FIG2_DATASET  # Fig. 2: the baseline trained on the HR images
            protocol = "HR-trained ResNet, Fig. 2" if hr else "Fig. 4 networks"
            found = objective_claims(by_network, dataset=dataset, protocol=protocol)
            figure = "Fig. 2" if hr else "Fig. 4"
            rows += [r for r in found if r["source"].startswith(figure) and r["n"] >= 1]
    fusion = Path(folder) / MARKET_FUSION
    if fusion.is_file():  # Sec. 4.2 on Market: RIFE's fusion weights against r, per seed
        weights = pd.read_csv(fusion)
        for dataset in sorted(weights["dataset"].unique()):
            part = weights[(weights["dataset"] == dataset) & (weights["network"] == "RIFE")]
            per_seed = {int(s): w for s, w in part.groupby("seed")}
            if per_seed:
                rows += fusion_claims(per_seed, dataset=dataset, protocol="market")
    return rows


def _row(claim, source, paper, dataset, protocol, metric, a, b, direction, *,
         overlap: tuple[int, int] | None = None) -> dict:  # fmt: skip
    diff = paired_difference(a, b)
    ok = np.isfinite(a) & np.isfinite(b)
    differences = (a - b)[ok]
    low, high, p = diff.ci_low, diff.ci_high, paired_p_value(a, b)
    if overlap is not None and diff.n >= 1:
        low, high = corrected_interval(differences, *overlap)
        p = corrected_p_value(differences, *overlap)
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
        "ci_low": low,
        "ci_high": high,
        "n": diff.n,
        "p_value": p,
        "direction": direction,
        "sd": float(differences.std(ddof=1)) if differences.size > 1 else float("nan"),
        "overlap": overlap[1] / overlap[0] if overlap else 0.0,
        "paper_gain": float("nan"),
        "paper_baseline": float("nan"),
        "label": claim.split(":")[0],
        "runs": set(),
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
    runs: Iterable[str] = (),
) -> dict:
    """A claim read off a curve: ``values`` holds one ``(a, b)`` pair per seed (for instance
    O at low and at full resolution) and the claim is that ``a - b`` has the sign
    ``direction``. ``runs``: the runs the curve is read from (for ``shared_runs``)."""
    pairs = list(values.values()) if isinstance(values, Mapping) else list(values)
    a = np.array([p[0] for p in pairs], dtype=float)
    b = np.array([p[1] for p in pairs], dtype=float)
    row = _row(claim, source, paper, dataset, protocol, metric, a, b, direction)
    row["runs"] = set(runs)
    return row


def family_of(row: Mapping) -> str:
    """The family a claim row is corrected within: its table or figure on its dataset."""
    source = str(row["source"])
    kind = "Fig. 2" if source.startswith("Fig. 2") else source
    return f"{kind} · {row['dataset']}"


def sign_verdict(difference: float, p_holm: float, direction: int, n: int) -> str:
    """``holds`` / ``refuted`` where the Holm-adjusted p-value is below :data:`ALPHA` and the
    difference has the paper's sign ``direction`` / the other sign; else ``inconclusive``."""
    if n < 2 or not np.isfinite(p_holm) or p_holm >= ALPHA or difference == 0:
        return "inconclusive"
    return "holds" if np.sign(difference) == direction else "refuted"


def _shared(rows: list[dict]) -> list[str]:
    """For each row, the other rows of its dataset that read one of its runs."""
    out = []
    for i, row in enumerate(rows):
        others = [
            f"{o['source']}: {o['label']}"
            for j, o in enumerate(rows)
            if j != i and o["dataset"] == row["dataset"] and row["runs"] & o["runs"]
        ]
        out.append("; ".join(others))
    return out


def claims_frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    """The claims table (columns :data:`COLUMNS`), in the order given: families, Holm's
    adjustment within each, both verdicts, the power column and the shared runs."""
    rows = [dict(r) for r in rows]
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    needed = {"claim", "source", "paper", "dataset", "protocol", "metric", "ours", "baseline",
              "difference", "ci_low", "ci_high", "n", "p_value", "direction"}  # fmt: skip
    missing = sorted(needed - set().union(*(r.keys() for r in rows)))
    if missing:
        raise ValueError(f"claim rows lack the columns {missing}")
    for row in rows:
        for key, default in (("paper_gain", float("nan")), ("paper_baseline", float("nan")),
                             ("sd", float("nan")), ("overlap", 0.0), ("runs", set()),
                             ("label", str(row["claim"]).split(":")[0])):  # fmt: skip
            row.setdefault(key, default)
        row["family"] = family_of(row)
    families: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        families.setdefault(row["family"], []).append(i)
    for members in families.values():
        for i, p in zip(members, holm([rows[i]["p_value"] for i in members]), strict=True):
            rows[i]["p_holm"] = p
    for row, shared in zip(rows, _shared(rows), strict=True):
        row["verdict"] = sign_verdict(row["difference"], row["p_holm"], row["direction"], row["n"])
        gain, direction = row["paper_gain"], row["direction"]
        row["magnitude_verdict"] = magnitude_verdict(
            row["verdict"], row["ci_low"], row["ci_high"], gain, direction
        )
        row["n_for_power"] = n_for_power(row["sd"], gain, alpha=ALPHA, overlap=row["overlap"])
        row["shared_runs"] = shared
        scaled = gain * row["baseline"] / row["paper_baseline"]
        row["paper_gain_scaled"] = scaled
        inside = row["ci_low"] <= scaled <= row["ci_high"]
        row["scaled_inside"] = ("yes" if inside else "no") if np.isfinite(scaled) else ""
    return pd.DataFrame(rows, columns=COLUMNS).reset_index(drop=True)


# the reader's name of each dataset a claim is measured on (the markdown's ``dataset`` column);
# Fig. 2's rows are measured on the original (HR) images themselves
DATASET_NAMES = {"synthetic": "Synthetic (HR)", "vr_synthetic": "VR-Synthetic",
                 "mlr_synthetic": "MLR-Synthetic", "caviar": "CAVIAR",
                 "market1501": "Market-1501 (HR)", "vr_market1501": "VR-Market1501",
                 "mlr_market1501": "MLR-Market1501", "msmt17": "MSMT17 (HR)",
                 "vr_msmt17": "VR-MSMT17", "mlr_viper": "MLR-VIPeR",
                 "mlr_cuhk03": "MLR-CUHK03"}  # fmt: skip

MARKDOWN_COLUMNS = ("claim", "family", "paper", "metric", "ours", "baseline", "difference",
                    "interval", "n", "p_holm", "verdict", "magnitude_verdict", "n_for_power",
                    "paper_gain_scaled", "scaled_inside", "shared_runs")  # fmt: skip


def to_markdown(table: pd.DataFrame, columns: Sequence[str] = MARKDOWN_COLUMNS) -> str:
    """The claims table for a reader: in Rank-1 points ours and the baseline with one decimal,
    differences, interval bounds and the paper's gain with two (other metrics: three
    significant digits), p-values with three significant digits;
    ``interval`` is the 95% interval as ``[low, high]`` ("none (n < 2)" where one pair cannot
    give one); ``n_for_power`` "never" where more
    trials cannot reach the power (overlapping splits); ``dataset`` by its reader's name
    (:data:`DATASET_NAMES`; a name it does not know is shown as it is), so that one claim
    measured on two datasets is told apart where ``family`` is not shown."""
    shown = table.copy()
    if "dataset" in shown:
        shown["dataset"] = [DATASET_NAMES.get(d, d) for d in shown["dataset"]]
    percent = shown["metric"].astype(str).str.contains("%")
    one = ["ours", "baseline"]
    two = ["difference", "ci_low", "ci_high", "paper_gain", "paper_gain_scaled"]

    def number(v: float, column: str, in_percent: bool) -> str:
        if not np.isfinite(v):
            return ""
        if not in_percent:  # O, fusion weights: three significant digits
            return f"{v:+.3g}" if column in two else f"{v:.3g}"
        return f"{v:+.2f}" if column in two else f"{v:.1f}"

    for column in one + two:
        shown[column] = [
            number(v, column, pc) for v, pc in zip(shown[column], percent, strict=True)
        ]
    for column in ("p_value", "p_holm"):
        shown[column] = ["" if not np.isfinite(v) else f"{v:.3g}" for v in shown[column]]
    shown["n_for_power"] = [
        "never" if v == np.inf else "" if not np.isfinite(v) else f"{v:.0f}"
        for v in shown["n_for_power"]
    ]
    shown["interval"] = [f"[{lo}, {hi}]" if lo and hi else "none (n < 2)"
                         for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)]  # fmt: skip
    shown = shown.fillna("")
    return shown[list(columns)].to_markdown(index=False, disable_numparse=True)


def save(table: pd.DataFrame, folder: str | Path, caption: str) -> list[Path]:
    """``claims.csv`` (every column of :data:`COLUMNS`, full precision) and ``claims.md``
    (``caption``, then :func:`to_markdown`) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "claims.csv", folder / "claims.md"]
    table.to_csv(paths[0], index=False)
    paths[1].write_text(f"{caption}\n\n{to_markdown(table)}\n")
    return paths


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
                                    protocol=protocol, metric="O",
                                    runs={"HR-trained ResNet (Fig. 2)"}))  # fmt: skip
    for label, per_seed in grids.items():
        if label == "ResNet" or not base:
            continue
        seeds = sorted(set(per_seed) & set(base))
        runs = {RUN_OF_ROW.get(label, label), RUN_OF_ROW["ResNet"]}
        mean_o = {s: (float(per_seed[s].to_numpy().mean()), float(base[s].to_numpy().mean()))
                  for s in seeds}  # fmt: skip
        rows.append(curve_claim(
            f"{label} lowers O (mean over the grid) below ResNet's", "Fig. 4", "Fig. 4: lower",
            mean_o, dataset=dataset, protocol=protocol, metric="mean O", direction=-1,
            runs=runs))  # fmt: skip
        slopes = {s: (_rise(per_seed[s]), _rise(base[s])) for s in seeds}
        rows.append(curve_claim(
            f"{label} flattens the mismatch curve: smaller rise of O(r,1) than ResNet's", "Fig. 4",
            "Fig. 4: flatter", slopes, dataset=dataset, protocol=protocol,
            metric="O(r min,1) - O(1,1)", direction=-1, runs=runs))  # fmt: skip
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
                    dataset=dataset, protocol=protocol, metric="w_H(r max) - w_H(r min)",
                    runs={RUN_OF_ROW["RIFE"]}),
        curve_claim("RIFE's w_L falls with r", "Sec. 4.2", paper,
                    {s: (hi["w_low"], lo["w_low"]) for s, (lo, hi) in ends.items()},
                    dataset=dataset, protocol=protocol, metric="w_L(r max) - w_L(r min)",
                    direction=-1, runs={RUN_OF_ROW["RIFE"]}),
    ]  # fmt: skip
