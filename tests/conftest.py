"""Shared test set-up: the toy dataset trees of tests/layouts.py hold a few identities, not
the real datasets' identity sets, so the split files of data/splits/ (which training reads
for VIPeR and CAVIAR) are switched off for every test but those of the split files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layouts import write_image


@pytest.fixture(autouse=True)
def _no_split_files(request, tmp_path_factory, monkeypatch):
    if request.module.__name__.endswith("test_splits"):
        return
    monkeypatch.setenv("RIPR_SPLITS", str(tmp_path_factory.mktemp("no-split-files")))


def market_tree(root: Path, ids: int = 8, per_id: int = 8) -> Path:
    """A Market-1501 tree (the `data` fixture below): ``ids`` train ids x ``per_id`` images; 4 test ids."""
    base = root / "market1501"
    for pid in range(1, ids + 1):
        for k in range(per_id):
            write_image(
                base / "bounding_box_train" / f"{pid:04d}_c{k % 6 + 1}s1_{k:06d}_00.jpg",
                value=pid * 100 + k,
            )
    for pid in range(101, 105):
        for k in range(3):
            subset = "query" if k == 0 else "bounding_box_test"
            write_image(base / subset / f"{pid:04d}_c{k + 1}s1_{k:06d}_00.jpg", value=pid * 100 + k)
    return root


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    return market_tree(tmp_path / "data")
