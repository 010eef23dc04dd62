"""A run's final evaluation with an SR module (Sec. 5): the SR module's PSNR and the ReID
metrics over the test images in two passes (``sr_quality``, then ``evaluate_model``, as
before) against one (``evaluate_model(score_sr=True)``: the ReID pass scores the SR output).

Usage: python benchmarks/bench_final_metrics.py [--json] [--dataset vr_synthetic]
       [--data-root data] [--profile cpu] [--model ffsr_rife] [--images 1024] [--repeats 3]

The joint network of ``--model`` as ``--profile`` builds it (random weights: the cost does not
depend on them), on ``--images`` query + gallery images of ``--dataset``'s test split (a quarter queries),
data path included (``workers=0``, as the cpu and market profiles evaluate); each variant's
best of ``repeats`` passes, the variants interleaved. Also checks that the two give the same
figures. Prints seconds per variant and the one-pass saving; one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _two_passes(model, split, size: tuple[int, int]) -> dict[str, float]:
    from lib.eval import evaluate_model, sr_quality

    metrics = sr_quality(model.sr, split.query + split.gallery, size)
    return {**metrics, **evaluate_model(model, split, size, draws=2)}


def _one_pass(model, split, size: tuple[int, int]) -> dict[str, float]:
    from lib.eval import evaluate_model

    return evaluate_model(model, split, size, draws=2, score_sr=True)


def _subset(split, images: int):
    """The first ``images // 4`` queries, and a gallery of ``images`` minus that many
    images: every gallery image of those queries' identities first (so each query has its
    matches, as in the whole split), then the others in order."""
    query = split.query[: min(len(split.query), images // 4)]
    pids = {s.pid for s in query}
    ranked = sorted(split.gallery, key=lambda s: s.pid not in pids)  # stable: order kept
    return replace(split, query=query, gallery=ranked[: images - len(query)])


def main(argv: list[str] | None = None) -> int:
    from lib import profiles
    from lib.data.prepare import prepare
    from lib.train import build_network
    from lib.train.runs import stage_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dataset", default="vr_synthetic")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--model", default="ffsr_rife")
    parser.add_argument("--images", type=int, default=1024, help="query + gallery images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    profile = profiles.get(args.profile)
    split = prepare(args.dataset, data_root=args.data_root, synthetic=profile.synthetic)
    split = _subset(split, args.images)
    config = stage_config(profile, "joint", args.model, args.dataset)
    torch.manual_seed(0)
    model = build_network(config, split.num_train_pids)
    size = tuple(config.input_size)
    variants = {"two_passes": _two_passes, "one_pass": _one_pass}
    best = dict.fromkeys(variants, float("inf"))
    results = {}
    for _ in range(args.repeats):
        for name, evaluate in variants.items():
            start = time.perf_counter()
            results[name] = evaluate(model, split, size)
            best[name] = min(best[name], time.perf_counter() - start)
    same = all(
        abs(results["one_pass"][k] - v) <= 1e-4 for k, v in results["two_passes"].items()
    ) and set(results["one_pass"]) == set(results["two_passes"])
    out = {
        "dataset": args.dataset,
        "profile": args.profile,
        "model": args.model,
        "input": f"{size[0]}x{size[1]}",
        "images": len(split.query) + len(split.gallery),
        "num_valid": results["one_pass"]["num_valid"],
        "threads": args.threads,
        "seconds": {k: round(v, 2) for k, v in best.items()},
        "saving": round(1 - best["one_pass"] / best["two_passes"], 3),
        "same_figures": same,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"{out['model']} {out['input']} on {out['images']} {out['dataset']} test images: "
            f"two passes {best['two_passes']:.2f} s, one pass {best['one_pass']:.2f} s "
            f"(-{100 * out['saving']:.0f}%), same figures: {same}"
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
