"""Parsing of every official layout, the error on bad roots, and the real CAVIAR."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lib.data import datasets
from lib.data.samples import LayoutError
from tests.layouts import (
    SHARED_DATASETS,
    caviar_tree,
    cuhk03_mat,
    market_tree,
    msmt_tree,
    viper_tree,
)


def test_market1501_layout(tmp_path: Path) -> None:
    market_tree(tmp_path)
    split = datasets.load("market1501", tmp_path)
    assert split.protocol == "market"
    assert sorted(s.pid for s in split.train) == [0, 0, 1, 1, 2]  # 2, 7, 10 relabelled
    assert Counter(s.camid for s in split.train) == {0: 2, 1: 1, 2: 1, 5: 1}
    assert [(s.pid, s.camid) for s in split.query] == [(1, 0), (3, 1)]
    assert sorted(s.pid for s in split.gallery) == [0, 1, 1, 3]  # distractor kept, junk gone
    assert all(Path(s.path).is_file() and s.mask is None for s in split.gallery)


def test_market1501_without_version_folder(tmp_path: Path) -> None:
    market_tree(tmp_path)
    nested = tmp_path / "market1501" / "Market-1501-v15.09.15"
    nested.rename(tmp_path / "flat")
    (tmp_path / "market1501").rmdir()
    (tmp_path / "flat").rename(tmp_path / "market1501")
    assert len(datasets.load("market1501", tmp_path).train) == 5


def test_market_bad_file_name_names_the_file(tmp_path: Path) -> None:
    market_tree(tmp_path)
    bad = tmp_path / "market1501" / "Market-1501-v15.09.15" / "query" / "person.jpg"
    bad.write_bytes(b"")
    with pytest.raises(LayoutError, match=r"person\.jpg.*0002_c1s1_000451_03\.jpg"):
        datasets.load("market1501", tmp_path)


@pytest.mark.parametrize("version", ["MSMT17_V1", "MSMT17_V2"])
def test_msmt17_lists(tmp_path: Path, version: str) -> None:
    msmt_tree(tmp_path, version)
    split = datasets.load("msmt17", tmp_path)
    assert [s.pid for s in split.train] == [0, 1, 2]  # train + val, as torchreid reads it
    assert [s.camid for s in split.train] == [0, 4, 13]
    assert [(s.pid, s.camid) for s in split.query] == [(0, 2)]
    assert [(s.pid, s.camid) for s in split.gallery] == [(0, 6), (1, 14)]
    assert all(Path(s.path).is_file() for s in split.train + split.query + split.gallery)


def test_msmt17_missing_list(tmp_path: Path) -> None:
    msmt_tree(tmp_path)
    (tmp_path / "msmt17" / "MSMT17_V2" / "list_val.txt").unlink()
    with pytest.raises(LayoutError, match=r"msmt17/MSMT17_V2.*missing list_val\.txt"):
        datasets.load("msmt17", tmp_path)


def test_viper_trials(tmp_path: Path) -> None:
    viper_tree(tmp_path, n=6)
    split = datasets.load("viper", tmp_path, trial=3)
    assert (split.protocol, split.trials, split.num_train_pids) == ("single_shot", 10, 3)
    assert len(split.query) == len(split.gallery) == 3
    assert {s.camid for s in split.query} == {0} and {s.camid for s in split.gallery} == {1}
    assert {s.pid for s in split.query} == {s.pid for s in split.gallery}
    again = datasets.load("viper", tmp_path, trial=3)
    assert [s.path for s in again.query] == [s.path for s in split.query]
    others = [{s.pid for s in datasets.load("viper", tmp_path, trial=t).query} for t in range(10)]
    assert len({frozenset(o) for o in others}) > 1  # trials draw different identities
    with pytest.raises(ValueError, match="trial must be in"):
        datasets.load("viper", tmp_path, trial=10)


def test_caviar_fixture(tmp_path: Path) -> None:
    caviar_tree(tmp_path, both=4, a_only=2)
    split = datasets.load("caviar", tmp_path)
    assert split.meta["camera_a_only_ids"] == 2
    assert split.num_train_pids == 2
    assert len(split.query) == 2 * 10 and len(split.gallery) == 2 * 10
    assert {s.camid for s in split.query} == {1}  # camera B (images 011-020)


def test_caviar_without_an_identity_seen_by_both_cameras(tmp_path: Path) -> None:
    caviar_tree(tmp_path, both=0, a_only=3)  # images 001-010 only: camera A
    base = tmp_path / "caviar" / "CAVIARa"
    with pytest.raises(LayoutError) as error:
        datasets.load("caviar", tmp_path)
    message = str(error.value)
    assert str(base) in message and "\n" not in message
    assert "none of its 3 identities has images of both camera A (001-010) and camera B" in message


@pytest.mark.parametrize("variant", ["labeled", "detected"])
def test_cuhk03_mat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    cuhk03_mat(tmp_path / "data")
    before = sorted(p.name for p in (tmp_path / "data").rglob("*"))
    split = datasets.load("cuhk03", tmp_path / "data", trial=0, variant=variant)
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == before  # nothing written there
    assert (split.trials, split.protocol) == (2, "single_shot")
    assert {s.pid for s in split.query} == {1002, 1003}  # split 0: pair 1, pids 2 and 3
    assert split.num_train_pids == 4
    assert len(split.train) == 40
    # pair 1, pid 2 misses its image 9 (second camera): 5 + 4 gallery images.
    assert len(split.query) == 10 and len(split.gallery) == 9
    image = Path(split.query[0].path)
    assert image.is_file() and str(tmp_path / "derived") in str(image)
    from PIL import Image

    assert Image.open(image).size == (20, 50)  # width 20, height 50 after the transpose
    split1 = datasets.load("cuhk03", tmp_path / "data", trial=1, variant=variant)
    assert {s.pid for s in split1.query} == {1001, 2002}


def test_cuhk03_missing(tmp_path: Path) -> None:
    (tmp_path / "cuhk03").mkdir()
    with pytest.raises(LayoutError, match=r"cuhk-03\.mat.*file missing"):
        datasets.load("cuhk03", tmp_path)


@pytest.mark.parametrize("name", sorted(datasets.LOADERS))
def test_missing_dataset_is_one_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(LayoutError) as info:
        datasets.load(name, tmp_path)
    message = str(info.value)
    assert message.startswith(f"{name}: no usable dataset at {tmp_path}")
    assert "expected" in message


def test_unknown_name_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid: market1501, msmt17"):
        datasets.load("dukemtmc", tmp_path)
    with pytest.raises(LayoutError, match="a data root folder"):
        datasets.load("viper", tmp_path / "nowhere")


def test_available(tmp_path: Path) -> None:
    viper_tree(tmp_path)
    caviar_tree(tmp_path)
    assert datasets.available(tmp_path) == ["viper", "caviar"]


@pytest.mark.skipif(
    not (SHARED_DATASETS / "caviar" / "CAVIARa").is_dir(),
    reason=f"the real CAVIAR4REID is not at {SHARED_DATASETS}/caviar/CAVIARa (a user's clone)",
)
def test_real_caviar() -> None:
    split = datasets.load("caviar", SHARED_DATASETS)
    assert split.num_train_pids + len({s.pid for s in split.query}) == 50  # seen by both
    assert split.meta["camera_a_only_ids"] == 22
    assert len(split.query) == 250 and len(split.gallery) == 250 and len(split.train) == 500
    # 72 identities in all: 720 camera-A and 500 camera-B images on disk.
    names = [p.name for p in (SHARED_DATASETS / "caviar" / "CAVIARa").glob("*.jpg")]
    numbers = Counter(int(n[4:7]) <= 10 for n in names)
    assert numbers == {True: 720, False: 500}
    assert len({n[:4] for n in names}) == 72
