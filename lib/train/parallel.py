"""Both cores busy: independent trainings as parallel processes with one thread each.

On a 2-core CPU two processes with one thread each train 1.45-1.7x more images per second
than one process with two threads (README, "Measured here"), and a seed's result is
bit-identical at a fixed thread count, so running seeds (and other independent runs) side by
side loses no determinism: a job here gives exactly what ``OMP_NUM_THREADS=1 python -m lib
...`` gives when run alone.

A :class:`Job` is one ``python -m lib`` command (``train`` or ``pipeline``) with the jobs it
must wait for (two jobs that would train the same run must not run at once: the later one then
reuses the run the earlier one finished). :func:`run_jobs` runs them, at most ``processes`` at
a time, each with its own log file; it shows one progress bar over the jobs, with each running
job's current epoch and its time left, and hands every finished job's JSON result to
``on_done`` as soon as it ends, so a caller can record it before the next one finishes. A job
that fails stops nothing else but the jobs that wait for it; the failures are raised together
at the end, each naming its log file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.settings import PROJECT_ROOT

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_EPOCH = re.compile(r"epoch (\d+)/(\d+)[^\[]*\[([\d:]+)<([\d:?]+)")


@dataclass(frozen=True)
class Job:
    """One ``python -m lib`` command: ``argv`` after ``python -m lib``; ``after`` names the
    jobs that must finish first."""

    name: str
    argv: tuple[str, ...]
    after: tuple[str, ...] = ()


class JobsFailed(RuntimeError):
    """Raised by :func:`run_jobs` when some jobs failed (their names and log files)."""


def _seconds(clock: str) -> float:
    """tqdm's ``[MM:SS]`` or ``[H:MM:SS]`` in seconds; NaN for ``?``."""
    if "?" in clock:
        return float("nan")
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


def time_left(log_text: str) -> str:
    """What a job's log says of its current run: ``"epoch 3/10, ~4m12s left"`` from the last
    tqdm line (the current epoch's time left plus the remaining epochs at this epoch's pace);
    empty where the log shows no epoch yet."""
    last = log_text.replace("\r", "\n").strip().splitlines()[-1:] or [""]
    match = _EPOCH.search(last[0])
    if not match:
        return ""
    epoch, epochs = int(match[1]), int(match[2])
    done, left = _seconds(match[3]), _seconds(match[4])
    if left != left:  # NaN: the first step, no rate yet
        return f"epoch {epoch}/{epochs}"
    total = left + (epochs - epoch) * (done + left)
    return f"epoch {epoch}/{epochs}, ~{int(total // 60)}m{int(total % 60):02d}s left"


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _check(jobs: Sequence[Job]) -> None:
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    unknown = {a for j in jobs for a in j.after} - set(names)
    if unknown:
        raise ValueError(f"jobs wait for unknown jobs: {sorted(unknown)}")


def _result(stdout: str) -> dict:
    """The JSON object ``python -m lib`` prints last."""
    return json.loads(stdout[stdout.index("\n{") + 1 :] if not stdout.startswith("{") else stdout)


def run_jobs(
    jobs: Sequence[Job],
    logs: Path,
    *,
    processes: int = 2,
    threads: int = 1,
    on_done: Callable[[Job, dict], None] | None = None,
    progress: bool = True,
    poll_seconds: float = 2.0,
) -> dict[str, dict]:
    """Run ``jobs`` (:class:`Job`) as ``python -m lib`` processes, at most ``processes`` at a
        time, each with ``threads`` CPU threads, its progress and errors in ``logs/<name>.log`` and
    its standard output in ``logs/<name>.out``; return each
        job's JSON result by name. ``on_done(job, result)`` is called in the parent as each job
        ends. Raises :class:`JobsFailed` naming the failed jobs and their logs (jobs that wait
        for a failed one are not started)."""
    _check(jobs)
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    waiting = list(jobs)
    running: dict[str, tuple[Job, subprocess.Popen, Path, float]] = {}
    results: dict[str, dict] = {}
    failed: dict[str, str] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="jobs", unit="job")
    # a SIGTERM (kill, a session's end) unwinds like Ctrl-C, so the jobs are stopped too
    # (each resumes from its last finished epoch when started again)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        while waiting or running:
            blocked = [j for j in waiting if any(a in failed for a in j.after)]
            for job in blocked:
                waiting.remove(job)
                failed[job.name] = (
                    f"not started: waits for failed {sorted(set(job.after) & set(failed))}"
                )
                if bar is not None:
                    bar.update(1)
            ready = [j for j in waiting if all(a in results for a in j.after)]
            for job in ready[: max(0, processes - len(running))]:
                waiting.remove(job)
                log = logs / f"{job.name}.log"
                command = [sys.executable, "-m", "lib", *job.argv]
                with log.open("w") as err, (logs / f"{job.name}.out").open("w") as out:
                    err.write("$ " + " ".join(command) + "\n")
                    err.flush()
                    proc = subprocess.Popen(
                        command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err, text=True
                    )
                running[job.name] = (job, proc, log, time.time())
            for name, (job, proc, log, start) in list(running.items()):
                if proc.poll() is None:
                    continue
                stdout = (logs / f"{job.name}.out").read_text()
                del running[name]
                if bar is not None:
                    bar.update(1)
                if proc.returncode != 0:
                    failed[name] = f"exit {proc.returncode}, log {log}"
                    continue
                results[name] = {**_result(stdout), "wall_seconds": round(time.time() - start, 1)}
                if on_done is not None:
                    on_done(job, results[name])
            if bar is not None:
                bar.set_postfix_str(
                    "; ".join(
                        f"{n}: {time_left(log.read_text(errors='replace')) or 'starting'}"
                        for n, (_, _, log, _) in running.items()
                    )
                )
            if running:
                time.sleep(poll_seconds)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for _, proc, _, _ in running.values():
            proc.kill()
            proc.wait()
        if bar is not None:
            bar.close()
    if failed:
        raise JobsFailed("; ".join(f"{n}: {why}" for n, why in failed.items()))
    return results
