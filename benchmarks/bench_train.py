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
GFLOP/s = FLOPs per image x images/s. ``gemm_gflops`` and ``gemm_gflops_bf16``: a 2048x2048 matrix product in float32 and in
bfloat16 on two threads, measured in the same run; ``fraction_of_gemm`` compares the
one-process, two-thread step with the peak of its precision (bfloat16's for a step autocast
whole, float32's for float32 and for ``bfloat16_sr``, whose extractor runs in float32). Each
network is measured in every precision of ``lib.profiles.PRECISIONS`` that applies to it
(``bfloat16_sr`` to the joint steps, which have an SR module); the market profile's joint
steps (FFSR+MobileNetV2, FFSR+RIFE-MobileNetV2 at 128x64) are among them.
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
    "ffsr_mobilenetv2": ("ffsr_resnet", "mobilenetv2", True, (128, 64), "joint"),
    "ffsr_rife_mobilenetv2": ("ffsr_rife", "mobilenetv2", True, (128, 64), "joint"),
}
# lib.profiles.PRECISIONS a network is measured in: bfloat16_sr only where it has an SR module
PRECISIONS = ("float32", "bfloat16", "bfloat16_sr")
BATCH = 32


def precisions_of(name: str) -> tuple[str, ...]:
    """The precisions network ``name`` is measured in (``bfloat16_sr`` where it has an SR
    module, i.e. trains jointly)."""
    joint = NETWORKS[name][4] == "joint"
    return tuple(p for p in PRECISIONS if joint or p != "bfloat16_sr")


def gemm_gflops(size: int = 2048, repeats: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of a ``size`` x ``size`` matrix product in ``dtype`` (2 n^3 FLOPs), best of
    ``repeats``, at the current thread count."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _setup(name: str, data: Path, precision: str = "float32"):
    """(model, stage, config, batches) of one network's training step on the embedded data."""
    from lib import profiles
    from lib.data.prepare import prepare
    from lib.train import build_network, epoch_loader, train_dataset
    from lib.train.engine import optimizer_for
    from lib.train.runs import stage_config

    model_name, backbone, pretrained, size, stage = NETWORKS[name]
    profile = profiles.get("cpu", backbone=backbone, pretrained=pretrained, precision=precision)
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
    from lib.train.precision import step_precision

    if channels_last:
        batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
    amp, sr_precision = step_precision(config, model, "cpu")  # as fit trains the run
    with sr_precision:
        terms = config.spec.loss(model, batch, config, torch.device("cpu"), amp)
    optimizer.zero_grad(set_to_none=True)
    terms["total"].backward()
    optimizer.step()


def measure(name: str, steps: int, channels_last: bool = False, precision: str = "float32") -> dict:
    """Images/s of ``steps`` full training steps (after two warm-up steps, the data path
    included) and the FLOPs of one step per image, at the current thread count; with
    ``channels_last`` the model and each batch in that memory format (as ``fit`` trains a
    profile whose ``memory_format`` is ``"channels_last"``), in ``precision``
    (:mod:`lib.train.precision`, as ``fit`` trains it)."""
    from torch.utils.flop_counter import FlopCounterMode

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RIPR_DERIVED"] = tmp
        model, config, optimizer, loader = _setup(name, Path(tmp), precision)
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


def _command(name: str, steps: int, channels_last: bool, precision: str) -> list[str]:
    flag = ["--channels-last"] if channels_last else []
    return [sys.executable, __file__, "--worker", name, "--steps", str(steps),
            "--precision", precision, *flag]  # fmt: skip


def _worker(name: str, steps: int, threads: int, channels_last: bool, precision: str) -> dict:
    """``measure`` in a fresh process with ``threads`` threads (its own environment)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        _command(name, steps, channels_last, precision),
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _pair(name: str, steps: int, channels_last: bool, precision: str) -> float:
    """Images/s of two copies of the step at once, one thread each, summed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = _command(name, steps, channels_last, precision)
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]  # fmt: skip
    return sum(json.loads(p.communicate()[0].strip().splitlines()[-1])["images_per_s"]
               for p in procs)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--only", nargs="+", choices=list(NETWORKS))
    parser.add_argument(
        "--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS),
        help="precisions to measure (each network in those that apply to it)",
    )  # fmt: skip
    parser.add_argument(
        "--channels-last", action="store_true", help="model and batches in channels_last"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.steps, args.channels_last, args.precision)))
        return 0
    torch.set_num_threads(2)
    gemm = {"float32": gemm_gflops(), "bfloat16": gemm_gflops(dtype=torch.bfloat16)}
    rows = []
    for name in args.only or NETWORKS:
        for precision in (p for p in precisions_of(name) if p in args.precisions):
            one = _worker(name, args.steps, 2, args.channels_last, precision)
            gflops = one["flops_per_image"] * one["images_per_s"] / 1e9
            # the matching peak: bf16's where the whole step is autocast, else float32's
            peak = gemm["bfloat16" if precision == "bfloat16" else "float32"]
            height, width = NETWORKS[name][3]
            rows.append(
                {
                    "name": name,
                    "precision": precision,
                    "input": f"{height}x{width}",
                    "images_per_s_1x2": round(one["images_per_s"], 1),
                    "images_per_s_2x1": round(
                        _pair(name, args.steps, args.channels_last, precision), 1
                    ),
                    "gflops": round(gflops, 2),
                    "fraction_of_gemm": round(gflops / peak, 3),
                    "gflop_per_image": round(one["flops_per_image"] / 1e9, 3),
                }
            )
    result = {
        "gemm_gflops": round(gemm["float32"], 1),
        "gemm_gflops_bf16": round(gemm["bfloat16"], 1),
        "batch": BATCH,
        "steps": args.steps,
        "memory_format": "channels_last" if args.channels_last else "contiguous",
        "networks": rows,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"2048x2048 GEMM, 2 threads: {gemm['float32']:.1f} GFLOP/s float32, "
              f"{gemm['bfloat16']:.1f} bfloat16")  # fmt: skip
        for r in rows:
            print(f"{r['name']:22s} {r['precision']:11s} {r['input']:7s} "
                  f"1x2 {r['images_per_s_1x2']:7.1f}/s  2x1 {r['images_per_s_2x1']:7.1f}/s  "
                  f"{r['gflops']:6.2f} GFLOP/s ({100 * r['fraction_of_gemm']:.0f}% of GEMM)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
