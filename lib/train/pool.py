"""Both cores busy from a notebook: independent calls (seeds, table rows) as parallel processes.

On this project's 2-core CPU two processes with one thread each train 1.45-1.7x more images
per second than one process with two threads (README, "Measured here"). :func:`run_parallel`
runs a notebook's independent calls that way: ``processes`` spawned processes with
``threads`` torch threads each, every process running calls one after another until none is
left, results in the calls' order.

Deterministic: on a CPU every call runs at ``threads`` threads whether it runs in a pool or
in this process (``processes=1``), so a result does not depend on how many calls ran beside
it: it is bit for bit what a serial one-thread run gives (``tests/test_pool.py``). Calls that
share a run (two Table 1 rows that both need the seed's ResNet extractor) do not train it
twice: :func:`lib.train.fit` holds a lock on a run while it trains it, and the second call
reuses it. On a GPU the calls run one after another in this process, at its thread count.

A call is a picklable callable without arguments: a ``functools.partial`` of a function of
``lib`` (a notebook's own functions cannot be sent to another process)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from tqdm.auto import tqdm

T = TypeVar("T")


def _serve(tasks, results, threads: int) -> None:
    """A pool process: set ``threads`` threads, then run the calls ``tasks`` sends, one after
    another, until None; each call's start, then its result (or its error), to ``results``."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    torch.set_num_threads(threads)
    while (task := tasks.get()) is not None:
        index, call = task
        results.put(("start", index, os.getpid()))
        try:
            results.put(("done", index, (True, call())))
        except BaseException as error:  # sent back and raised in the parent
            trace = traceback.format_exc()
            try:
                pickle.dumps(error)
            except Exception:
                error = RuntimeError(f"{type(error).__name__}: {error}")
            results.put(("done", index, (False, (error, trace))))


def default_processes(threads: int = 1, calls: int | None = None) -> int:
    """As many processes as the CPU has cores for ``threads`` threads each (at least 1); all
    of ``calls`` at once where they are one more than that and run one thread each.

    Three one-thread trainings on two cores share them at 0.95x the images per second of two
    (RIFE-10 at 64x32: 252-256 against 269, alone on the machine), so a notebook's three seeds
    keep both cores busy to the end instead of leaving one idle while the third trains alone
    (README, "Measured here"). One-thread processes do not spin against each other as
    multi-thread ones do."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    slots = max(1, (cores or 1) // threads)
    if threads == 1 and calls == slots + 1:
        return calls
    return slots


def run_parallel(
    calls: Sequence[Callable[[], T]],
    *,
    device: torch.device | str | None = "cpu",
    processes: int | None = None,
    threads: int = 1,
    desc: str = "runs",
) -> list[T]:
    """``[call() for call in calls]``, the calls spread over ``processes`` (default:
    :func:`default_processes`) spawned processes with ``threads`` threads each, each running
    calls in turn, where ``device`` is a CPU; one after another in this process on another device. A
    progress bar counts finished calls. A call that raises stops the others (their processes
    are terminated; a finished run stays finished, a started one resumes from its last epoch)
    and its error is raised here, with the call's traceback as its cause."""
    calls = list(calls)
    if not calls:
        return []
    device = torch.device(device if device is not None else "cpu")
    if device.type != "cpu":
        return [call() for call in tqdm(calls, desc=desc)]
    processes = min(len(calls), processes or default_processes(threads, len(calls)))
    if processes == 1:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return [call() for call in tqdm(calls, desc=desc)]
        finally:
            torch.set_num_threads(before)
    return _in_processes(calls, processes, threads, desc)


def _in_processes(calls: list, processes: int, threads: int, desc: str) -> list:
    """The calls on ``processes`` spawned processes that each run one call after another (a
    process per call would import torch and lib anew each time: about 4 s of a core per call,
    several minutes over ``make reproduce``'s calls). In the calls' order, as before: a call
    starts when a process is free."""
    context = multiprocessing.get_context("spawn")  # fresh processes: no forked torch state
    tasks, results, out = context.Queue(), context.Queue(), [None] * len(calls)
    for item in enumerate(calls):
        tasks.put(item)
    for _ in range(processes):
        tasks.put(None)
    workers = [context.Process(target=_serve, args=(tasks, results, threads))
               for _ in range(processes)]  # fmt: skip
    for worker in workers:
        worker.start()
    current: dict[int, int] = {}  # pid -> the call it runs
    finished = 0
    bar = tqdm(total=len(calls), desc=f"{desc} ({processes} processes)")
    try:
        while finished < len(calls):
            try:
                kind, index, value = results.get(timeout=1.0)
            except queue.Empty:
                for worker in workers:
                    if not worker.is_alive() and worker.exitcode != 0:
                        call = current.get(worker.pid, "?")
                        raise RuntimeError(
                            f"call {call} of {desc} ended with exit code {worker.exitcode} "
                            "and no result (killed, out of memory?)"
                        ) from None
                continue
            if kind == "start":
                current[value] = index
                continue
            ok, result = value
            if not ok:
                error, trace = result
                raise error from RemoteTraceback(trace)
            out[index] = result
            finished += 1
            bar.update()
    finally:
        bar.close()
        for worker in workers:
            if worker.is_alive() and finished < len(calls):
                worker.terminate()
            worker.join()
    return out


class RemoteTraceback(Exception):
    """The traceback of an error raised in a pool process."""
