"""CUHK03 from the official ``cuhk-03.mat`` (MATLAB v7.3 = HDF5) and its 20 classic splits.

Structure of the file (as released): ``labeled`` and ``detected`` are 1x5 cells, one per
camera pair; each holds a (pids x 10) cell of images (stored transposed, 3 x W x H, uint8;
empty cells are stubs), images 0-4 from the pair's first camera, 5-9 from the second.
``testsets`` holds 20 classic splits, each a (100 x 2) array of (camera pair, pid), 1-based.
The classic protocol tests on those 100 identities and trains on the other 1,367.

The images are extracted once to a derived folder (never into the user's dataset folder)
and reused afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from lib.data.paths import derived_root
from lib.data.samples import LayoutError, Sample, Split, relabel

EXPECTED = (
    "cuhk03/cuhk03_release/cuhk-03.mat (MATLAB v7.3) with 'labeled', 'detected' and 'testsets'"
)
VARIANTS = ("labeled", "detected")


def global_pid(pair: int, pid: int) -> int:
    """A unique identity number from a 1-based camera pair and 1-based pid within it."""
    return pair * 1000 + pid


def _extract(mat_path: Path, variant: str, out: Path) -> list[dict]:
    import h5py

    records = []
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with h5py.File(mat_path, "r") as mat:
        pairs = mat[variant][0]
        for pair_index, pair_ref in enumerate(tqdm(pairs, desc=f"cuhk03 {variant}", unit="pair")):
            cells = mat[pair_ref][:].T  # (pids, 10) references
            for pid_index in range(cells.shape[0]):
                for image_index, ref in enumerate(cells[pid_index]):
                    image = mat[ref][:].T
                    if image.size == 0 or image.ndim < 3:
                        continue  # an empty cell: this identity has fewer images
                    pair, pid = pair_index + 1, pid_index + 1
                    name = f"{pair}_{pid:03d}_{image_index:02d}.png"
                    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(tmp / name)
                    records.append(
                        {"file": name, "pid": global_pid(pair, pid), "camid": int(image_index >= 5)}
                    )
        splits = [mat[ref][:].T.astype(int).tolist() for ref in mat["testsets"][0]]
    (tmp / "index.json").write_text(json.dumps({"images": records, "testsets": splits}))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return records


def _index(root: Path, variant: str) -> tuple[Path, dict]:
    mat_path = root / "cuhk03" / "cuhk03_release" / "cuhk-03.mat"
    if not mat_path.is_file():
        raise LayoutError("cuhk03", mat_path, EXPECTED, "file missing")
    stat = mat_path.stat()
    out = derived_root() / "cuhk03" / f"{variant}-{stat.st_size}-{int(stat.st_mtime)}"
    if not (out / "index.json").is_file():
        try:
            _extract(mat_path, variant, out)
        except (OSError, KeyError) as error:
            raise LayoutError("cuhk03", mat_path, EXPECTED, f"cannot read it ({error})") from None
    return out, json.loads((out / "index.json").read_text())


def load_cuhk03_classic(root: Path, trial: int = 0, *, variant: str = "labeled") -> Split:
    """The classic CUHK03 protocol for split ``trial`` (0-19): test identities of that split,
    queries from each pair's first camera and gallery from its second (single-shot, as
    MLR-CUHK03 evaluates), training on the remaining identities."""
    if variant not in VARIANTS:
        raise ValueError(f"cuhk03: variant must be one of {VARIANTS}, got {variant!r}")
    folder, index = _index(root, variant)
    testsets = index["testsets"]
    if not 0 <= trial < len(testsets):
        raise ValueError(f"cuhk03: trial must be in [0, {len(testsets)}), got {trial}")
    test_pids = {global_pid(pair, pid) for pair, pid in testsets[trial]}
    samples = [Sample(str(folder / r["file"]), r["pid"], r["camid"]) for r in index["images"]]
    train = [s for s in samples if s.pid not in test_pids]
    query = [s for s in samples if s.pid in test_pids and s.camid == 0]
    gallery = [s for s in samples if s.pid in test_pids and s.camid == 1]
    return Split(
        "cuhk03", relabel(train), query, gallery, "single_shot", trial=trial, trials=len(testsets)
    )
