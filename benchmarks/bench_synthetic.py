"""Generation speed of the embedded dataset (lib.data.synthetic), end to end.

Prints images/s of ``generate`` (rendering, JPEG and PNG writing, identities.json) at
128x64 with 1 and 2 worker processes, into a fresh temporary folder (inside the project's
derived data root by default, where the dataset is really written), with the CPU time per
image (user + system, all processes), and the speed of rendering + JPEG/PNG encoding in
memory (no files) in one process. Reading them: the difference between the two is the cost
of creating two files per image, which on a shared virtual disk varies from run to run.
With ``--sheet PATH`` it also saves a contact sheet: three families (rows: members) across
the six cameras and views, at full resolution (left) and down-sampled to r = 0.25 (right).

    .venv/bin/python benchmarks/bench_synthetic.py [--ids 100] [--sheet /tmp/synthetic_sheet.png]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from lib.data.paths import derived_root
from lib.data.synthetic import generate, make_cameras, render, sample_identities
from lib.data.synthetic_render import VIEWS


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench(
    ids: int, workers: int, height: int, width: int, folder: Path
) -> tuple[int, float, float]:
    """Images written, wall seconds and CPU seconds of one ``generate`` call."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        start, cpu = time.perf_counter(), cpu_seconds()
        out = generate(tmp, seed=0, num_train_ids=ids, num_test_ids=ids, height=height,
                       width=width, workers=workers, progress=False)  # fmt: skip
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        count = sum(1 for _ in out.glob("*/*.jpg"))
    return count, seconds, cpu


def bench_in_memory(count: int, height: int, width: int) -> float:
    """Images/s of render + JPEG + PNG encoding into memory, one process, no files."""
    ids, cams = sample_identities(50, seed=0), make_cameras(6, height=height, width=width)
    start = time.perf_counter()
    for n in range(count):
        img, mask = render(ids[n % 50], cams[n % 6], view=VIEWS[n % 4], pose_phase=n / count,
                           seed=n, height=height, width=width)  # fmt: skip
        Image.fromarray(img).save(io.BytesIO(), format="JPEG", quality=90)
        Image.fromarray(mask).save(io.BytesIO(), format="PNG")
    return count / (time.perf_counter() - start)


def contact_sheet(path: Path, seed: int = 0, families: int = 3) -> None:
    """Rows: the members of ``families`` families; columns: cameras 1-6 with views
    front, back, left, right, front, back; right half: the same down-sampled to width 16."""
    ids = [i for i in sample_identities(4 * families, seed) if i.family < families]
    cams = make_cameras(6, seed=seed)
    views = ["front", "back", "left", "right", "front", "back"]
    rows = []
    for ident in ids:
        tiles = [
            render(ident, cam, view=v, pose_phase=0.15 * c, seed=c, jpeg=True)[0]
            for c, (cam, v) in enumerate(zip(cams, views, strict=True))
        ]
        low = [
            Image.fromarray(t).resize((16, 32), Image.BOX).resize((64, 128), Image.NEAREST)
            for t in tiles
        ]
        gap = np.full((128, 6, 3), 255, np.uint8)
        rows.append(np.concatenate([*tiles, gap, *map(np.asarray, low)], axis=1))
    sheet = np.concatenate(rows, axis=0)
    Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(
        path
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=100, help="train ids (and as many test ids)")
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--sheet", type=Path, default=None, help="also save a contact sheet")
    where = "where to write (a temporary folder inside it); default: the derived data root"
    parser.add_argument("--dir", type=Path, default=derived_root(), help=where)
    args = parser.parse_args()
    for workers in (1, 2):
        load = os.getloadavg()[0]
        count, seconds, cpu = bench(args.ids, workers, args.height, args.width, args.dir)
        print(f"synthetic {args.width}x{args.height}, workers={workers}: {count} images in "
              f"{seconds:.2f} s = {count / seconds:.0f} images/s; {1000 * cpu / count:.2f} "
              f"CPU ms/image (1-min load average before: {load:.2f})")  # fmt: skip
    rate = bench_in_memory(1000, args.height, args.width)
    print(f"render + encode in memory, 1 process: {rate:.0f} images/s")
    if args.sheet is not None:
        contact_sheet(args.sheet)
        print(f"contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
