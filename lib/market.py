"""The paper's own dataset: Tables 1-3 on VR-Market1501 (and MLR-Market1501), every seed.

``python -m lib market`` (``make market``) trains, for each seed, the networks of the chosen
tables as ``python -m lib pipeline`` jobs (:mod:`lib.train.parallel`: two processes with one
thread each on a 2-core CPU), in an order that never trains one run twice at once (the SR
module of FFSR is trained by the FFSR job and reused by FFSR+RIFE, AE and the person-mask
row). As each job ends, its rows are written to ``figures/market_seeds.csv`` (one row per
table, dataset, method and seed; a row already there is replaced), so a finished result
survives a change of machine once committed. Every run is resumable: a killed command started
again reuses every finished run and resumes the unfinished ones from their last epoch; an
objective job (Figs. 2 and 4) run again reads the grid it left in its run's folder.

Row labels are the paper's (``ResNet50`` whatever the trunk: the ``backbone`` column names
it). ``seconds`` is the training time of every run the row's network needs (its own runs and
the runs they start from, SR pre-training included), summed from the runs' ``metrics.json``.
"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lib.claims import FIG2_DATASET, MARKET_FUSION  # Fig. 2: the baseline on HR images
from lib.experiments import TABLE1, TABLE2
from lib.settings import from_environment
from lib.train.parallel import Job
from lib.train.runs import run_lock

SEEDS_FILE = "market_seeds.csv"
KEY = ("table", "dataset", "method", "seed")
OBJECTIVE_FILE = "market_fig4_seeds.csv"  # O(r1, r2) grids of Figs. 2 and 4, one row per cell
OBJECTIVE_KEY = ("dataset", "network", "seed", "r1", "r2")
FUSION_FILE = MARKET_FUSION  # RIFE's fusion weights against r (Sec. 4.2)
FUSION_KEY = ("dataset", "network", "seed", "r", "block")
FIG4 = {"resnet": "ResNet", "ffsr_resnet": "FFSR", "rife": "RIFE", "ffsr_rife": "FFSR+RIFE"}
DATASETS = ("vr_market1501", "mlr_market1501")
FIG4_DATASET = "vr_market1501"  # the figures' dataset (Sec. 3's r spans VR's resolutions)


@dataclass(frozen=True)
class Network:
    """One pipeline (``model``, with ``options`` for ``python -m lib pipeline``) and the rows
    it gives: ``(table, method, step)``, ``step`` a key of the pipeline's result
    (``extractor``, ``composed``, ``joint``). ``after``: networks whose runs it reuses."""

    model: str
    rows: tuple[tuple[int, str, str], ...]
    after: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    tag: str = ""

    @property
    def name(self) -> str:
        return self.model + (f"-{self.tag}" if self.tag else "")


# The order networks start in (jobs() puts Table 3's first): within Table 3 the short jobs
# first, so that finished rows reach the per-seed file early (the baseline, FFSR's SR steps,
# RIFE), then the joint trainings; then what Tables 1 and 2 add. FFSR's SR steps are a job of
# their own ("sr"), so FFSR+RIFE, AE and the person-mask row wait for them, not for FFSR's
# joint run.
NETWORKS: tuple[Network, ...] = (
    Network("resnet", ((3, "ResNet50", "extractor"), (2, "ResNet50", "extractor"),
                       (1, "Bilinear", "extractor"))),
    Network("ffsr_resnet", ((1, "FFSR (Gaussian)", "composed"),), after=("resnet",),
            options=("--no-joint",), tag="sr"),
    Network("rife", ((3, "RIFE", "extractor"), (2, "RIFE", "extractor"))),
    Network("ffsr_resnet", ((3, "FFSR", "joint"), (1, "FFSR (Gaussian, JL)", "joint")),
            after=("ffsr_resnet-sr",)),
    Network("ffsr_rife", ((3, "FFSR+RIFE", "joint"),), after=("rife", "ffsr_resnet-sr"),
            options=("--no-compose",)),
    Network("ae_resnet", ((1, "AE", "composed"),), after=("ffsr_resnet-sr",),
            options=("--no-joint",)),
    Network("srcnn_resnet", ((1, "SRCNN", "composed"),), after=("resnet",),
            options=("--no-joint",)),
    Network("vdsr_resnet", ((1, "VDSR", "composed"),), after=("resnet",), options=("--no-joint",)),
    Network("two_resnet", ((2, "two ResNet50", "extractor"),)),
    Network("two_resnet_learned", ((2, "two ResNet50 (learned weights)", "extractor"),)),
    Network("ffsr_resnet", ((1, "FFSR (DeeperCut, JL)", "joint"),),
            after=("ffsr_resnet-sr",), options=("--mask", "person", "--no-compose"),
            tag="person"),
)  # fmt: skip


def networks_for(tables: Sequence[int]) -> list[Network]:
    """The networks whose rows belong to ``tables``, with what they wait for (a network of
    another table that one of them reuses comes along)."""
    wanted = [n for n in NETWORKS if any(t in tables for t, _, _ in n.rows)]
    names = {n.name for n in wanted}
    for network in list(wanted):
        names |= set(network.after)
    return [n for n in NETWORKS if n.name in names]


def jobs(
    seeds: Sequence[int],
    datasets: Sequence[str],
    tables: Sequence[int],
    common: Sequence[str],
    *,
    figures: bool = False,
) -> list[Job]:
    """One :class:`~lib.train.parallel.Job` per (dataset, seed, network), in the order they
    should start: per dataset, every seed of Table 3's networks (and what they reuse) first,
    then with ``figures``, on VR-Market1501 only, one ``python -m lib objective`` job per
    Table 3 network and seed (Fig. 4's O(r1, r2) and RIFE's fusion weights, after that
    network's job) and one per seed of the ResNet baseline trained and tested on Market-1501's HR
    images (Fig. 2; its cells have dataset :data:`FIG2_DATASET`), then what Tables 1 and 2
    add. ``common``: the options every job shares."""
    out: list[Job] = []
    networks = networks_for(tables)
    lead = [n for n in networks if 3 in tables and n in networks_for([3])]  # Table 3's first
    for dataset in datasets:
        for network in lead:
            out += _pipeline_jobs(network, dataset, seeds, common)
        if figures and dataset == FIG4_DATASET:  # Figs. 4 and 2 are VR-Market1501's
            out += _figure_jobs([n for n in lead if n.name in FIG4], dataset, seeds, common)
            if 3 in tables:  # Fig. 2 trains its own baseline: waits for nothing
                for seed in seeds:
                    argv = ("objective", "--model", "resnet", "--dataset", FIG2_DATASET,
                            "--seed", str(seed), *common)  # fmt: skip
                    out.append(Job(f"o-resnet-{FIG2_DATASET}-s{seed}", argv))
        for network in (n for n in networks if n not in lead):
            out += _pipeline_jobs(network, dataset, seeds, common)
    return out


def _pipeline_jobs(network: Network, dataset: str, seeds: Sequence[int], common) -> list[Job]:
    out = []
    for seed in seeds:
        suffix = f"{dataset}-s{seed}"
        # not --quiet: each run's progress bar goes to the job's log, where
        # lib.train.parallel reads the epoch and the time left
        argv = ("pipeline", "--model", network.model, "--dataset", dataset,
                "--seed", str(seed), *common, *network.options)  # fmt: skip
        after = tuple(f"{a}-{suffix}" for a in network.after)
        out.append(Job(f"{network.name}-{suffix}", argv, after))
    return out


def _figure_jobs(networks: list[Network], dataset: str, seeds: Sequence[int], common) -> list[Job]:
    out = []
    for network in networks:
        for seed in seeds:
            suffix = f"{dataset}-s{seed}"
            argv = ("objective", "--model", network.model, "--dataset", dataset,
                    "--seed", str(seed), *common)  # fmt: skip
            out.append(Job(f"o-{network.name}-{suffix}", argv, (f"{network.name}-{suffix}",)))
    return out


def objective_records(job: Job, result: dict) -> list[dict]:
    """The cells of the O(r1, r2) grid a ``python -m lib objective`` job printed, labelled by
    dataset, network (Fig. 4's names) and seed."""
    label = _network_label(job)
    dataset, seed = _label_of(job)
    return [{"dataset": dataset, "network": label, "seed": seed, **cell} for cell in result["grid"]]


def fusion_records(job: Job, result: dict) -> list[dict]:
    """The mean fusion weights (w_L, w_H) per resolution r and DSB that a ``python -m lib
    objective`` job of a RIFE network printed, labelled like :func:`objective_records`."""
    label = _network_label(job)
    dataset, seed = _label_of(job)
    return [{"dataset": dataset, "network": label, "seed": seed, **row} for row in result["fusion"]]


def network_of(job: Job) -> Network:
    """The :class:`Network` a job of :func:`jobs` trains."""
    name = job.name.split("-vr_")[0].split("-mlr_")[0]
    return next(n for n in NETWORKS if n.name == name)


def training_seconds(folder: Path, seen: set[str] | None = None) -> float:
    """Training seconds of the run in ``folder`` and of every run it starts from (its
    ``init``, followed to the first run), each counted once."""
    seen = set() if seen is None else seen
    if folder.name in seen:
        return 0.0
    seen.add(folder.name)
    total = float(json.loads((folder / "metrics.json").read_text()).get("train_seconds", 0.0))
    for name in json.loads((folder / "config.json").read_text()).get("init", []):
        total += training_seconds(folder.parent / name, seen)
    return total


def records(job: Job, result: dict) -> list[dict]:
    """The rows a finished pipeline job gives (``result``: what ``python -m lib pipeline``
    printed), metrics in %."""
    rows = []
    for table, method, step in network_of(job).rows:
        folder = Path(result[step]["dir"])
        config = json.loads((folder / "config.json").read_text())
        metrics = result[step]
        height, width = config["input_size"]
        rows.append(
            {
                "table": table,
                "dataset": config["dataset"],
                "method": method,
                "seed": config["seed"],
                **{m: round(100 * metrics[m], 4) for m in ("rank1", "rank5", "rank10", "mAP")},
                "backbone": config["backbone"],
                "pretrained": config["pretrained"],
                "input": f"{height}x{width}",
                # the float path: a series trains in one format (its seconds depend on it)
                "memory_format": config.get("memory_format", "contiguous"),
                "precision": config.get("precision", "float32"),
                "profile": config["profile"],
                "seconds": round(training_seconds(folder), 1),
                "cpu_threads": metrics.get("cpu_threads"),
                "run": folder.name,
            }
        )
    return rows


def seeds_path(name: str = SEEDS_FILE) -> Path:
    """``figures/market_seeds.csv`` (or ``name``) under ``$RIPR_OUTPUT`` (:mod:`lib.settings`)."""
    return from_environment().output / "figures" / name


def write_records(rows: list[dict], path: Path, key: Sequence[str] = KEY) -> pd.DataFrame:
    """Merge ``rows`` into the CSV at ``path`` (a row with the same ``key`` values, by default
    table, dataset, method and seed, is replaced), sorted, written atomically; return the
    whole table. The read-merge-write holds a lock (``.<name>.lock`` beside the file), so two
    ``make market`` runners finishing at once both keep their rows."""
    with run_lock(path.with_name(f".{path.name}")):
        return _merge_records(rows, path, key)


def _merge_records(rows: list[dict], path: Path, key: Sequence[str]) -> pd.DataFrame:
    new = pd.DataFrame(rows)
    if path.is_file():
        old = pd.read_csv(path)
        if len(new):
            keys = set(map(tuple, new[list(key)].astype(str).values))
            keep = [tuple(r) not in keys for r in old[list(key)].astype(str).values]
            new = pd.concat([old[keep], new], ignore_index=True)
        else:
            new = old
    new = new.sort_values(list(key), kind="stable").reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    new.to_csv(tmp, index=False)
    tmp.replace(path)
    return new


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and n of Rank-1, Rank-5 and mAP per table, dataset and method."""
    grouped = frame.groupby(["table", "dataset", "method"], sort=False)
    out = grouped[["rank1", "rank5", "mAP"]].mean()
    out["rank1_std"] = grouped["rank1"].std(ddof=1)
    out["n"] = grouped["seed"].nunique()
    return out.round(2)


def table_records(folder: Path, table: int, dataset: str) -> pd.DataFrame | None:
    """Per-seed records of Table ``table`` on ``dataset`` from ``market_seeds.csv`` in
    ``folder``, metrics as fractions (columns ``method``, ``seed``, ``rank1``, ``rank5``,
    ``rank10``, ``mAP``): what :func:`lib.report.tables.summarise` takes. None where the
    file or the rows are absent."""
    path = Path(folder) / SEEDS_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    part = frame[(frame["table"] == table) & (frame["dataset"] == dataset)]
    if part.empty:
        return None
    metrics = ["rank1", "rank5", "rank10", "mAP"]
    return part[["method", "seed"]].join(part[metrics] / 100).reset_index(drop=True)


def records_for(folder: Path, table: int, exclude: Container[str] = ()) -> dict[str, pd.DataFrame]:
    """Per-seed records of Table ``table`` (:func:`table_records`) for each Market dataset in
    ``market_seeds.csv`` of ``folder`` that is not in ``exclude`` (datasets a notebook ran
    itself): what notebooks 05-07 add to their tables when the Market runs are not theirs."""
    found = {d: table_records(folder, table, d) for d in DATASETS if d not in exclude}
    return {d: r.drop(columns="seed") for d, r in found.items() if r is not None}


def setting(folder: Path) -> str:
    """The trunk, its initialisation, the input size and the profile of the Market runs in
    ``market_seeds.csv`` (for captions), e.g. ``"mobilenetv2 (ImageNet), 64x32, profile
    market"``; several where they differ."""
    frame = pd.read_csv(Path(folder) / SEEDS_FILE)
    kinds = frame[["backbone", "pretrained", "input", "profile"]].drop_duplicates()
    return "; ".join(
        f"{b} ({'ImageNet' if p else 'random init'}), {i}, profile {pr}"
        for b, p, i, pr in kinds.itertuples(index=False)
    )


COST_COLUMNS = ("table", "dataset", "method", "seed", "seconds", "run")  # what cost_table reads


def cost_table(frame: pd.DataFrame) -> pd.DataFrame:
    """What the recorded rows of ``market_seeds.csv`` (``frame``) cost to train: one entry per
    dataset and run (rows of several tables that read one run, such as Table 3's ResNet50 and
    Table 1's Bilinear, are one entry, named by all of them, Table 3's name first), with the
    hours of training from nothing (the ``seconds`` column: the run and every run it starts
    from, SR pre-training included; evaluation not counted) as mean, min and max over seeds,
    n, and the memory formats and threads they trained with. Ordered by dataset, then by
    mean hours: what a session plans with. A file without the :data:`COST_COLUMNS` (one
    written before they were recorded) gives an empty table; the memory format and threads
    are blank where not recorded."""
    if not set(COST_COLUMNS) <= set(frame.columns):
        return pd.DataFrame()
    ordered = frame.assign(
        **{c: frame[c] if c in frame else "" for c in ("memory_format", "cpu_threads")}
    ).sort_values("table", ascending=False, kind="stable")
    per_run = ordered.groupby(["dataset", "run"], sort=False).agg(
        rows=("method", lambda m: " = ".join(dict.fromkeys(m))),
        seed=("seed", "first"),
        hours=("seconds", lambda s: s.iloc[0] / 3600),
        memory_format=("memory_format", "first"),
        cpu_threads=("cpu_threads", "first"),
    )
    grouped = per_run.reset_index().groupby(["dataset", "rows"], sort=False)

    def joined(values: pd.Series) -> str:
        return ", ".join(sorted(map(str, set(values))))

    out = grouped.agg(
        n=("seed", "nunique"),
        hours_mean=("hours", "mean"),
        hours_min=("hours", "min"),
        hours_max=("hours", "max"),
        memory_format=("memory_format", joined),
        threads=("cpu_threads", joined),
    ).reset_index()
    out["dataset_order"] = out["dataset"].map({d: i for i, d in enumerate(DATASETS)})
    out = out.sort_values(["dataset_order", "hours_mean"], kind="stable")
    out = out.drop(columns="dataset_order").set_index(["dataset", "rows"])
    return out.rename(columns=lambda c: c.replace("_", " "))


TABLE3_ROWS = ("ResNet50", "FFSR", "RIFE", "FFSR+RIFE")
ROW_ORDER = {1: TABLE1, 2: tuple(TABLE2), 3: TABLE3_ROWS}  # the paper's order of each table


def side_by_side(folder: Path, paper: pd.DataFrame, table: int = 3) -> pd.DataFrame:
    """Table ``table``'s rows on VR-Market1501 and MLR-Market1501 side by side: per dataset
    our Rank-1 and mAP (mean, std and n over seeds, %), and on VR-Market1501 the paper's
    reported Rank-1 (its Table 3 column; Tables 1-2 have none: the paper ran them on
    VR-MSMT17) and our difference to it. The paper has no MLR-Market1501 column. Rows in the
    paper's order (:data:`ROW_ORDER`), whatever order the runs finished in."""
    pieces: dict[tuple[str, str], pd.Series] = {}
    rows: list[str] = []
    for dataset, name in (("vr_market1501", "VR-Market1501"), ("mlr_market1501", "MLR-Market1501")):
        records = table_records(folder, table, dataset)
        if records is None:
            continue
        records = records.assign(rank1=records["rank1"] * 100, mAP=records["mAP"] * 100)
        grouped = records.groupby("method", sort=False)
        rows += [m for m in grouped.groups if m not in rows]
        pieces[(name, "rank1")] = grouped["rank1"].mean()
        pieces[(name, "rank1 std")] = grouped["rank1"].std(ddof=1)
        pieces[(name, "mAP")] = grouped["mAP"].mean()
        pieces[(name, "n")] = grouped["seed"].nunique()
        if dataset == "vr_market1501" and table == 3:
            reported = paper[(paper["table"] == 3) & (paper["dataset"] == name)]
            reported = reported.groupby("label")["rank1"].first()
            pieces[(name, "rank1 paper")] = reported
            pieces[(name, "ours - paper")] = pieces[(name, "rank1")] - reported
    paper_order = ROW_ORDER[table]
    order = [m for m in paper_order if m in rows] + [m for m in rows if m not in paper_order]
    out = pd.DataFrame({k: v.reindex(order) for k, v in pieces.items()}, index=order)
    if len(out.columns):
        out.columns = pd.MultiIndex.from_tuples(out.columns, names=["dataset", "value"])
    return out.rename_axis("method")


def mean_grids(cells: pd.DataFrame, dataset: str) -> dict[str, pd.DataFrame]:
    """Fig. 4 on ``dataset``: each network's O(r1, r2) grid (index r1, columns r2), the mean
    over its seeds, from the cells of ``market_fig4_seeds.csv`` (the caller counts the seeds
    each has)."""
    from lib.claims import grids_by_seed

    part = cells[cells["dataset"] == dataset]
    out = {}
    for label in (n for n in FIG4.values() if n in set(part["network"])):
        per_seed = grids_by_seed(part, label)
        out[label] = sum(per_seed.values()) / len(per_seed)
    return out


def _network_label(job: Job) -> str:
    """Fig. 4's name of the network an objective job evaluates (its ``--model``)."""
    return FIG4[job.argv[job.argv.index("--model") + 1]]


def _label_of(job: Job) -> tuple[str, int]:
    argv = list(job.argv)
    return argv[argv.index("--dataset") + 1], int(argv[argv.index("--seed") + 1])


def is_recorded(job: Job, folder: Path, frames: dict[str, pd.DataFrame] | None = None) -> bool:
    """Whether every result ``job`` gives is already in the per-seed files under ``folder``
    (``figures/``): a pipeline job's rows (every row of its network, for its dataset and seed)
    in ``market_seeds.csv``; an objective job's O(r1, r2) cells in ``market_fig4_seeds.csv``
    and, for a RIFE network, its fusion weights in the fusion file. What a finished job wrote
    on one machine thus spares a second machine, without its ``runs/``, the retraining.
    ``frames``: those files already read (:func:`recorded_frames`)."""
    frames = recorded_frames(folder) if frames is None else frames
    dataset, seed = _label_of(job)

    def has(name: str, column: str, values: set[str]) -> bool:
        frame = frames.get(name)
        if frame is None:
            return False
        mine = frame[(frame["dataset"] == dataset) & (frame["seed"] == seed)]
        return values <= set(mine[column])

    if job.argv[0] == "objective":
        label = _network_label(job)
        cells = has(OBJECTIVE_FILE, "network", {label})
        return cells and ("rife" not in label.lower() or has(FUSION_FILE, "network", {label}))
    return has(SEEDS_FILE, "method", {method for _, method, _ in network_of(job).rows})


def recorded_frames(folder: Path) -> dict[str, pd.DataFrame]:
    """The per-seed files under ``folder`` that exist, read once, by file name."""
    paths = {name: Path(folder) / name for name in (SEEDS_FILE, OBJECTIVE_FILE, FUSION_FILE)}
    return {name: pd.read_csv(path) for name, path in paths.items() if path.is_file()}


def network_name(job: Job) -> str:
    """The :class:`Network` name a job trains, or evaluates for a figure (``o-`` jobs)."""
    name = job.name.removeprefix("o-")
    return name.split("-vr_")[0].split("-mlr_")[0].split(f"-{FIG2_DATASET}")[0]


def pending(
    all_jobs: Sequence[Job], folder: Path | None, networks: Sequence[str] | None = None
) -> tuple[list[Job], list[Job]]:
    """``(to_run, skipped)``: the jobs of ``all_jobs`` whose results are not yet recorded under
    ``folder`` (:func:`is_recorded`; ``folder`` None: none is) and, with ``networks``, that belong to one of those
    networks (:func:`network_name`). A job left to run no longer waits for a skipped one: each
    pipeline trains the runs it starts from where they are absent (a run's lock keeps two
    processes from training one run at once), so the order only spares waiting."""
    known = {n.name for n in NETWORKS}
    unknown = set(networks or ()) - known
    if unknown:
        raise ValueError(f"unknown networks {sorted(unknown)}; expected some of {sorted(known)}")
    chosen = [j for j in all_jobs if networks is None or network_name(j) in networks]
    frames = recorded_frames(folder) if folder is not None else {}
    skipped = [j for j in all_jobs if j not in chosen or is_recorded(j, folder, frames)]
    names = {j.name for j in skipped}
    to_run = [
        Job(j.name, j.argv, tuple(a for a in j.after if a not in names))
        for j in all_jobs
        if j.name not in names
    ]
    return to_run, skipped
