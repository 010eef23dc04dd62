"""Where notebooks write, and how figures and tables are saved.

A ``smoke`` run (tests, nbval) writes under ``runs/smoke/figures`` and never over
``figures/``, which holds what the last ``cpu`` or ``paper`` run of ``make reproduce`` wrote.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from lib.data.paths import PROJECT_ROOT


def figures_dir(profile: str) -> Path:
    """``figures/`` for the cpu and paper profiles, ``runs/smoke/figures`` for smoke."""
    base = Path(os.environ.get("RIPR_OUTPUT", PROJECT_ROOT))
    folder = base / "runs" / "smoke" / "figures" if profile == "smoke" else base / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, name: str, folder: Path) -> list[Path]:
    """Save a matplotlib figure as ``name.pdf`` and ``name.png`` (150 dpi) in ``folder``."""
    paths = [folder / f"{name}.pdf", folder / f"{name}.png"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight", dpi=150)
    return paths


def save_table(table: pd.DataFrame, name: str, folder: Path, caption: str = "") -> list[Path]:
    """Write ``table`` as CSV, Markdown (caption as a line above) and LaTeX in ``folder``."""
    paths = [folder / f"{name}.csv", folder / f"{name}.md", folder / f"{name}.tex"]
    table.to_csv(paths[0])
    markdown = table.to_markdown(floatfmt=".1f")
    paths[1].write_text(f"{caption}\n\n{markdown}\n" if caption else f"{markdown}\n")
    paths[2].write_text(table.to_latex(float_format="%.1f", caption=caption or None))
    return paths
