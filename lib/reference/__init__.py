"""Reported numbers shipped with the package: the paper's Tables 1-3 and later methods.

The CSVs were transcribed from the paper and the collections named in ``README.md`` beside
them (their sources), kept inside ``lib`` so that an installed package or a fresh clone can read them.
Every figure in them is somebody's reported result, never a measurement of this project;
:mod:`lib.report.tables` labels them as such.
"""

from __future__ import annotations

import io
from importlib import resources

import pandas as pd

FILES = ("paper_tables.csv", "later_methods.csv")


def read_text(name: str) -> str:
    """The text of the shipped file ``name`` (one of :data:`FILES`)."""
    if name not in FILES:
        raise ValueError(f"unknown reference file {name!r}; shipped: {', '.join(FILES)}")
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def read_csv(name: str) -> pd.DataFrame:
    """The shipped CSV ``name`` as a DataFrame (empty cells as NaN)."""
    return pd.read_csv(io.StringIO(read_text(name)))
