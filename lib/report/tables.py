"""Our numbers beside the paper's reported ones (Tables 1-3, Sec. 5.3-5.4), and later methods.

Reported numbers come from the CSVs shipped in :mod:`lib.reference` and are always labelled
by who reported them (``source``); nothing here is ever computed or filled in for them.

Our results enter as a DataFrame indexed by the paper's row label (``paper_rows(table)``,
e.g. ``"Bilinear"``, ``"FFSR (Gaussian, JL)"``) with, per metric ``m``, the mean in % in
column ``m``, optionally its standard deviation in ``m_std`` and the number of trials or
seeds in ``n`` (:func:`summarise` builds it from per-trial records).

Like with like: a number is compared (``diff = ours - paper``) only on the same dataset. The
paper's VR-* datasets (every image down-sampled) are not the MLR-* ones later methods report
(one camera down-sampled), so ``later_methods_table`` never shares a column with Table 3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lib.reference import read_csv
from lib.settings import PROJECT_ROOT

# the project's variant kinds (lib.data.variants) -> the paper's column names
PAPER_DATASETS = {
    "vr_msmt17": "VR-MSMT17",
    "vr_market1501": "VR-Market1501",
    "mlr_viper": "MLR-VIPeR",
    "mlr_cuhk03": "MLR-CUHK03",
    "caviar": "CAVIAR",
    "mlr_market1501": "MLR-Market1501",
}
TABLE3_DATASETS = ("CAVIAR", "MLR-VIPeR", "MLR-CUHK03", "VR-Market1501", "VR-MSMT17")
CITED_ROWS = ("JUDEA", "SLD2L", "SDF", "SING", "CSR-GAN")  # Table 3 rows from other papers
CITED_DATASETS = ("CAVIAR", "MLR-VIPeR", "MLR-CUHK03")  # where the paper cites them
PAPER_METRICS = {"rank1": "rank1", "rank5": "rank5", "gmacs": "gmacs_384x128"}
WHERE_TO_PUT = {
    "CAVIAR": "CAVIAR4REID at {root}/caviar/CAVIARa",
    "MLR-VIPeR": "VIPeR at {root}/viper/VIPeR (cam_a/, cam_b/)",
    "MLR-CUHK03": "CUHK03 at {root}/cuhk03/cuhk03_release/cuhk-03.mat",
    "VR-Market1501": "Market-1501 at {root}/market1501/Market-1501-v15.09.15",
    "MLR-Market1501": "Market-1501 at {root}/market1501/Market-1501-v15.09.15",
    "VR-MSMT17": "MSMT17 at {root}/msmt17/MSMT17_V1 (or MSMT17_V2)",
}
PAPER = "paper (reported)"
PROTOCOL_NAMES = {
    "market": "market-style (same identity and camera removed)",
    "single_shot": "single-shot (one gallery image per identity, averaged over draws)",
}


def dataset_column(dataset: str) -> str | None:
    """The paper's (or later methods') column name of ``dataset``: a variant kind such as
    ``vr_msmt17`` or a column name itself; None for data no paper reports (synthetic)."""
    if dataset in PAPER_DATASETS:
        return PAPER_DATASETS[dataset]
    known = set(PAPER_DATASETS.values()) | set(read_csv("later_methods.csv")["dataset"])
    return dataset if dataset in known else None


def _source(method: str, table: int, dataset: str) -> str:
    if table == 3 and method in CITED_ROWS:
        if dataset in CITED_DATASETS:
            return f"reported by {method}'s authors, cited in the paper"
        return f"{PAPER}: the paper's authors ran {method}'s code"
    return PAPER


def _labels(frame: pd.DataFrame) -> pd.Series:
    """Method name, with its mask / JL / learned-weights settings where the method has
    several rows for one dataset of a table (``FFSR (Gaussian, JL)``)."""
    repeated = frame.duplicated(["table", "dataset", "method"], keep=False)
    labels = []
    for row, again in zip(frame.itertuples(), repeated, strict=True):
        settings = [row.mask] if isinstance(row.mask, str) else []
        settings += ["JL"] if row.joint_learning == "yes" else []
        settings += ["learned weights"] if row.weight_learning == "yes" else []
        labels.append(f"{row.method} ({', '.join(settings)})" if again and settings else row.method)
    return pd.Series(labels, index=frame.index)


def paper_numbers(table: int | None = None) -> pd.DataFrame:
    """Tables 1-3 of the paper as reported (Rank-1/5 in %, Table 1's GMACs at 3x384x128),
    one row per (row, dataset), with the paper's row ``label`` and the ``source``."""
    frame = read_csv("paper_tables.csv")
    if table is not None:
        if table not in (1, 2, 3):
            raise ValueError(f"the paper has Tables 1, 2 and 3, not {table!r}")
        frame = frame[frame["table"] == table].reset_index(drop=True)
    frame.insert(1, "label", _labels(frame))
    columns = zip(frame["method"], frame["table"], frame["dataset"], strict=True)
    frame["source"] = [_source(m, t, d) for m, t, d in columns]
    return frame


def paper_rows(table: int) -> list[str]:
    """The row labels of the paper's Table ``table``, in the paper's order."""
    return list(dict.fromkeys(paper_numbers(table)["label"]))


def later_methods() -> pd.DataFrame:
    """Later cross-resolution methods (Rank-1/5/10 in %) as collected in PS-HRNet's README,
    each labelled as reported by its authors."""
    frame = read_csv("later_methods.csv")
    frame["source"] = [
        f"reported by {m}'s authors, collected in PS-HRNet's README" for m in frame["method"]
    ]
    return frame


def summarise(
    records: pd.DataFrame | Sequence[Mapping],
    *,
    label: str = "method",
    percent: Sequence[str] = ("rank1", "rank5", "rank10", "mAP"),
) -> pd.DataFrame:
    """Per-trial (or per-seed) results, one record each, into the frame :func:`compare`
    takes: per numeric column ``m`` its mean (x100 for the fractions named in ``percent``)
    and sample standard deviation ``m_std`` (NaN for one record), and ``n``; a ``note``
    column (e.g. "not run: no person masks") is kept, its first value per row."""
    frame = pd.DataFrame(records)
    numeric = [
        c
        for c in frame.columns
        if c not in (label, "note") and pd.api.types.is_numeric_dtype(frame[c])
    ]
    scaled = frame[numeric] * [100.0 if c in percent else 1.0 for c in numeric]
    groups = scaled.groupby(frame[label], sort=False)
    means, stds = groups.mean(), groups.std(ddof=1).add_suffix("_std")
    out = pd.concat([means, stds], axis=1)[[c for m in numeric for c in (m, f"{m}_std")]]
    out["n"] = groups.size().astype("Int64")
    if "note" in frame:  # a row recorded as not run says why (first note of its records)
        out["note"] = frame["note"].groupby(frame[label], sort=False).first()
    return out.rename_axis("method")


def _shown_root(data_root: str | None) -> str:
    """``data_root`` as a table shows it: relative to the project where it lies inside it (a
    committed table names no machine's folders), else as given."""
    if not data_root:
        return "<data_root>"
    try:
        return Path(data_root).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return data_root


def _not_run(name: str | None, dataset: str, data_root: str | None) -> str:
    if name in WHERE_TO_PUT:
        return "not run: put " + WHERE_TO_PUT[name].format(root=_shown_root(data_root))
    return f"not run on {dataset}"


def compare(
    ours: pd.DataFrame | None,
    table: int,
    *,
    dataset: str,
    columns: Sequence[str] = ("rank1", "rank5"),
    data_root: str | None = None,
) -> pd.DataFrame:
    """Our rows on ``dataset`` beside the paper's Table ``table``: per metric ``m`` the
    columns ``m`` (ours, %), ``m_std``, ``m_paper``, ``m_diff`` (ours - paper), then ``n``,
    ``paper_dataset``, ``paper_source`` and ``note``.

    Rows: the paper's (its order), then ours without a paper counterpart; a cell nobody
    reported is NaN. The difference is taken only when the paper's number is on the same
    dataset; for Tables 1-2 on other data (the embedded dataset) the paper's VR-MSMT17 number
    is shown for reference with a note; a row of ours with a ``note`` (not run) shows that
    note instead. ``ours`` None or empty: the dataset was not run, and
    the paper's numbers come with a note saying where to put the data (under ``data_root``).
    """
    name = dataset_column(dataset)
    paper = paper_numbers(table)
    comparable = name in set(paper["dataset"])
    if comparable:
        paper = paper[paper["dataset"] == name]
    elif table == 3:
        paper = paper.iloc[:0]
    paper = paper.set_index("label")
    absent = ours is None or len(ours) == 0
    if absent and paper.empty:
        raise ValueError(f"no results on {dataset!r} and no paper numbers for it in Table {table}")
    ours = pd.DataFrame() if absent else ours
    if not absent:
        missing = [c for c in columns if c not in ours.columns]
        if missing:
            raise ValueError(f"our frame has no column(s) {missing}; it has {list(ours.columns)}")
        if ours.index.has_duplicates:
            raise ValueError(f"our rows repeat: {sorted(set(ours.index[ours.index.duplicated()]))}")
    rows = list(paper.index) + [r for r in ours.index if r not in paper.index]
    ours, paper = ours.reindex(rows), paper.reindex(rows)
    out = pd.DataFrame(index=pd.Index(rows, name="method"))
    for m in columns:
        out[m] = ours[m] if m in ours else np.nan
        out[f"{m}_std"] = ours[f"{m}_std"] if f"{m}_std" in ours else np.nan
        out[f"{m}_paper"] = paper[PAPER_METRICS[m]] if m in PAPER_METRICS else np.nan
        out[f"{m}_diff"] = out[m] - out[f"{m}_paper"] if comparable else np.nan
    out["n"] = (ours["n"] if "n" in ours else pd.Series(np.nan, index=rows)).astype("Int64")
    out["paper_dataset"] = paper["dataset"]
    out["paper_source"] = paper["source"]
    out["note"] = pd.Series(
        _not_run(name, dataset, data_root) if absent else None, index=rows, dtype=object
    )
    if not comparable and not absent:
        shown = out["paper_dataset"].notna()
        for paper_name in out.loc[shown, "paper_dataset"].unique():
            note = f"paper on {paper_name}, ours on {dataset}: not compared"
            out.loc[out["paper_dataset"] == paper_name, "note"] = note
    if not absent and "note" in ours:  # our own note (a row not run) comes first
        own = ours["note"].notna()
        out.loc[own, "note"] = ours.loc[own, "note"]
    return out


def _row_sources(labels: Sequence[str]) -> pd.Series:
    paper = paper_numbers(3)
    sources = {}
    for label in labels:
        rows = paper[paper["label"] == label]
        by_source = rows.groupby("source", sort=False)["dataset"].agg(list)
        if len(by_source) == 1:
            sources[label] = by_source.index[0]
        elif len(by_source) > 1:
            sources[label] = "; ".join(f"{s} ({', '.join(d)})" for s, d in by_source.items())
    return pd.Series(sources, index=list(labels), dtype=object)


def table3(
    ours_by_dataset: Mapping[str, pd.DataFrame | None],
    *,
    columns: Sequence[str] = ("rank1", "rank5"),
    data_root: str | None = None,
) -> pd.DataFrame:
    """Table 3 (Sec. 5.4): every method (the paper's rows, its reported-only rows JUDEA,
    SLD2L, SDF, SING, CSR-GAN, then ours without a paper row) on the paper's five datasets
    and any other dataset we ran. Columns: (dataset, metric, ours/std/paper/diff), (dataset,
    "n", "") and, where a dataset was not run, (dataset, "note", ""); last ("reported by",
    "", ""), who reported the paper's numbers of each row. Keys: variant kinds or names."""
    by_name: dict[str, pd.DataFrame | None] = {name: None for name in TABLE3_DATASETS}
    for key, frame in ours_by_dataset.items():
        by_name[dataset_column(key) or key] = frame
    parts = {
        name: compare(frame, 3, dataset=name, columns=columns, data_root=data_root)
        for name, frame in by_name.items()
    }
    rows = list(dict.fromkeys(label for part in parts.values() for label in part.index))
    pieces = {}
    for name, part in parts.items():
        part = part.reindex(rows)
        for m in columns:
            for what, col in (("ours", m), ("std", f"{m}_std"), ("paper", f"{m}_paper")):
                pieces[(name, m, what)] = part[col]
            pieces[(name, m, "diff")] = part[f"{m}_diff"]
        pieces[(name, "n", "")] = part["n"]
        notes = part["note"].dropna().unique()
        if len(notes):  # not run (one note for the whole column) or not compared
            ran = by_name[name] is not None and len(by_name[name]) > 0
            pieces[(name, "note", "")] = part["note"] if ran else notes[0]
    pieces[("reported by", "", "")] = _row_sources(rows)
    out = pd.DataFrame(pieces, index=pd.Index(rows, name="method"))
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["dataset", "metric", "value"])
    return out


def later_methods_table(
    datasets: Sequence[str] | None = None,
    metrics: Sequence[str] = ("rank1", "rank5", "rank10"),
) -> pd.DataFrame:
    """Later methods on ``datasets`` (variant kinds or names; default all they report), for
    context and labelled as reported. Columns (dataset, metric) and ("reported by", "").
    Datasets later methods do not report (the paper's VR-* ones) are left out: their MLR-*
    numbers are never put in a VR column."""
    frame = later_methods()
    frame = frame[~frame["dataset"].str.startswith("VR-")]
    names = list(dict.fromkeys(frame["dataset"]))
    if datasets is not None:
        wanted = [dataset_column(d) or d for d in datasets]
        names = [n for n in wanted if n in names]
    frame = frame[frame["dataset"].isin(names)]
    venue = frame["venue"].fillna("")
    labels = [f"{m} ({v})" if v else m for m, v in zip(frame["method"], venue, strict=True)]
    frame = frame.assign(method=labels)
    order = list(dict.fromkeys(frame["method"]))
    wide = frame.pivot(index="method", columns="dataset", values=list(metrics))
    wide = wide.swaplevel(axis=1).reindex(
        columns=pd.MultiIndex.from_product([names, list(metrics)]), index=order
    )
    wide[("reported by", "")] = frame.groupby("method", sort=False)["source"].first()
    wide.columns.names = ["dataset", "metric"]
    return wide.rename_axis("method")


def caption(
    dataset: str,
    protocol: str,
    profile: str,
    input_size: tuple[int, int],
    trials: int,
    *,
    table: int | None = None,
) -> str:
    """The line above a table: dataset, protocol, profile, input size and how many trials
    or seeds each of our numbers averages; the paper's numbers flagged as reported."""
    name = dataset_column(dataset)
    data = f"{name} ({dataset})" if name and name != dataset else dataset
    if name is None:
        data += " (not in the paper)"
    what = f"Table {table}: " if table is not None else ""
    height, width = input_size
    return (
        f"{what}{data}; {PROTOCOL_NAMES.get(protocol, protocol)} protocol; profile {profile}; "
        f"input {height}x{width}; ours: mean and std over {trials} "
        f"{'trial or seed' if trials == 1 else 'trials or seeds'}, in %; "
        f"paper: as reported, not re-measured"
    )
