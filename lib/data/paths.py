"""Where the project keeps what it derives (variants, extracted images, runs)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _in_checkout() -> bool:
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "lib").is_dir()


def derived_root() -> Path:
    """Folder for derived data: ``$RIPR_DERIVED``, else ``data/derived`` in the checkout
    (git-ignored), else ``~/.cache/ripr/derived``. Never inside a user's dataset folder."""
    if "RIPR_DERIVED" in os.environ:
        return Path(os.environ["RIPR_DERIVED"]).expanduser()
    if _in_checkout():
        return PROJECT_ROOT / "data" / "derived"
    return Path.home() / ".cache" / "ripr" / "derived"


def default_data_root() -> Path:
    """The data root used when a notebook is given none: ``$RIPR_DATA``, else ``data/`` in
    the checkout (where the synthetic dataset is generated and users may put real data)."""
    if "RIPR_DATA" in os.environ:
        return Path(os.environ["RIPR_DATA"]).expanduser()
    return PROJECT_ROOT / "data" if _in_checkout() else Path.home() / ".cache" / "ripr" / "data"
