"""Fixed identity-split files for the datasets evaluated over random splits (``data/splits/``).

::

    python -m lib splits export caviar --root DATA_ROOT     # writes data/splits/caviar.json
    python -m lib splits check caviar --root DATA_ROOT      # the file == the seeded splits

VIPeR and CAVIAR are evaluated over 10 random identity splits (:mod:`lib.data.datasets` draws
them from a generator seeded by the dataset's name and the trial). The files written here list,
for each trial, the identities of the test half, in the dataset's own identity numbers, so the
same splits can be used by other code and checked by anyone:

- ``viper``: identity ``i`` is the ``i``-th image of ``cam_a/`` and of ``cam_b/`` in sorted
  file-name order (632 identities, 316 test identities per trial).
- ``caviar``: the 4-digit person number of the file name; only the 50 identities seen by
  both cameras are split (25 test identities per trial).

:func:`load` builds a split from the file when it exists (and from the seed otherwise);
:func:`from_file` builds it from a given file. Building from the file gives exactly the samples
the seed gives (tested). CUHK03's classic splits are the dataset's own (its ``testsets``) and
Market-1501's split is fixed, so they need no file. The per-image down-sampling draws of the MLR
variants are not in these files: they are drawn from (seed, image path) by
:mod:`lib.data.variants` and do not depend on the split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from lib.data import datasets
from lib.data.samples import Sample, Split, relabel
from lib.settings import PROJECT_ROOT, from_environment

SPLITS_DIR = PROJECT_ROOT / "data" / "splits"  # the default; $RIPR_SPLITS moves it
FORMAT = 1
# dataset -> (trials, query camera), as lib.data.datasets defines them
PROTOCOLS = {"viper": (10, 0), "caviar": (10, 1)}
ID_CONVENTION = {
    "viper": "index of the image in sorted file-name order of cam_a/ and of cam_b/ (0-based)",
    "caviar": "the 4-digit person number PPPP of the file name PPPPNNN.jpg",
}


class SplitFileError(ValueError):
    """A split file does not fit the dataset it is applied to, or is malformed."""


def _check_name(name: str) -> None:
    if name not in PROTOCOLS:
        raise ValueError(f"no split file for {name!r}; valid: {', '.join(PROTOCOLS)}")


def split_path(name: str, folder: str | Path | None = None) -> Path:
    """Where the split file of ``name`` lives: in ``folder`` when given, else in
    ``$RIPR_SPLITS``, else in ``data/splits/`` (:mod:`lib.settings`). Nothing is created."""
    _check_name(name)
    return Path(folder or from_environment().splits) / f"{name}.json"


def identities(name: str, root: str | Path) -> dict[int, list[Sample]]:
    """Every split identity of dataset ``name`` under ``root``, by its own identity number
    (:data:`ID_CONVENTION`), with its samples in the parser's order."""
    _check_name(name)
    split = datasets.load(name, root, 0)
    samples = [*split.train, *split.query, *split.gallery]
    if name == "viper":
        order = {c: sorted(s.path for s in samples if s.camid == c) for c in (0, 1)}
        index = {p: i for c in order for i, p in enumerate(order[c])}
        number = {s.path: index[s.path] for s in samples}
    else:
        number = {s.path: int(Path(s.path).name[:4]) for s in samples}
    by_pid: dict[int, list[Sample]] = {}
    for s in sorted(samples, key=lambda s: (number[s.path], s.camid, s.path)):
        by_pid.setdefault(number[s.path], []).append(Sample(s.path, number[s.path], s.camid))
    return by_pid


def export(name: str, root: str | Path, folder: str | Path | None = None) -> Path:
    """Write the seeded identity splits of every trial of ``name`` (dataset under ``root``)
    to :func:`split_path`; returns the file."""
    _check_name(name)
    trials, query_cam = PROTOCOLS[name]
    pids = sorted(identities(name, root))
    rows = []
    for trial in range(trials):
        split = datasets.load(name, root, trial)
        rows.append({"trial": trial, "test_pids": sorted({s.pid for s in split.query})})
    data = {
        "format": FORMAT,
        "dataset": name,
        "protocol": f"single-shot, query camera {query_cam}, {trials} trials",
        "ids": ID_CONVENTION[name],
        "made_by": "lib.data.datasets: numpy default_rng([sum(map(ord, name)), trial]) "
        "permutation of the sorted identities, first half = test",
        "pids": pids,
        "trials": rows,
    }
    path = split_path(name, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")  # processes may write it at once
    tmp.write_text(_dumps(data))
    os.replace(tmp, path)
    return path


def _dumps(data: dict) -> str:
    """JSON with one line per field and per trial (diffs of a split file stay readable)."""
    fields = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k != "trials"]
    trials = ",\n".join(f"  {json.dumps(t)}" for t in data["trials"])
    return "{\n" + ",\n".join(fields) + ',\n "trials": [\n' + trials + "\n ]\n}\n"


def read(path: str | Path) -> dict:
    """A split file's contents, checked for the fields :func:`from_file` needs."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        ok = data["format"] == FORMAT and all(
            isinstance(t["test_pids"], list) for t in data["trials"]
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SplitFileError(f"{path}: not a split file ({err})") from err
    if not ok:
        raise SplitFileError(f"{path}: not a split file of format {FORMAT}")
    return data


def from_file(name: str, root: str | Path, trial: int, path: str | Path | None = None) -> Split:
    """The split of ``trial`` for dataset ``name`` under ``root``, from the split file
    (``path``, default :func:`split_path`); the same samples as ``datasets.load`` gives."""
    path = Path(path) if path is not None else split_path(name)
    data = read(path)
    if data["dataset"] != name:
        raise SplitFileError(f"{path}: a split file of {data['dataset']}, not of {name}")
    if not 0 <= trial < len(data["trials"]):
        raise SplitFileError(f"{path}: trial must be in [0, {len(data['trials'])}), got {trial}")
    by_pid = identities(name, root)
    if sorted(by_pid) != data["pids"]:
        missing = sorted(set(data["pids"]) - set(by_pid))[:5]
        extra = sorted(set(by_pid) - set(data["pids"]))[:5]
        raise SplitFileError(
            f"{path}: its identities are not those of {name} under {root} "
            f"(in the file only: {missing}..., in the data only: {extra}...)"
        )
    test = set(data["trials"][trial]["test_pids"])
    query_cam = PROTOCOLS[name][1]
    train = [s for p in sorted(by_pid) if p not in test for s in by_pid[p]]
    tested = [s for p in sorted(test) for s in by_pid[p]]
    query = [s for s in tested if s.camid == query_cam]
    gallery = [s for s in tested if s.camid != query_cam]
    meta = dict(datasets.load(name, root, 0).meta)
    meta["split_file"] = str(path)
    trials = len(data["trials"])
    return Split(name, relabel(train), query, gallery, "single_shot", trial, trials, meta)


def load(name: str, root: str | Path, trial: int = 0) -> Split:
    """``name``'s split for ``trial``: from ``data/splits/<name>.json`` when it exists
    (``split.meta["split_file"]`` says so), else from the seed (``datasets.load``)."""
    if name in PROTOCOLS and split_path(name).is_file():
        return from_file(name, root, trial)
    return datasets.load(name, root, trial)


def same_samples(a: Split, b: Split) -> bool:
    """Whether two splits hold the same samples in the same order, subset by subset."""
    return all(a.subsets()[k] == b.subsets()[k] for k in ("train", "query", "gallery"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m lib splits export|check NAME --root DIR [--folder DIR]``."""
    parser.add_argument("action", choices=["export", "check"])
    parser.add_argument("name", choices=sorted(PROTOCOLS))
    parser.add_argument("--root", required=True, help="the data root holding the dataset")
    parser.add_argument("--folder", default=None, help=f"split files folder ({SPLITS_DIR})")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``python -m lib splits``: export the seeded splits of a dataset, or check the file."""
    try:
        if args.action == "export":
            print(f"{args.name}: wrote {export(args.name, args.root, args.folder)}")
            return 0
        path = split_path(args.name, args.folder)
        for trial in range(len(read(path)["trials"])):
            if not same_samples(
                from_file(args.name, args.root, trial, path),
                datasets.load(args.name, args.root, trial),
            ):
                print(
                    f"python -m lib splits: {path}: trial {trial} differs from the seeded split",
                    file=sys.stderr,
                )
                return 1
        print(f"{args.name}: {path} gives the seeded split of every trial")
        return 0
    except (SplitFileError, FileNotFoundError) as err:
        print(f"python -m lib splits: {err}", file=sys.stderr)
        return 1
