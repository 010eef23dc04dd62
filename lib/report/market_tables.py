"""Market-1501's Tables 1 and 2 in the layout of notebooks 05 and 06 (the rows ``make market``
recorded in ``figures/market_seeds.csv``, beside the paper's VR-MSMT17 column), written where
either those notebooks or notebook 12 ask."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path

import pandas as pd

from lib import market
from lib.report import save_table, tables


def save_ablation_tables(
    folder: Path, table: int, exclude: Container[str] = (), out: Path | None = None
) -> dict[str, pd.DataFrame]:
    """Table ``table`` (1 or 2) on each Market dataset of ``market_seeds.csv`` in ``folder``
    that is not in ``exclude`` (:func:`lib.market.records_for`): mean and std over seeds
    beside the paper's VR-MSMT17 column (shown, not compared: another dataset), written to
    ``out`` (default ``folder``) as ``table{table}_{dataset}`` (CSV, Markdown, LaTeX).
    Notebooks 05 and 06 call it for the datasets they did not run themselves, notebook 12
    after every ``make market``, so both show the same rows."""
    written = {}
    for dataset, records in market.records_for(folder, table, exclude).items():
        written[dataset] = tables.compare(
            tables.summarise(records), table, dataset=dataset, columns=("rank1", "rank5", "mAP")
        )
        caption = (
            f"Table {table}: {dataset} from make market ({market.setting(folder)}), mean and "
            f"std over seeds, in %; the paper's Table {table} is on VR-MSMT17 (not available here)"
        )
        name = f"table{table}_{dataset}"
        save_table(written[dataset], name, folder if out is None else out, caption=caption)
    return written
