"""lib.train.pool.run_parallel: parallel one-thread processes give, bit for bit, what a serial
one-thread run gives; a run two processes ask for at once is trained once (lib.train.runs.run_lock)."""

from __future__ import annotations

import json
import os
from functools import partial

import pytest
import torch

from lib import profiles
from lib.train.pipeline import Data, train_extractor
from lib.train.pool import run_parallel
from lib.train.runs import load_weights


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))  # the spawned processes
    return tmp_path  # inherit the environment


def _calls(seeds):
    profile = profiles.get("smoke")
    return [partial(train_extractor, profile, "resnet", Data("vr_synthetic", seed=s),
                    device="cpu", progress=False) for s in seeds]  # fmt: skip


def test_parallel_processes_equal_a_serial_one_thread_run(isolated, monkeypatch):
    monkeypatch.setenv("RIPR_RUNS", str(isolated / "parallel"))
    parallel = run_parallel(_calls([0, 1]), processes=2)
    monkeypatch.setenv("RIPR_RUNS", str(isolated / "serial"))
    threads = torch.get_num_threads()
    serial = run_parallel(_calls([0, 1]), processes=1)
    assert torch.get_num_threads() == threads  # restored
    for a, b in zip(parallel, serial, strict=True):
        assert a.dir.name == b.dir.name and a.dir != b.dir
        assert a.metrics["cpu_threads"] == b.metrics["cpu_threads"] == 1
        drop = ("train_seconds",)
        assert {k: v for k, v in a.metrics.items() if k not in drop} == {
            k: v for k, v in b.metrics.items() if k not in drop
        }
        wa, wb = load_weights(a.dir / "model.pt"), load_weights(b.dir / "model.pt")
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert parallel[0].metrics != parallel[1].metrics  # two seeds, two runs


def test_a_run_asked_for_twice_at_once_is_trained_once(isolated, monkeypatch):
    monkeypatch.setenv("RIPR_RUNS", str(isolated / "runs"))
    first, second = run_parallel(_calls([0, 0]), processes=2)
    assert first.dir == second.dir and first.metrics == second.metrics
    log = (first.dir / "log.csv").read_text().splitlines()
    epochs = json.loads((first.dir / "metrics.json").read_text())["epochs"]
    assert len(log) == 1 + epochs  # one header, each epoch once: not trained twice


def test_an_error_in_a_call_is_raised_here(isolated):
    bad = partial(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        run_parallel([partial(int, "3"), bad], processes=2)
    assert run_parallel([partial(int, "3"), partial(int, "4")], processes=2) == [3, 4]
    assert run_parallel([], processes=2) == []
    with pytest.raises(RuntimeError, match="exit code 3 and no result"):
        run_parallel([partial(os._exit, 3), partial(int, "3")], processes=2)


def test_one_call_more_than_cores_runs_all_at_once(monkeypatch):
    from lib.train import pool

    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert pool.default_processes() == 2
    assert [pool.default_processes(1, n) for n in (1, 2, 3, 4, 6)] == [2, 2, 3, 2, 2]
    assert pool.default_processes(2, 2) == 1  # two-thread processes never share a core


def test_a_pool_process_runs_calls_in_turn():
    """Two processes serve four calls: no process is started per call (each start imports
    torch and lib anew), and the results keep the calls' order."""
    pids = run_parallel([partial(os.getpid) for _ in range(4)], processes=2)
    assert len(pids) == 4 and len(set(pids)) <= 2 and os.getpid() not in pids
    assert run_parallel([partial(int, str(k)) for k in range(5)], processes=2) == list(range(5))
