"""Seconds and peak memory of CMC/mAP evaluation at Market-1501 and MSMT17 scale.

Ours: ``lib.eval.metrics.evaluate_features`` (query chunks, no full distance matrix). Reference:
a straightforward numpy implementation in the style of torchreid's ``eval_market1501``: the
full query x gallery distance matrix, then one stable argsort per query.

Every (case, implementation) runs in a fresh subprocess. Features are random but identity
structured (an identity centre plus noise), generated in blocks so that generating them
leaves no higher memory peak behind. Memory: ``ru_maxrss`` of the subprocess (peak RSS)
after evaluation minus its current RSS just before it (the features and the interpreter are
in the baseline); "total" is the absolute peak RSS of the subprocess.

    python benchmarks/bench_metrics.py            # all four cases, reference in full
    python benchmarks/bench_metrics.py --quick    # small sizes, seconds
    python benchmarks/bench_metrics.py --ref-queries 2000   # reference on 2000 queries,
                                                            # its loop time extrapolated
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name: (queries, gallery, identities, cameras)
SCALES = {
    "market": (3368, 15913, 750, 6),
    "msmt": (11659, 82161, 3060, 15),
    "quick": (400, 2000, 100, 6),
}
MAX_RANK = 50
CMC_SHOWN = 20
NOISE = 1.5  # noise std around unit-variance identity centres


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def make_problem(
    scale: str, dim: int, structured: bool = True, noise: float = NOISE, seed: int = 0
):
    """Pids (every identity in query and gallery at least once), cameras, features: an
    identity centre plus noise, or (``structured=False``) noise only, the worst case for
    ours (true matches anywhere in the ranking)."""
    num_q, num_g, num_ids, num_cams = SCALES[scale]
    rng = np.random.default_rng(seed)

    def pids(n):
        extra = rng.integers(0, num_ids, n - num_ids)
        return rng.permutation(np.concatenate([np.arange(num_ids), extra]))

    q_pids, g_pids = pids(num_q), pids(num_g)
    q_cams, g_cams = rng.integers(0, num_cams, num_q), rng.integers(0, num_cams, num_g)
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_ids, dim, generator=gen) * float(structured)

    def features(p):
        out = torch.empty(len(p), dim)
        for a in range(0, len(p), 4096):
            rows = torch.from_numpy(p[a : a + 4096])
            out[a : a + 4096] = centres[rows] + noise * torch.randn(len(rows), dim, generator=gen)
        return out

    return features(q_pids), features(g_pids), q_pids, g_pids, q_cams, g_cams


def reference_evaluate(qf, gf, q_pids, g_pids, q_cams, g_cams, num_queries=None):
    """Full distance matrix (float32), then per query: stable argsort, drop same pid and
    camera, CMC and AP. Returns the metrics over the queries evaluated and the split time."""
    t0 = time.perf_counter()
    dist = qf @ gf.T
    dist *= -2.0
    dist += (qf * qf).sum(axis=1)[:, None]
    dist += (gf * gf).sum(axis=1)[None, :]
    t1 = time.perf_counter()
    cmc_sum, aps = np.zeros(MAX_RANK), []
    for i in range(num_queries or len(qf)):
        order = np.argsort(dist[i], kind="stable")
        keep = ~((g_pids[order] == q_pids[i]) & (g_cams[order] == q_cams[i]))
        match = g_pids[order[keep]] == q_pids[i]
        if not match.any():
            continue
        hits = np.flatnonzero(match)
        if hits[0] < MAX_RANK:
            cmc_sum[hits[0] :] += 1
        aps.append(np.mean(np.arange(1, len(hits) + 1) / (hits + 1)))
    t2 = time.perf_counter()
    metrics = {"cmc": cmc_sum / len(aps), "mAP": float(np.mean(aps)), "num_valid": len(aps)}
    return metrics, t1 - t0, t2 - t1


def worker(scale: str, dim: int, impl: str, ref_queries: int | None, structured: bool) -> dict:
    qf, gf, q_pids, g_pids, q_cams, g_cams = make_problem(scale, dim, structured)
    before, peak_before = rss_mib(), peak_rss_mib()
    out = {"threads": torch.get_num_threads()}
    t0, cpu0 = time.perf_counter(), time.process_time()
    if impl == "ours":
        from lib.eval.metrics import evaluate_features

        res = evaluate_features(qf, gf, q_pids, g_pids, q_cams, g_cams, max_rank=MAX_RANK)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - cpu0
    else:
        n = min(ref_queries or len(qf), len(qf))
        res, t_dist, t_loop = reference_evaluate(
            qf.numpy(), gf.numpy(), q_pids, g_pids, q_cams, g_cams, n
        )
        out["seconds"] = t_dist + t_loop * len(qf) / n
        out["cpu_seconds"] = (time.process_time() - cpu0) * out["seconds"] / (t_dist + t_loop)
        out["ref_queries"] = n
    peak = peak_rss_mib()
    out.update(
        rss_before_mib=before,
        peak_before_mib=peak_before,
        peak_mib=peak,
        delta_mib=peak - before,
        mAP=res["mAP"],
        cmc=[float(x) for x in res["cmc"][:CMC_SHOWN]],
        num_valid=res["num_valid"],
    )
    return out


def run_case(scale: str, dim: int, impl: str, ref_queries: int | None, structured: bool) -> dict:
    cmd = [sys.executable, __file__, "--worker", scale, str(dim), impl]
    if ref_queries:
        cmd += ["--ref-queries", str(ref_queries)]
    if not structured:
        cmd += ["--unstructured"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{scale} {dim} {impl} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--scales", nargs="+", choices=sorted(SCALES), default=None)
    parser.add_argument("--dims", nargs="+", type=int, default=[256, 2048])
    parser.add_argument("--ref-queries", type=int, default=None,
                        help="reference loops over this many queries; its time is extrapolated")  # fmt: skip
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--unstructured", action="store_true",
                        help="features without identity structure (worst case for ours)")  # fmt: skip
    parser.add_argument(
        "--worker", nargs=3, metavar=("SCALE", "DIM", "IMPL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        scale, dim, impl = args.worker
        print(json.dumps(worker(scale, int(dim), impl, args.ref_queries, not args.unstructured)))
        return

    scales = args.scales or (["quick"] if args.quick else ["market", "msmt"])
    impls = ["ours"] if args.no_reference else ["ours", "reference"]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, max_rank {MAX_RANK}, "
          f"features {'unstructured' if args.unstructured else 'identity-structured'}, "
          f"load average {os.getloadavg()[0]:.1f} (other processes share the CPUs)")  # fmt: skip
    header = (
        f"{'case':<24}{'impl':<11}{'wall s':>8}{'CPU s':>8}{'peak dRSS MiB':>15}"
        f"{'total MiB':>11}{'mAP':>9}{'R1':>8}"
    )
    print(header)
    for scale in scales:
        num_q, num_g, num_ids, num_cams = SCALES[scale]
        for dim in args.dims:
            case = f"{scale} {num_q}x{num_g} d{dim}"
            results = {}
            for impl in impls:
                r = results[impl] = run_case(
                    scale, dim, impl, args.ref_queries, not args.unstructured
                )
                note = ""
                if r.get("ref_queries", num_q) < num_q:
                    note = f"  (loop over {r['ref_queries']} queries, time extrapolated; metrics on those)"
                if r["peak_mib"] <= r["peak_before_mib"]:
                    note += "  (peak not above the pre-evaluation peak: delta is an upper bound)"
                print(f"{case:<24}{impl:<11}{r['seconds']:>8.1f}{r['cpu_seconds']:>8.1f}{r['delta_mib']:>15.0f}"
                      f"{r['peak_mib']:>11.0f}{r['mAP']:>9.4f}{r['cmc'][0]:>8.4f}{note}")  # fmt: skip
            if len(results) == 2 and results["reference"].get("ref_queries", num_q) == num_q:
                ours, ref = results["ours"], results["reference"]
                d_map = abs(ours["mAP"] - ref["mAP"])
                d_cmc = max(abs(a - b) for a, b in zip(ours["cmc"], ref["cmc"], strict=True))
                print(f"{'':<24}agreement: |dmAP| {d_map:.2e}, max |dCMC@1..{CMC_SHOWN}| "
                      f"{d_cmc:.2e}, valid {ours['num_valid']} vs {ref['num_valid']}; "
                      f"speed-up x{ref['seconds'] / ours['seconds']:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
