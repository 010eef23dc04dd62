"""Where the project reads and writes: the one place the environment is read.

Five environment variables move the project's folders; each is read when a folder is asked
for (not when ``lib`` is imported), so a change to the environment takes effect at once:

===============  ===================================================  =========================
variable         folder                                               default
===============  ===================================================  =========================
``RIPR_DATA``    data root used when a notebook or script is given    ``data/`` in the checkout,
                 none (the synthetic dataset is generated there and   else ``~/.cache/ripr/data``
                 users may put real datasets there)
``RIPR_DERIVED`` derived data: variants, extracted images, person     ``data/derived/`` in the
                 masks (never inside a user's dataset folder)         checkout (git-ignored),
                                                                      else
                                                                      ``~/.cache/ripr/derived``
``RIPR_SPLITS``  the fixed identity-split files of VIPeR and CAVIAR   ``data/splits/``
                 (:mod:`lib.data.splits`)
``RIPR_RUNS``    training runs (:mod:`lib.train.runs`)                ``runs/``
``RIPR_OUTPUT``  the folder holding ``figures/`` (``cpu`` and         the checkout
                 ``paper`` profiles) and ``runs/smoke/figures/``
                 (``smoke``), where notebooks write (:mod:`lib.report`)
===============  ===================================================  =========================

"The checkout" is the folder holding ``pyproject.toml`` and ``lib/`` (:data:`PROJECT_ROOT`);
``lib`` counts as in a checkout when both are there. ``~`` is expanded in ``RIPR_DATA`` and
``RIPR_DERIVED``. An empty ``RIPR_SPLITS`` means its default; the other variables, when set
(even empty), are taken as they are.

Asking for a folder never creates it: whoever writes into a folder creates it.

For example ``RIPR_RUNS=/scratch/ripr/runs RIPR_DERIVED=/scratch/ripr/derived make reproduce``
keeps the runs and the derived data off the checkout's disk. In code,
``from_environment().runs`` is the runs folder now.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CACHE = Path("~") / ".cache" / "ripr"


@dataclass(frozen=True)
class Settings:
    """Where the project reads and writes: each field, its environment variable and its
    default (see the module's docstring for what each folder holds)."""

    runs: Path  # RIPR_RUNS, default <project>/runs
    output: Path  # RIPR_OUTPUT, default <project>
    derived: Path  # RIPR_DERIVED, default <project>/data/derived, else ~/.cache/ripr/derived
    data: Path  # RIPR_DATA, default <project>/data, else ~/.cache/ripr/data
    splits: Path  # RIPR_SPLITS, default <project>/data/splits


def in_checkout(project: Path = PROJECT_ROOT) -> bool:
    """Whether ``project`` is a checkout of this repository (``pyproject.toml`` and ``lib/``)."""
    return (project / "pyproject.toml").is_file() and (project / "lib").is_dir()


def from_environment(
    environ: Mapping[str, str] | None = None, project: Path = PROJECT_ROOT
) -> Settings:
    """The folders named by ``environ`` (default: ``os.environ``, read now), each variable
    overriding its default (module docstring); ``project`` is the checkout the defaults are
    relative to. Nothing is created."""
    env = os.environ if environ is None else environ
    checkout = in_checkout(project)
    cache = CACHE.expanduser()
    if "RIPR_DERIVED" in env:
        derived = Path(env["RIPR_DERIVED"]).expanduser()
    else:
        derived = project / "data" / "derived" if checkout else cache / "derived"
    if "RIPR_DATA" in env:
        data = Path(env["RIPR_DATA"]).expanduser()
    else:
        data = project / "data" if checkout else cache / "data"
    return Settings(
        runs=Path(env.get("RIPR_RUNS", project / "runs")),
        output=Path(env.get("RIPR_OUTPUT", project)),
        derived=derived,
        data=data,
        splits=Path(env.get("RIPR_SPLITS") or project / "data" / "splits"),
    )


def settings_key(settings: object) -> str:
    """The cache key of a set of settings: the first 10 hex digits of the SHA-1 of their JSON
    (keys sorted; a value JSON cannot hold written as its ``str``). One recipe for every cache
    the project keys by its settings: runs (``lib.train.runs``), the embedded dataset
    (``lib.data.prepare``), variants (``lib.data.variants``) and person masks
    (``lib.data.person_masks``)."""
    blob = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]
