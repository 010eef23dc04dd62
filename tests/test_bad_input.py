"""Bad input in a real dataset tree: one clear line naming the file and what was expected,
files a parser must skip counted, and the user's folders never written. Small copies in a
temporary folder (tests/layouts.py), so nothing here needs the real datasets."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from lib.data import datasets
from lib.data.loader import read_image
from lib.data.samples import ImageError, LayoutError
from tests.layouts import market_tree

ROOT = Path(__file__).resolve().parents[1]
BASE = Path("market1501") / "Market-1501-v15.09.15"


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _train(
    root: Path, tmp_path: Path, dataset: str = "vr_market1501"
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lib", "train", "--stage", "extractor", "--model", "resnet",
         "--dataset", dataset, "--data-root", str(root), "--runs", str(tmp_path / "runs"),
         "--device", "cpu", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
             "RIPR_DERIVED": str(tmp_path / "derived")},
    )  # fmt: skip


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_broken_image_stops_training_with_one_line_naming_it(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "data"
    market_tree(root)
    bad = root / BASE / "bounding_box_train" / "0007_c3s1_000200_01.jpg"
    _truncate(bad) if damage == "truncated" else bad.write_bytes(b"")
    before = _snapshot(root)
    result = _train(root, tmp_path)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert str(bad) in last and "expected a complete JPEG" in last, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert _snapshot(root) == before  # the user's tree is never written


def test_an_unexpected_name_and_a_missing_folder_are_one_line_each(tmp_path: Path) -> None:
    root = tmp_path / "data"
    market_tree(root)
    odd = root / BASE / "bounding_box_test" / "person_07.jpg"
    odd.write_bytes((root / BASE / "query" / "0001_c1s1_001051_00.jpg").read_bytes())
    result = _train(root, tmp_path)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and str(odd) in last and "0002_c1s1_000451_03.jpg" in last
    odd.unlink()
    (root / BASE / "query").rename(tmp_path / "query-elsewhere")
    result = _train(root, tmp_path, dataset="market1501")
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "missing query" in last and str(root / BASE) in last


def test_thumbs_db_is_skipped_and_counted(tmp_path: Path) -> None:
    names = market_tree(tmp_path)
    for subset in ("bounding_box_train", "query"):
        (tmp_path / BASE / subset / "Thumbs.db").write_bytes(b"\x00" * 64)
    split = datasets.load("market1501", tmp_path)
    assert split.meta["skipped_files"] == {
        "bounding_box_train": ["Thumbs.db"],
        "query": ["Thumbs.db"],
    }
    assert len(split.train) == len(names["bounding_box_train"])  # the counts are unchanged


def test_read_image_names_the_file_and_survives_a_worker_process(tmp_path: Path) -> None:
    empty = tmp_path / "0001_c1s1_000001_00.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match=str(empty)) as error:
        read_image(str(empty))
    again = pickle.loads(pickle.dumps(error.value))  # as a DataLoader or Pool worker sends it
    assert str(again) == str(error.value) and again.path == str(empty)
    assert isinstance(again, OSError) and not isinstance(again, LayoutError)
