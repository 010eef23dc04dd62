"""Where notebooks write, and how figures and tables are saved.

A ``smoke`` run (tests, nbval) writes under ``runs/smoke/figures`` and never over
``figures/``, which holds what the last ``cpu`` or ``paper`` run of ``make reproduce`` wrote.

Submodules: ``tables`` (our rows beside the paper's reported numbers), ``plots`` (the
figures), ``widgets`` (the interactive explorers of notebook 09).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lib.settings import from_environment


def figures_dir(profile: str) -> Path:
    """``figures/`` for the cpu and paper profiles, ``runs/smoke/figures`` for smoke, under
    ``$RIPR_OUTPUT`` (default: the checkout; :mod:`lib.settings`). Not created here: the
    ``save_*`` functions create the folder they write into."""
    base = from_environment().output
    return base / "runs" / "smoke" / "figures" if profile == "smoke" else base / "figures"


def save_figure(fig, name: str, folder: str | Path) -> list[Path]:
    """Save a matplotlib figure as ``name.pdf`` and ``name.png`` (110 dpi, small enough to
    keep in git for the README) in ``folder`` (created if missing)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.pdf", folder / f"{name}.png"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight", dpi=110)
    return paths


MISSING = "–"  # shown for a missing value (NaN, None, <NA>) in Markdown; "--" in LaTeX
LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"}


def _flat_columns(columns: pd.Index) -> list[str]:
    """MultiIndex column labels joined by spaces (empty levels skipped) for Markdown."""
    if not isinstance(columns, pd.MultiIndex):
        return [str(c) for c in columns]
    return [" ".join(str(p) for p in label if str(p)) for label in columns]


def to_markdown(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table: floats with 3 significant digits, missing values as ``–``,
    MultiIndex columns flattened into one header row."""
    shown = table.set_axis(_flat_columns(table.columns), axis=1).astype(object)
    return shown.where(shown.notna(), None).to_markdown(floatfmt=".3g", missingval=MISSING)


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (for captions)."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def to_latex(table: pd.DataFrame, caption: str = "") -> str:
    """``table`` as a LaTeX (booktabs) table: floats with 3 significant digits, missing values as
    ``--``, labels, cells and caption escaped, MultiIndex columns as multicolumns."""
    return table.to_latex(
        float_format="%.3g",
        caption=latex_escape(caption) or None,
        na_rep="--",
        escape=True,
        multicolumn_format="c",
    )


def save_table(table: pd.DataFrame, name: str, folder: str | Path, caption: str = "") -> list[Path]:
    """Write ``table`` as CSV, Markdown (caption as a line above) and LaTeX in ``folder``
    (created if missing).

    Missing values are empty in the CSV, ``–`` in Markdown and ``--`` in LaTeX;
    MultiIndex columns keep their levels in CSV and LaTeX and are flattened in Markdown."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.csv", folder / f"{name}.md", folder / f"{name}.tex"]
    table.to_csv(paths[0])
    markdown = to_markdown(table)
    paths[1].write_text(f"{caption}\n\n{markdown}\n" if caption else f"{markdown}\n")
    paths[2].write_text(to_latex(table, caption))
    return paths


def save_records(records: pd.DataFrame, name: str, folder: str | Path) -> Path:
    """Write per-seed (or per-trial) records as ``name.csv`` in ``folder`` (created if
    missing): the raw values the summaries and the claims table (:mod:`lib.claims`) are
    computed from."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    records.to_csv(path, index=False)
    return path


def load_records(name: str, folder: str | Path) -> pd.DataFrame:
    """Records written by :func:`save_records`; a missing file says which notebook writes it."""
    path = Path(folder) / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the notebook that writes {name}.csv first")
    return pd.read_csv(path)
