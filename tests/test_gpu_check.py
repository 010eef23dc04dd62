"""The prepared GPU check (scripts/gpu_check.sh, benchmarks/gpu_check.py): it must say so and
exit 0 without CUDA, and every section's code path must run (on a CPU, at toy sizes) before a
GPU ever runs it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_check  # noqa: E402


def test_script_without_cuda_says_so_and_exits_zero(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OUT": str(tmp_path)}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "no CUDA device" in proc.stdout
    assert not (tmp_path / "gpu_check.json").exists()  # nothing ran, nothing claimed


def test_every_section_runs_on_cpu_at_toy_sizes(tmp_path, monkeypatch):
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    argv = ["--device", "cpu", "--quick", "--steps", "2", "--check-queries", "40",
            "--out", str(tmp_path)]  # fmt: skip
    assert gpu_check.main(argv) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["device"] == "cpu" and report["quick"] is True
    models = report["models"]
    assert set(models["images_per_s"]) == {"resnet", "rife", "ffsr_rife"}
    assert all(v > 0 for v in models["images_per_s"].values())
    ratio = models["images_per_s"]["resnet"] / models["images_per_s"]["rife"]
    assert abs(models["rife_over_resnet_cost"] - ratio) < 0.01
    training = report["training"]
    assert training["steps"] == 2 and training["finite_loss"] is True
    assert {"loss_total", "loss_ffsr", "loss_reid"} <= set(training["losses"])
    evaluation = report["evaluation"]
    assert evaluation["checked_queries"] == 40 and evaluation["cmc_equal"] is True
    assert evaluation["mAP_abs_difference"] == 0.0
    assert report["torchrun"]["returncode"] == 0, report["torchrun"]["output_tail"]


def test_gpu_sampler_reads_nvidia_smi_lines(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '57\\n63\\nN/A\\n'\nsleep 30\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with gpu_check._GpuSampler() as sampler:
        deadline = time.monotonic() + 10
        while len(sampler.samples) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sampler.samples == [57.0, 63.0]  # "N/A" is no sample


def test_a_failing_section_is_recorded_and_the_others_still_run(tmp_path, monkeypatch):
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))

    def broken(*args, **kwargs):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(gpu_check, "models_section", broken)
    monkeypatch.setattr(gpu_check, "torchrun_section", lambda device, runs: {"returncode": 0})
    argv = ["--device", "cpu", "--quick", "--steps", "1", "--check-queries", "10",
            "--out", str(tmp_path)]  # fmt: skip
    assert gpu_check.main(argv) == 1
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["models"]["error"] == "RuntimeError: planted failure"
    assert report["training"]["finite_loss"] is True
    assert report["evaluation"]["cmc_equal"] is True
