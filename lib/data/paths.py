"""Where the project keeps what it derives (variants, extracted images, runs).

The folders and their environment variables are defined in :mod:`lib.settings`; the functions
here are its data folders, read from the environment when called. None creates its folder.
"""

from __future__ import annotations

from pathlib import Path

from lib.settings import PROJECT_ROOT, from_environment

__all__ = ["PROJECT_ROOT", "default_data_root", "derived_root"]


def derived_root() -> Path:
    """Folder for derived data: ``$RIPR_DERIVED``, else ``data/derived`` in the checkout
    (git-ignored), else ``~/.cache/ripr/derived``. Never inside a user's dataset folder."""
    return from_environment().derived


def default_data_root() -> Path:
    """The data root used when a notebook is given none: ``$RIPR_DATA``, else ``data/`` in
    the checkout (where the synthetic dataset is generated and users may put real data)."""
    return from_environment().data
