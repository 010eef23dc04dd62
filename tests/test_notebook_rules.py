"""Notebooks orchestrate; the rules live in lib: which seeds and trials a dataset gets
(lib.train.pipeline.replicates), how a split is built (split_of), how a grid becomes records
(lib.eval.objective.long_form)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from lib import profiles
from lib.eval.objective import long_form
from lib.train.pipeline import Data, replicates

ROOT = Path(__file__).resolve().parents[1]
RULES = {
    "a seed rule": re.compile(r"SEEDS or|profile\.seeds|\(0,\)\)"),
    "a trial rule": re.compile(r"profile\.trials|range\(trials\)|in \(\"caviar\""),
    "a split built by hand": re.compile(r"\bprepare\(|synthetic=profile\.synthetic"),
    "a grid reshaped by hand": re.compile(r"\.stack\(\)\.rename\(\"O\"\)"),
    "a function": re.compile(r"^\s*def ", re.M),
}


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda p: p.stem)  # fmt: skip
def test_notebooks_hold_no_seed_trial_or_split_rule(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    found = [what for what, pattern in RULES.items() if pattern.search(code)]
    assert not found, f"{path.name} holds {', '.join(found)}: it belongs in lib"


def test_replicates_is_the_one_rule_for_seeds_and_trials() -> None:
    cpu, market = profiles.get("cpu"), profiles.get("market")
    assert replicates(cpu, "vr_synthetic") == [Data("vr_synthetic", "", 0, s) for s in (0, 1, 2)]
    assert replicates(cpu, "vr_synthetic", seeds=[5]) == [Data("vr_synthetic", "", 0, 5)]
    # identity-split data: the profile's number of trials, each seeded by its number
    assert replicates(cpu, "caviar", "root") == [Data("caviar", "root", t, t) for t in (0, 1)]
    paper = profiles.get("paper")
    assert [d.trial for d in replicates(paper, "mlr_viper")] == list(range(10))
    assert len(replicates(profiles.get("paper", trials=50), "mlr_cuhk03")) == 20  # its 20 splits
    assert [d.seed for d in replicates(market, "vr_market1501")] == [0, 1, 2]


def test_long_form_round_trips_through_grids_by_seed() -> None:
    from lib.claims import grids_by_seed

    grid = pd.DataFrame([[0.1, 0.2], [0.3, 0.4]], index=[0.5, 1.0], columns=[0.5, 1.0])
    long = long_form(grid)
    assert list(long.columns) == ["r1", "r2", "O"] and len(long) == 4
    back = grids_by_seed(long.assign(network="ResNet", seed=0), "ResNet")[0]
    assert back.equals(grid.rename_axis(index="r1", columns="r2"))
