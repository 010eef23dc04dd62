"""Split files (data/splits/): building from the file gives exactly the seeded split."""

from __future__ import annotations

import json

import pytest

from lib.data import datasets, splits
from tests.layouts import SHARED_DATASETS, caviar_tree, viper_tree


@pytest.mark.parametrize(("name", "make"), [("viper", viper_tree), ("caviar", caviar_tree)])
def test_export_then_build_from_the_file_round_trips(tmp_path, name, make):
    root = tmp_path / "data"
    make(root)
    path = splits.export(name, root, tmp_path / "splits")
    data = json.loads(path.read_text())
    assert len(data["trials"]) == 10
    for trial in range(10):
        from_file = splits.from_file(name, root, trial, path)
        seeded = datasets.load(name, root, trial)
        assert splits.same_samples(from_file, seeded)
        assert from_file.meta["split_file"] == str(path)
    # the file decides: another test half gives another split
    data["trials"][0]["test_pids"] = data["trials"][1]["test_pids"]
    path.write_text(json.dumps(data))
    other = splits.from_file(name, root, 0, path)
    assert splits.same_samples(other, datasets.load(name, root, 1))
    assert not splits.same_samples(other, datasets.load(name, root, 0))


def test_a_file_for_other_identities_is_one_clear_error(tmp_path):
    root = tmp_path / "data"
    viper_tree(root, n=6)
    path = splits.export("viper", root, tmp_path / "splits")
    viper_tree(tmp_path / "other", n=8)
    with pytest.raises(splits.SplitFileError, match="its identities are not those of viper"):
        splits.from_file("viper", tmp_path / "other", 0, path)
    path.write_text("{}")
    with pytest.raises(splits.SplitFileError, match="not a split file"):
        splits.from_file("viper", root, 0, path)


def test_the_committed_viper_file_is_the_seeded_split_of_632_identities(tmp_path):
    base = tmp_path / "viper" / "VIPeR"
    for cam in ("cam_a", "cam_b"):  # the parser reads names only: empty files will do
        (base / cam).mkdir(parents=True)
        for i in range(632):
            (base / cam / f"{i:03d}_{0 if cam == 'cam_a' else 90}.bmp").touch()
    data = splits.read(splits.split_path("viper"))
    assert data["pids"] == list(range(632))
    assert all(len(t["test_pids"]) == 316 for t in data["trials"])
    for trial in (0, 9):
        assert splits.same_samples(
            splits.from_file("viper", tmp_path, trial), datasets.load("viper", tmp_path, trial)
        )


@pytest.mark.skipif(
    not (SHARED_DATASETS / "caviar").is_dir(), reason="no ../shared/datasets/caviar beside the repo"
)
def test_the_committed_caviar_file_is_the_seeded_split_of_the_real_data():
    data = splits.read(splits.split_path("caviar"))
    assert len(data["pids"]) == 50 and all(len(t["test_pids"]) == 25 for t in data["trials"])
    for trial in range(10):
        from_file = splits.load("caviar", SHARED_DATASETS, trial)
        assert "split_file" in from_file.meta
        assert splits.same_samples(from_file, datasets.load("caviar", SHARED_DATASETS, trial))


def test_variants_build_their_trials_from_the_split_file(tmp_path, monkeypatch):
    """Training's splits (lib.data.variants.build) come from the file when there is one: an
    edited file moves identities between the halves, and the built variant follows it."""
    from lib.data import variants

    caviar_tree(tmp_path / "data")
    folder = tmp_path / "splits"
    path = splits.export("caviar", tmp_path / "data", folder)
    data = json.loads(path.read_text())
    data["trials"][0]["test_pids"] = sorted(data["trials"][1]["test_pids"])
    path.write_text(json.dumps(data))
    monkeypatch.setenv("RIPR_SPLITS", str(folder))
    built = variants.build("caviar", tmp_path / "data", tmp_path / "out", trial=0)
    assert built.meta["split_file"] == str(path)
    expected = splits.from_file("caviar", tmp_path / "data", 0, path)
    assert [s.path for s in built.query] == [s.path for s in expected.query]
    assert [s.path for s in built.train] == [s.path for s in expected.train]
