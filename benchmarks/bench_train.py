"""Training throughput at this machine's limit: images/s, achieved GFLOP/s and their share of a
large GEMM's, for one process with two threads and for two processes with one thread each.

Usage: python benchmarks/bench_train.py [--json] [--steps 12] [--only NAME ...]

For each network the cpu and market profiles train (ResNet-10, RIFE-10 and FFSR+RIFE-10 at
64x32; MobileNetV2 and its RIFE at 128x64, ImageNet weights), a full training step: the data
path (JPEG decoding of the embedded dataset's images, the batched resize and flips of
:mod:`lib.data.batch`, ``workers=0`` as the profiles train), forward, the stage's loss,
backward and the optimiser's step, batch 32. The FLOPs of one step are 3 x the forward's as
torch's ``FlopCounterMode`` counts them (the forward count matches a hand count with grouped
and depthwise convolutions; its backward count does not: ``tests/test_bench_train.py``);
GFLOP/s = FLOPs per image x images/s. ``gemm_gflops``: a 2048x2048 float32 matrix product on two threads, measured in the
same run; ``fraction_of_gemm`` compares the one-process, two-thread step with it.
``images_per_s_2x1`` runs two copies of the step at once, one thread each, and sums them.
Prints one JSON object with ``--json``; ``--channels-last`` measures the same steps with the
model and each batch in channels_last memory format (lib.profiles: ``memory_format``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name: (model, backbone, pretrained, input (height, width), stage)
NETWORKS = {
    "resnet10": ("resnet", "resnet10", False, (64, 32), "extractor"),
    "rife10": ("rife", "resnet10", False, (64, 32), "extractor"),
    "ffsr_rife10": ("ffsr_rife", "resnet10", False, (64, 32), "joint"),
    "mobilenetv2": ("resnet", "mobilenetv2", True, (128, 64), "extractor"),
    "rife_mobilenetv2": ("rife", "mobilenetv2", True, (128, 64), "extractor"),
}
BATCH = 32


def gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a ``size`` x ``size`` float32 matrix product (2 n^3 FLOPs), best of
    ``repeats``, at the current thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _setup(name: str, data: Path):
    """(model, stage, config, batches) of one network's training step on the embedded data."""
    from lib import profiles
    from lib.data.prepare import prepare
    from lib.train import build_network, epoch_loader, train_dataset
    from lib.train.engine import optimizer_for
    from lib.train.runs import stage_config

    model_name, backbone, pretrained, size, stage = NETWORKS[name]
    profile = profiles.get("cpu", backbone=backbone, pretrained=pretrained)
    config = stage_config(profile, stage, model_name, "vr_synthetic", input_size=size,
                          synthetic={"num_train_ids": 40, "num_test_ids": 4, "height": 128,
                                     "width": 64}, batch_size=BATCH)  # fmt: skip
    split = prepare("vr_synthetic", synthetic=config.synthetic, seed=0)
    torch.manual_seed(0)
    model = build_network(config, split.num_train_pids)
    optimizer = optimizer_for(config.optim, config.spec.trainable(model))
    loader = epoch_loader(train_dataset(config, split), config, 0)
    return model, config, optimizer, loader


def _step(model, config, optimizer, batch, channels_last: bool = False) -> None:
    if channels_last:
        batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
    terms = config.spec.loss(model, batch, config, torch.device("cpu"), False)
    optimizer.zero_grad(set_to_none=True)
    terms["total"].backward()
    optimizer.step()


def measure(name: str, steps: int, channels_last: bool = False) -> dict:
    """Images/s of ``steps`` full training steps (after two warm-up steps, the data path
    included) and the FLOPs of one step per image, at the current thread count; with
    ``channels_last`` the model and each batch in that memory format (as ``fit`` trains a
    profile whose ``memory_format`` is ``"channels_last"``)."""
    from torch.utils.flop_counter import FlopCounterMode

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RIPR_DERIVED"] = tmp
        model, config, optimizer, loader = _setup(name, Path(tmp))
        config.spec.train_mode(model)
        if channels_last:
            model.to(memory_format=torch.channels_last)
        batches = iter(loader)

        def next_batch():
            nonlocal batches
            batch = next(batches, None)
            if batch is None:
                batches = iter(loader)
                batch = next(batches)
            return batch

        batch = next_batch()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(batch["img"])
        # a step = forward + the input and weight gradients, each as costly as the forward
        # (torch's counter counts one gradient of a grouped convolution as dense: its own
        # backward count would inflate MobileNetV2's; tests/test_bench_train.py)
        flops_per_image = 3 * counter.get_total_flops() / batch["img"].shape[0]
        _step(model, config, optimizer, batch, channels_last)
        _step(model, config, optimizer, next_batch(), channels_last)
        images, start = 0, time.perf_counter()
        for _ in range(steps):
            batch = next_batch()  # the data path is inside the timing
            _step(model, config, optimizer, batch, channels_last)
            images += batch["img"].shape[0]
        seconds = time.perf_counter() - start
    return {"images_per_s": images / seconds, "flops_per_image": flops_per_image}


def _command(name: str, steps: int, channels_last: bool) -> list[str]:
    flag = ["--channels-last"] if channels_last else []
    return [sys.executable, __file__, "--worker", name, "--steps", str(steps), *flag]


def _worker(name: str, steps: int, threads: int, channels_last: bool) -> dict:
    """``measure`` in a fresh process with ``threads`` threads (its own environment)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        _command(name, steps, channels_last),
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--only", nargs="+", choices=list(NETWORKS))
    parser.add_argument(
        "--channels-last", action="store_true", help="model and batches in channels_last"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.steps, args.channels_last)))
        return 0
    torch.set_num_threads(2)
    gemm = gemm_gflops()
    rows = []
    for name in args.only or NETWORKS:
        one = _worker(name, args.steps, 2, args.channels_last)
        pair = [None, None]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen(
                _command(name, args.steps, args.channels_last),
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )  # fmt: skip
            for _ in range(2)
        ]
        for i, proc in enumerate(procs):
            stdout, _ = proc.communicate()
            pair[i] = json.loads(stdout.strip().splitlines()[-1])
        gflops = one["flops_per_image"] * one["images_per_s"] / 1e9
        height, width = NETWORKS[name][3]
        rows.append(
            {
                "name": name,
                "input": f"{height}x{width}",
                "images_per_s_1x2": round(one["images_per_s"], 1),
                "images_per_s_2x1": round(sum(p["images_per_s"] for p in pair), 1),
                "gflops": round(gflops, 2),
                "fraction_of_gemm": round(gflops / gemm, 3),
                "gflop_per_image": round(one["flops_per_image"] / 1e9, 3),
            }
        )
    result = {
        "gemm_gflops": round(gemm, 1),
        "batch": BATCH,
        "steps": args.steps,
        "memory_format": "channels_last" if args.channels_last else "contiguous",
        "networks": rows,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"2048x2048 GEMM, 2 threads: {gemm:.1f} GFLOP/s")
        for r in rows:
            print(f"{r['name']:18s} {r['input']:7s} 1x2 {r['images_per_s_1x2']:7.1f}/s  "
                  f"2x1 {r['images_per_s_2x1']:7.1f}/s  {r['gflops']:6.2f} GFLOP/s "
                  f"({100 * r['fraction_of_gemm']:.0f}% of GEMM)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
