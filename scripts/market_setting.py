"""The measurement that fixed the market profile: the baseline alone on VR-Market1501.

Usage: python scripts/market_setting.py [--data-root ../shared/datasets] [--seeds 0 1 2]
       [--candidates NAME ...] [--processes 2]

Before any method was compared, the single-stream baseline (Table 3's "ResNet50" row: the
extractor stage, bilinear up-sampling in front) was trained on VR-Market1501 for each
candidate trunk, initialisation and input size, with the market profile's extractor settings
(SGD lr 0.01, /10 after epoch 7, 10 epochs, batch 32), as parallel one-thread jobs
(:mod:`lib.train.parallel`); finished runs are reused. Writes
``figures/market_setting.csv``: per candidate and seed, Rank-1, mAP (%), training seconds and
seconds per epoch, and prints the mean per candidate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CANDIDATES = {
    "mobilenetv2-imagenet-64x32": ("--backbone", "mobilenetv2", "--pretrained", "--input", "64x32"),
    "mobilenetv2-imagenet-128x64": ("--backbone", "mobilenetv2", "--pretrained", "--input", "128x64"),
    "resnet10-scratch-64x32": ("--backbone", "resnet10", "--no-pretrained", "--input", "64x32"),
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from lib.settings import from_environment
    from lib.train.parallel import Job, run_jobs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/datasets")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    common = ("train", "--profile", "market", "--stage", "extractor", "--model", "resnet",
              "--dataset", "vr_market1501", "--data-root", args.data_root, "--device", "cpu",
              "--quiet")  # fmt: skip
    jobs = [
        Job(f"{name}-s{seed}", (*common, *CANDIDATES[name], "--seed", str(seed)))
        for name in args.candidates
        for seed in args.seeds
    ]
    results = run_jobs(jobs, from_environment().runs / "market" / "logs", processes=args.processes)
    rows = []
    for job in jobs:
        name, seed = job.name.rsplit("-s", 1)
        result = results[job.name]
        config = json.loads((Path(result["dir"]) / "config.json").read_text())
        rows.append(
            {
                "candidate": name,
                "backbone": config["backbone"],
                "pretrained": config["pretrained"],
                "input": "x".join(map(str, config["input_size"])),
                "seed": int(seed),
                "rank1": round(100 * result["rank1"], 4),
                "mAP": round(100 * result["mAP"], 4),
                "train_seconds": result["train_seconds"],
                "seconds_per_epoch": round(result["train_seconds"] / result["epochs"], 1),
                "cpu_threads": result["cpu_threads"],
            }
        )
    frame = pd.DataFrame(rows)
    path = from_environment().output / "figures" / "market_setting.csv"
    if path.is_file():  # keep the candidates and seeds measured before
        old = pd.read_csv(path)
        keep = ~old.set_index(["candidate", "seed"]).index.isin(
            frame.set_index(["candidate", "seed"]).index
        )
        frame = pd.concat([old[keep], frame]).sort_values(["candidate", "seed"])
    frame.to_csv(path, index=False)
    summary = frame.groupby("candidate")[["rank1", "mAP", "seconds_per_epoch"]].agg(["mean", "std"])
    summary["n"] = frame.groupby("candidate")["seed"].nunique()
    print(summary.round(2).to_string())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
