"""Benchmark: items/s per worker core of the training loader, per-item path against batched.

What a DataLoader worker does per item, timed on one core (torch and Pillow single-threaded,
CPU time of this process, so other load on a shared machine inflates it less than wall
time), on VR-Synthetic (lib.data.variants' ``vr_synthetic``) built from the embedded
synthetic dataset at the ``--profile``'s size (default ``smoke``: 12 + 8 identities, LR
images 8-31 px wide, their 128x64 JPEG sources and PNG masks); the items are cycled.

- before (the per-item path, ``ReIDDataset(raw=False)``): decode the LR image, its HR source
  and the mask; resize the three to the input size with Pillow and convert them to float32;
  flip / erase; collate (stack) a batch of 32; IPC (the batch pickled the way worker
  processes send it, into shared memory, and rebuilt: ``ForkingPickler``).
- after (the batched path, ``ReIDDataset(raw=True)``): decode the three files as stored
  (uint8); collate into padded uint8 canvases; IPC likewise. Resizing, the Gaussian mask,
  flips and erasing run once per batch on the training device (:func:`to_model_batch`),
  not in the workers: its time on this CPU is reported apart, for its two resizers
  (``tensor``: the integer tensor ops a GPU runs; ``pillow``: what the CPU device runs).

For a CPU run with ``workers=0`` (the cpu profile) the whole data path is in the training
process either way: its rate is given too (``cpu_device_workers0_items_per_s``; with
``after_img_only``, the extractor stage's items, which decode the image alone).

The 16-core projection is 16 x the per-core rate of the batched path: workers share nothing
but the disk, so they scale with cores until the disk or the main process limits them.

    python benchmarks/bench_loader.py           # a table
    python benchmarks/bench_loader.py --json    # one JSON object (the figures the README quotes)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from multiprocessing.reduction import ForkingPickler

import torch
from torch.utils.data import default_collate

from lib import profiles
from lib.data.batch import collate, to_model_batch
from lib.data.loader import ReIDDataset, decode, read_image, to_tensor
from lib.data.prepare import prepare

SIZES = [(384, 128), (256, 128), (64, 32)]  # (64, 32): the cpu profile trains at it
BATCH = 32


def _cpu() -> float:
    return time.process_time()


def _ipc(batch: dict) -> None:
    """What crossing from a worker costs: pickled into shared memory, rebuilt."""
    buffer = io.BytesIO()
    ForkingPickler(buffer).dump(batch)
    ForkingPickler.loads(buffer.getvalue())


def _nbytes(batch: dict) -> int:
    return sum(v.numel() * v.element_size() for v in batch.values() if torch.is_tensor(v))


def _per_item_stages(dataset: ReIDDataset, order: list[int]) -> dict[str, float]:
    """The per-item path's ``__getitem__`` taken apart (same calls), CPU seconds a stage."""
    t = dict.fromkeys(("decode", "resize", "mask", "augment", "collate", "ipc"), 0.0)
    size = dataset.input_size
    for start in range(0, len(order), BATCH):
        items = []
        for index in order[start : start + BATCH]:
            s = dataset.samples[index]
            t0 = _cpu()
            lr = read_image(s.path)
            hr = read_image(s.source) if s.source else None
            t1 = _cpu()
            img = to_tensor(lr, size)
            target = to_tensor(hr, size) if hr is not None else img.clone()
            t2 = _cpu()
            mask = to_tensor(read_image(s.mask, "L"), size) if s.mask else dataset._gaussian
            t3 = _cpu()
            if torch.rand(()) < dataset.flip:
                img, target, mask = img.flip(-1), target.flip(-1), mask.flip(-1)
            item = {"img": img, "hr": target, "mask": mask, "pid": s.pid, "camid": s.camid}
            item.update(r=torch.tensor(s.r), index=index)
            items.append(item)
            t4 = _cpu()
            t["decode"] += t1 - t0
            t["resize"] += t2 - t1
            t["mask"] += t3 - t2
            t["augment"] += t4 - t3
        t0 = _cpu()
        batch = default_collate(items)
        t1 = _cpu()
        _ipc(batch)
        t["collate"] += t1 - t0
        t["ipc"] += _cpu() - t1
    return t


def _batched_stages(dataset: ReIDDataset, order: list[int]) -> dict[str, float]:
    """The batched path's worker side taken apart, CPU seconds a stage."""
    t = dict.fromkeys(("decode", "collate", "ipc"), 0.0)
    for start in range(0, len(order), BATCH):
        t0 = _cpu()
        items = [dataset[i] for i in order[start : start + BATCH]]
        t1 = _cpu()
        batch = collate(items)
        t2 = _cpu()
        _ipc(batch)
        t["decode"] += t1 - t0
        t["collate"] += t2 - t1
        t["ipc"] += _cpu() - t2
    return t


def _worker_rate(dataset: ReIDDataset, order: list[int], collate_fn) -> tuple[float, float]:
    """(items per CPU second, items per wall second) of a worker's whole job: __getitem__,
    collate and IPC, batch after batch."""
    c0, w0 = _cpu(), time.perf_counter()
    for start in range(0, len(order), BATCH):
        _ipc(collate_fn([dataset[i] for i in order[start : start + BATCH]]))
    return len(order) / (_cpu() - c0), len(order) / (time.perf_counter() - w0)


def _one_process_rate(per_item, batched, order: list[int]) -> dict[str, float]:
    """Items per CPU second of the whole data path in the training process, as a CPU run
    with ``workers=0`` has it: the per-item path, and the batched path with its CPU
    resizer (decode, collate, :func:`to_model_batch`); ``after_img_only``: the batched path
    as Eq. 9's extractor step reads it (``targets=False``: no HR source or mask decoded)."""
    rates = {}
    img_only = ReIDDataset(batched.samples, batched.input_size, train=True, raw=True,
                           targets=False)  # fmt: skip
    for name, dataset in (("before", per_item), ("after", batched), ("after_img_only", img_only)):
        c0 = _cpu()
        for start in range(0, len(order), BATCH):
            items = [dataset[i] for i in order[start : start + BATCH]]
            if name == "before":
                default_collate(items)
            else:
                to_model_batch(collate(items), dataset.input_size, "cpu", True)
        rates[name] = round(len(order) / (_cpu() - c0), 1)
    return rates


def _shares(stages: dict[str, float]) -> dict[str, float]:
    total = sum(stages.values())
    return {k: round(v / total, 3) for k, v in stages.items()}


def measure(split, size: tuple[int, int], items: int, repeats: int) -> dict:
    """Both paths at one input size, in this run: per-core rates (best of ``repeats``),
    stage shares, bytes per batch, and the device side of the batched path on this CPU."""
    pool = split.train + split.query + split.gallery
    order = [i % len(pool) for i in range(items)]
    per_item = ReIDDataset(pool, size, train=True, mask="auto", raw=False)
    batched = ReIDDataset(pool, size, train=True, mask="auto", raw=True)
    _worker_rate(batched, order[:BATCH], collate)  # warm the page cache
    before = max(_worker_rate(per_item, order, default_collate) for _ in range(repeats))
    after = max(_worker_rate(batched, order, collate) for _ in range(repeats))
    raw = collate([batched[i] for i in order[:BATCH]])
    device_ms = {}
    for method in ("tensor", "pillow"):
        to_model_batch(raw, size, "cpu", True, resize=method)  # taps, pass orders cached
        c0 = _cpu()
        for _ in range(3):
            to_model_batch(raw, size, "cpu", True, resize=method)
        device_ms[method] = round((_cpu() - c0) / 3 * 1000, 1)
    return {
        "items_per_s_per_core_before": round(before[0], 1),
        "items_per_s_per_core_after": round(after[0], 1),
        "speedup": round(after[0] / before[0], 2),
        "wall_items_per_s_before": round(before[1], 1),
        "wall_items_per_s_after": round(after[1], 1),
        "shares_before": _shares(_per_item_stages(per_item, order)),
        "shares_after": _shares(_batched_stages(batched, order)),
        "bytes_per_batch_before": _nbytes(default_collate([per_item[i] for i in order[:BATCH]])),
        "bytes_per_batch_after": _nbytes(raw),
        "device_side_ms_per_batch_on_this_cpu": device_ms,
        "cpu_device_workers0_items_per_s": _one_process_rate(per_item, batched, order),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", default="smoke", help="its synthetic dataset's size")
    parser.add_argument("--items", type=int, default=640, help="items per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one worker core
    profile = profiles.get(args.profile)
    split = prepare("vr_synthetic", synthetic=profile.synthetic, seed=0)
    pool = split.train + split.query + split.gallery
    widths = [decode(s.path).shape[2] for s in pool]
    start = time.perf_counter()
    results = {f"{h}x{w}": measure(split, (h, w), args.items, args.repeats) for h, w in SIZES}
    main_size = results["384x128"]
    out = {
        "items_per_s_per_core_before": main_size["items_per_s_per_core_before"],
        "items_per_s_per_core_after": main_size["items_per_s_per_core_after"],
        "speedup_384x128": main_size["speedup"],
        "projected_items_per_s_16_cores": round(16 * main_size["items_per_s_per_core_after"]),
        "projected_items_per_s_16_cores_before": round(
            16 * main_size["items_per_s_per_core_before"]
        ),
        "sizes": results,
        "data": {
            "variant": "vr_synthetic",
            "synthetic": f"profile {args.profile}: {profile.synthetic}",
            "images": len(pool),
            "lr_width_px": [int(min(widths)), int(max(widths))],
            "hr_size": list(decode(pool[0].hr_path).shape[1:]),
            "items_per_measurement": args.items,
            "batch": BATCH,
        },
        "timing": "CPU seconds of this process, torch.set_num_threads(1); best of "
        f"{args.repeats}; wall-clock rates beside them",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"data: {out['data']}\nmachine: {out['machine']}\ntiming: {out['timing']}")
    for name, r in results.items():
        print(f"\n{name}: items/s per core {r['items_per_s_per_core_before']} (per item) -> "
              f"{r['items_per_s_per_core_after']} (batched), x{r['speedup']}")  # fmt: skip
        print(f"  shares before: {r['shares_before']}\n  shares after:  {r['shares_after']}")
        print(f"  bytes/batch: {r['bytes_per_batch_before']:,} -> {r['bytes_per_batch_after']:,}")
        print(f"  device side on this CPU, ms/batch: {r['device_side_ms_per_batch_on_this_cpu']}")
        print(f"  CPU device, workers=0, items/s: {r['cpu_device_workers0_items_per_s']}")
    print(f"\nprojection, 16 cores (batched): {out['projected_items_per_s_16_cores']:,} items/s")


if __name__ == "__main__":
    main()
