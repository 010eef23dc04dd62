"""The one prepared GPU check (issue #24): what the first lent GPU should tell us, in one run.

Four sections, each timed and written to ``<out>/gpu_check.json`` as soon as it ends (a
timeout keeps what finished; a section that fails records its error and the next one runs):

1. ``models``: forward + backward + SGD images/s of ResNet, RIFE and FFSR+RIFE (ResNet-50
   trunk) at 256x128 under bf16 autocast with channels_last
   (:func:`benchmarks.bench_models.images_per_second`), and the RIFE/ResNet cost ratio.
2. ``training``: ``--steps`` steps of the joint stage of FFSR+RIFE at the ``paper`` profile's
   shapes (384x128, batch 32, its workers) on the embedded dataset, through the project's own
   epoch loop (:func:`lib.train.engine.train_one_epoch`: bf16 where supported, the lean step):
   finite loss, images/s, peak GPU memory, and GPU utilisation sampled by ``nvidia-smi``
   where it exists. The trunk starts from random weights (the machine is offline; speed does
   not depend on the start).
3. ``evaluation``: CMC/mAP at MSMT17 scale (11,659 queries x 82,161 gallery, 256-d) on the
   GPU (:func:`lib.eval.metrics.evaluate_features`), seconds, and the first ``--check-queries``
   queries compared with the same evaluation on the CPU.
4. ``torchrun``: ``torchrun --nproc_per_node=1 -m lib pipeline`` (smoke profile, FFSR+RIFE,
   NCCL on CUDA) end to end: exit code and seconds.

Without CUDA it prints "no CUDA device" and exits 0 (``scripts/gpu_check.sh``).
``--device cpu --quick`` runs every section at toy sizes, so that the code paths are tested
here before a GPU ever runs them (``tests/test_gpu_check.py``).

    python benchmarks/gpu_check.py --out "$OUT"
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

NO_CUDA = "no CUDA device: the GPU check needs one; nothing was run"


def models_section(device: torch.device, quick: bool) -> dict:
    """Section 1: training throughput of the three networks and their cost ratios."""
    from bench_models import images_per_second

    size, batch, iters = ((64, 32), 4, 1) if quick else ((256, 128), 32, 20)
    backbone = "resnet10" if quick else "resnet50"
    speed = {
        name: round(images_per_second(name, size, device, batch, iters, backbone, repeats=3), 1)
        for name in ("resnet", "rife", "ffsr_rife")
    }
    return {
        "input": f"{size[0]}x{size[1]}",
        "backbone": backbone,
        "batch": batch,
        "images_per_s": speed,
        "rife_over_resnet_cost": round(speed["resnet"] / speed["rife"], 3),
        "ffsr_rife_over_resnet_cost": round(speed["resnet"] / speed["ffsr_rife"], 3),
    }


class _GpuSampler:
    """``nvidia-smi`` utilisation samples every 200 ms while the ``with`` block runs (none
    where ``nvidia-smi`` is absent)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._proc = None

    def __enter__(self) -> _GpuSampler:
        if shutil.which("nvidia-smi"):
            cmd = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                   "-lms", "200"]  # fmt: skip
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._proc.stdout:
            try:
                self.samples.append(float(line.strip().split(",")[0]))
            except ValueError:
                pass

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._reader.join(timeout=5)


def training_section(device: torch.device, steps: int, quick: bool) -> dict:
    """Section 2: ``steps`` joint steps of FFSR+RIFE through the project's epoch loop."""
    from lib import profiles
    from lib.data.prepare import prepare
    from lib.train import build_network, epoch_loader, train_dataset
    from lib.train.distributed import autocast_dtype
    from lib.train.engine import optimizer_for, train_one_epoch
    from lib.train.runs import stage_config

    name = "smoke" if quick else "paper"
    profile = profiles.get(name, pretrained=False)
    height, width = profile.input_size
    synthetic = {"num_train_ids": 8 if quick else 64, "num_test_ids": 2, "height": height,
                 "width": width}  # fmt: skip
    config = stage_config(profile, "joint", "ffsr_rife", "vr_synthetic", synthetic=synthetic,
                          workers=0 if quick else profile.workers)  # fmt: skip
    start = time.perf_counter()
    split = prepare("vr_synthetic", synthetic=config.synthetic, seed=0)
    data_seconds = time.perf_counter() - start
    torch.manual_seed(0)
    model = build_network(config, split.num_train_pids).to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats(device)
    optimizer = optimizer_for(config.optim, config.spec.trainable(model))
    dataset = train_dataset(config, split)
    cuda = device.type == "cuda"

    def batches():  # epochs of the embedded data, cut at ``steps`` steps
        for epoch in itertools.count():
            yield from epoch_loader(dataset, config, epoch, pin_memory=cuda, device=device)

    loader = list(itertools.islice(batches(), 2))  # warm-up: allocations, cuDNN autotuning
    amp = autocast_dtype(device) is not None
    train_one_epoch(model, model, config.spec, loader, optimizer, config, 0, device=device,
                    amp=amp, progress=False)  # fmt: skip
    if cuda:
        torch.cuda.synchronize(device)
    with _GpuSampler() as sampler:
        row = train_one_epoch(
            model, model, config.spec, itertools.islice(batches(), steps), optimizer, config, 0,
            device=device, amp=amp, progress=False,
        )  # fmt: skip
        if cuda:
            torch.cuda.synchronize(device)
    losses = {k: v for k, v in row.items() if k.startswith("loss_")}
    return {
        "profile": name,
        "input": f"{height}x{width}",
        "batch": config.optim.batch_size,
        "workers": config.workers,
        "steps": steps,
        "autocast_bf16": amp,
        "data_build_seconds": round(data_seconds, 1),
        "seconds": row["seconds"],
        "images_per_s": row["images_per_second"],
        "finite_loss": all(v == v and abs(v) != float("inf") for v in losses.values()),
        "losses": {k: round(v, 4) for k, v in losses.items()},
        "peak_memory_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
        if cuda
        else None,
        "gpu_utilisation_mean": round(sum(sampler.samples) / len(sampler.samples), 1)
        if sampler.samples
        else None,
        "gpu_utilisation_samples": len(sampler.samples),
    }


def evaluation_section(device: torch.device, check_queries: int, quick: bool) -> dict:
    """Section 3: market-protocol evaluation at MSMT17 scale on ``device``, and its first
    ``check_queries`` queries against the CPU."""
    from bench_metrics import make_problem

    from lib.eval.metrics import evaluate_features

    scale = "quick" if quick else "msmt"
    qf, gf, qp, gp, qc, gc = make_problem(scale, 256)
    start = time.perf_counter()
    result = evaluate_features(qf.to(device), gf.to(device), qp, gp, qc, gc)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    n = min(check_queries, len(qp))
    on_device = evaluate_features(qf[:n].to(device), gf.to(device), qp[:n], gp, qc[:n], gc)
    on_cpu = evaluate_features(qf[:n], gf, qp[:n], gp, qc[:n], gc)
    return {
        "queries": len(qp),
        "gallery": len(gp),
        "dim": 256,
        "seconds": round(seconds, 2),
        "rank1": round(float(result["cmc"][0]) * 100, 3),
        "mAP": round(float(result["mAP"]) * 100, 3),
        "checked_queries": n,
        "rank1_device_vs_cpu": [float(on_device["cmc"][0]), float(on_cpu["cmc"][0])],
        "mAP_abs_difference": abs(float(on_device["mAP"]) - float(on_cpu["mAP"])),
        "cmc_equal": bool((on_device["cmc"] == on_cpu["cmc"]).all()),
    }


def torchrun_section(device: torch.device, runs: Path) -> dict:
    """Section 4: the smoke pipeline of FFSR+RIFE under ``torchrun --nproc_per_node=1``."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=1", "-m", "lib",
           "pipeline", "--profile", "smoke", "--model", "ffsr_rife", "--dataset",
           "vr_synthetic", "--device", device.type, "--runs", str(runs), "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return {
        "command": " ".join(cmd[1:]),
        "returncode": proc.returncode,
        "seconds": round(time.perf_counter() - start, 1),
        "output_tail": (proc.stdout + proc.stderr)[-1500:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "runs" / "gpu_check"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--check-queries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="toy sizes (tests on a CPU)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(NO_CUDA)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "quick": args.quick,
    }
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        report["bf16_supported"] = torch.cuda.is_bf16_supported()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("RIPR_DERIVED", str(Path(tmp) / "derived"))
        sections = {
            "models": lambda: models_section(device, args.quick),
            "training": lambda: training_section(device, args.steps, args.quick),
            "evaluation": lambda: evaluation_section(device, args.check_queries, args.quick),
            "torchrun": lambda: torchrun_section(device, Path(tmp) / "runs"),
        }
        for name, section in sections.items():
            start = time.perf_counter()
            try:
                report[name] = section()
            except Exception as exc:  # one failed section must not hide the others' figures
                report[name] = {"error": f"{type(exc).__name__}: {exc}",
                                "traceback": traceback.format_exc()[-2000:]}  # fmt: skip
            report[name]["section_seconds"] = round(time.perf_counter() - start, 1)
            (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
            print(f"{name}: {json.dumps(report[name])[:600]}", flush=True)
    failed = [n for n in sections if "error" in report[n]]
    failed += ["torchrun"] if report["torchrun"].get("returncode") not in (0, None) else []
    print(f"wrote {out / 'gpu_check.json'}; failed sections: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
