"""Shared test set-up: the toy dataset trees of tests/layouts.py hold a few identities, not
the real datasets' identity sets, so the split files of data/splits/ (which training reads
for VIPeR and CAVIAR) are switched off for every test but those of the split files."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_split_files(request, tmp_path_factory, monkeypatch):
    if request.module.__name__.endswith("test_splits"):
        return
    monkeypatch.setenv("RIPR_SPLITS", str(tmp_path_factory.mktemp("no-split-files")))
