"""From a dataset name to a ready split: generate the synthetic data, build the variant.

``prepare(kind, data_root=..., synthetic=..., trial=..., seed=...)`` is what training and the
notebooks call. Synthetic variants are generated (once per size and seed) under
``data/derived/synthetic-<key>/``, so a smoke run never overwrites the cpu profile's data;
real variants read ``data_root``. Variants are built in ``data/derived/variants``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path

from lib.data import variants
from lib.data.datasets import available
from lib.data.paths import default_data_root, derived_root
from lib.data.samples import Sample, Split
from lib.settings import settings_key


def synthetic_root(settings, seed: int = 0) -> Path:
    """Generate (or reuse) the embedded dataset of size ``settings`` (a
    :class:`lib.profiles.Synthetic` or a dict of ``generate`` arguments); return the data
    root that holds its ``synthetic/`` folder."""
    from lib.data.synthetic import generate

    kwargs = asdict(settings) if is_dataclass(settings) else dict(settings)
    key = settings_key([kwargs, seed])
    root = derived_root() / f"synthetic-{key}"
    generate(root, seed=seed, **kwargs)
    return root


def data_root_for(kind: str, data_root: str | Path | None, synthetic=None, seed: int = 0) -> Path:
    """The data root that variant ``kind`` reads."""
    if variants.VARIANTS[kind].base == "synthetic":
        if synthetic is None:
            raise ValueError(f"{kind} needs the synthetic dataset's settings")
        return synthetic_root(synthetic, seed)
    return Path(data_root) if data_root else default_data_root()


def prepare(
    kind: str,
    *,
    data_root: str | Path | None = None,
    synthetic=None,
    trial: int = 0,
    seed: int = 0,
) -> Split:
    """The split of variant ``kind`` for ``trial``, generated and built as needed."""
    if kind not in variants.VARIANTS:
        raise ValueError(f"unknown dataset {kind!r}; valid: {', '.join(variants.VARIANTS)}")
    root = data_root_for(kind, data_root, synthetic, seed)
    return variants.build(kind, root, derived_root() / "variants", seed=seed, trial=trial)


def variants_present(data_root: str | Path | None, names: list[str] | tuple = ()) -> list[str]:
    """Variant kinds whose dataset is under ``data_root`` (the synthetic ones always),
    restricted to ``names`` (dataset names or variant kinds) when given."""
    root = Path(data_root) if data_root else default_data_root()
    present = {"synthetic"} | set(available(root))
    kinds = [k for k, spec in variants.VARIANTS.items() if spec.base in present]
    if names:
        kinds = [k for k in kinds if k in names or variants.VARIANTS[k].base in names]
    return kinds


def family_queries(split: Split, per_family: int = 3) -> list[Sample]:
    """Query images of ``per_family`` members of one synthetic family seen by one camera:
    persons that share every coarse cue and differ only in fine ones (the paper's Fig. 1)."""
    folder = Path(split.query[0].path).parents[1]
    if not (folder / "identities.json").is_file():
        folder = Path(split.query[0].hr_path).parents[1]
    records = json.loads((folder / "identities.json").read_text())
    family = {r["pid"]: r["family"] for r in records}
    groups: dict[tuple[int, int], dict[int, Sample]] = {}
    for s in split.query:
        groups.setdefault((family[s.pid], s.camid), {}).setdefault(s.pid, s)
    for members in groups.values():
        if len(members) >= per_family:
            return list(members.values())[:per_family]
    raise ValueError(f"no family has {per_family} members seen by one camera in {folder}")
