"""lib.train.parallel: jobs as one-thread processes, in dependency order, results as they end,
and exactly the weights of a one-thread run made alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lib.train.parallel import Job, JobsFailed, run_jobs, time_left

ROOT = Path(__file__).resolve().parents[1]


def test_time_left_reads_the_last_progress_line() -> None:
    log = (
        "$ python -m lib pipeline\r"
        "extractor resnet epoch 1/10:  50%|#####     | 202/404 [00:30<00:30,  6.7it/s]\r"
        "extractor resnet epoch 3/10:  25%|##        | 101/404 [00:20<01:00,  5.0it/s]"
    )
    # the current epoch's 60 s, then 7 more epochs of 80 s each
    assert time_left(log) == "epoch 3/10, ~10m20s left"
    assert time_left("extractor resnet epoch 1/4:   0%|  | 0/9 [00:00<?, ?it/s]") == "epoch 1/4"
    assert time_left("building the variant") == "" and time_left("") == ""


def test_unknown_dependencies_and_repeated_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown jobs"):
        run_jobs([Job("a", ("train",), after=("b",))], tmp_path, progress=False)
    with pytest.raises(ValueError, match="unique"):
        run_jobs([Job("a", ("train",)), Job("a", ("train",))], tmp_path, progress=False)


def test_a_failed_job_stops_only_what_waits_for_it(tmp_path: Path) -> None:
    bad = Job("bad", ("train", "--stage", "nope", "--model", "resnet"))
    waits = Job("waits", ("train", "--stage", "extractor", "--model", "resnet"), after=("bad",))
    with pytest.raises(JobsFailed) as error:
        run_jobs([bad, waits], tmp_path / "logs", progress=False, poll_seconds=0.1)
    message = str(error.value)
    assert "bad: exit 2" in message and str(tmp_path / "logs" / "bad.log") in message
    assert "waits: not started" in message
    assert "invalid choice: 'nope'" in (tmp_path / "logs" / "bad.log").read_text()


def _weights(folder: Path) -> dict:
    return torch.load(folder / "model.pt", map_location="cpu", weights_only=True)


def test_parallel_seeds_equal_a_one_thread_run_alone_bit_for_bit(tmp_path: Path) -> None:
    """Two seeds side by side (one thread each), then seed 1 alone with one thread: the same
    weights and metrics, to the bit; results reach ``on_done`` in the order jobs end."""
    env = {**os.environ, "RIPR_DERIVED": str(tmp_path / "derived")}
    os.environ.update(RIPR_DERIVED=env["RIPR_DERIVED"])
    try:
        common = ("--stage", "extractor", "--model", "resnet", "--profile", "smoke",
                  "--device", "cpu", "--quiet", "--runs", str(tmp_path / "parallel"))  # fmt: skip
        jobs = [Job(f"s{seed}", ("train", *common, "--seed", str(seed))) for seed in (0, 1)]
        seen = []
        results = run_jobs(
            jobs, tmp_path / "logs", progress=False, poll_seconds=0.2,
            on_done=lambda job, result: seen.append(job.name),
        )  # fmt: skip
    finally:
        del os.environ["RIPR_DERIVED"]
    assert sorted(seen) == ["s0", "s1"] and set(results) == {"s0", "s1"}
    assert results["s0"]["cpu_threads"] == 1 and results["s1"]["cpu_threads"] == 1
    alone = subprocess.run(
        [sys.executable, "-m", "lib", "train", *common[:-1], str(tmp_path / "alone"),
         "--seed", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**env, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert alone.returncode == 0, alone.stderr[-2000:]
    parallel_dir = Path(results["s1"]["dir"])
    alone_dir = tmp_path / "alone" / "smoke" / parallel_dir.name  # same settings, same key
    a, b = _weights(parallel_dir), _weights(alone_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    seed0 = _weights(Path(results["s0"]["dir"]))
    assert any(not torch.equal(seed0[k], a[k]) for k in a)  # the seeds did differ


def test_a_terminated_runner_stops_its_jobs(tmp_path: Path) -> None:
    """SIGTERM to the process running the jobs ends the jobs too (none is left orphaned)."""
    import signal
    import time

    script = (
        "import sys; from pathlib import Path; from lib.train.parallel import Job, run_jobs;"
        "run_jobs([Job('slow', ('pipeline', '--model', 'resnet', '--device', 'cpu', '--runs', "
        f"'{tmp_path / 'runs'}'))], Path('{tmp_path / 'logs'}'), progress=False, poll_seconds=0.1)"
    )
    runner = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT),
                                   "RIPR_DERIVED": str(tmp_path / "derived")})  # fmt: skip
    log = tmp_path / "logs" / "slow.log"
    deadline = time.time() + 60
    while not log.is_file() and time.time() < deadline:
        time.sleep(0.1)
    child = subprocess.run(["pgrep", "-P", str(runner.pid)], capture_output=True, text=True)
    pids = [int(p) for p in child.stdout.split()]
    assert pids, "the job did not start"
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=60) == 128 + signal.SIGTERM
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
