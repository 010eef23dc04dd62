"""Tiny dataset trees in each official layout, for the parser and variant tests."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def write_image(path: Path, width: int = 64, height: int = 128, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)


def market_tree(root: Path) -> dict[str, list[str]]:
    """root/market1501/Market-1501-v15.09.15 with 3 train ids, 2 test ids, junk and
    distractors. Returns the file names per subset."""
    base = root / "market1501" / "Market-1501-v15.09.15"
    names = {
        "bounding_box_train": [
            "0002_c1s1_000451_03.jpg",
            "0002_c2s1_000551_01.jpg",
            "0007_c1s1_000100_01.jpg",
            "0007_c3s1_000200_01.jpg",
            "0010_c6s2_000300_02.jpg",
        ],
        "query": ["0001_c1s1_001051_00.jpg", "0003_c2s1_000201_00.jpg"],
        "bounding_box_test": [
            "0001_c2s1_000301_01.jpg",
            "0001_c1s1_001101_01.jpg",
            "0003_c1s1_000101_02.jpg",
            "0000_c4s1_000001_01.jpg",  # distractor: kept in the gallery
            "-1_c5s1_000002_01.jpg",  # junk: ignored
        ],
    }
    for i, (subset, files) in enumerate(names.items()):
        for j, name in enumerate(files):
            write_image(base / subset / name, value=10 * i + j)
    return names


def msmt_tree(root: Path, version: str = "MSMT17_V2") -> None:
    train_dir, test_dir = (
        ("mask_train_v2", "mask_test_v2") if version == "MSMT17_V2" else ("train", "test")
    )
    base = root / "msmt17" / version
    lists = {
        "train": [
            ("0000/0000_000_01_0303morning_0015_0.jpg", 0),
            ("0001/0001_001_05_0303morning_0020_1.jpg", 1),
        ],
        "val": [("0002/0002_002_14_0303noon_0100_0.jpg", 2)],
        "query": [("0000/0000_000_03_0303noon_0001_0.jpg", 0)],
        "gallery": [
            ("0000/0000_001_07_0303noon_0002_0.jpg", 0),
            ("0001/0001_002_15_0303noon_0003_0.jpg", 1),
        ],
    }
    for split, rows in lists.items():
        folder = base / (train_dir if split in ("train", "val") else test_dir)
        for rel, _ in rows:
            write_image(folder / rel, width=40, height=100)
        (base / f"list_{split}.txt").write_text("".join(f"{rel} {pid}\n" for rel, pid in rows))


def viper_tree(root: Path, n: int = 6) -> None:
    for cam in ("cam_a", "cam_b"):
        for i in range(n):
            write_image(
                root / "viper" / "VIPeR" / cam / f"{i:03d}_{45 if cam == 'cam_a' else 90}.bmp",
                48,
                128,
                i,
            )


def caviar_tree(root: Path, both: int = 4, a_only: int = 2) -> None:
    for pid in range(1, both + a_only + 1):
        for number in range(1, 21 if pid <= both else 11):
            width = 40 if number <= 10 else 20
            write_image(
                root / "caviar" / "CAVIARa" / f"{pid:04d}{number:03d}.jpg",
                width,
                90,
                pid * 100 + number,
            )


def cuhk03_mat(root: Path, pids_per_pair: int = 3, empty: tuple[int, int, int] = (0, 1, 9)) -> Path:
    """A cuhk-03.mat of the released structure (MATLAB v7.3 = HDF5 with object references):
    2 camera pairs x ``pids_per_pair`` identities x 10 images, one empty cell at ``empty``
    (pair, pid, image), and 2 test splits of 2 identities each."""
    import h5py

    path = root / "cuhk03" / "cuhk03_release" / "cuhk-03.mat"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        counter = iter(range(10**6))

        def store(array: np.ndarray) -> h5py.Reference:
            return refs.create_dataset(str(next(counter)), data=array).ref

        for variant in ("labeled", "detected"):
            pairs = f.create_dataset(variant, (1, 2), dtype=h5py.ref_dtype)
            for pair in range(2):
                cells = np.empty((10, pids_per_pair), dtype=object)  # stored transposed
                for pid in range(pids_per_pair):
                    for image in range(10):
                        if (pair, pid, image) == empty:
                            cells[image, pid] = store(np.zeros(2, dtype=np.uint64))
                        else:  # MATLAB stores H x W x 3 as 3 x W x H
                            cells[image, pid] = store(
                                rng.integers(0, 255, (3, 20 + pair, 50), dtype=np.uint8)
                            )
                pairs[0, pair] = refs.create_dataset(
                    f"{variant}{pair}", data=cells, dtype=h5py.ref_dtype
                ).ref
        tests = f.create_dataset("testsets", (1, 2), dtype=h5py.ref_dtype)
        tests[0, 0] = store(np.array([[1, 2], [1, 3]]).T)  # (pair, pid) rows, stored transposed
        tests[0, 1] = store(np.array([[1, 1], [2, 2]]).T)
    return path


@contextmanager
def loopback_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (a free port) answering with ``handler``, in a thread;
    yields its base URL and shuts it down after."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
