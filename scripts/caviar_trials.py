"""CAVIAR at protocol strength: ResNet, FFSR, RIFE and FFSR+RIFE over identity-split trials.

Usage: python scripts/caviar_trials.py [--profile cpu] [--data-root ../shared/datasets]
       [--trials 10] [--sr-images FOLDER]   (what `make caviar` runs)

CAVIAR (Sec. 5.1) is real low-resolution data: LR queries from camera B against an HR
gallery from camera A, the 50 two-camera identities split in halves for training and
testing, 10 random splits. Every network is trained on each split (Table 3's pipeline; its
rows keep Table 3's names, so the baseline row is "ResNet50" whatever the profile's trunk,
which the caption names) and the per-trial records go to ``figures/caviar_seeds.csv``. The
seed is the trial's number, so the trials sample the initialisation and the SR pre-training
as well as the identity split (``--same-seed`` keeps seed 0 for every trial, as the runs
before this option did). The SR modules' MSE pre-training (the paper's "generic image set")
reads ``--sr-images``: by default the PETA persons under the data root (``<data-root>/peta``,
about 10,900 real pedestrian images of five other datasets, none of CAVIAR's), one run per
seed; where that folder is absent, each trial's CAVIAR training images. The claims table
(notebook 11) pairs the records by trial, with the corrected resampled t of Nadeau and
Bengio for the overlapping halves (:func:`lib.eval.stats.corrected_interval`). Prints mean, std
and n per row and each row's paired difference to ResNet with its 95% interval; writes
``figures/caviar.{csv,md,tex}``. Each (row, trial) trains in a one-thread process, two at a
time on a CPU (:func:`lib.experiments.records_in_parallel`). Runs are reused when present,
so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

METHODS = ("ResNet50", "FFSR", "RIFE", "FFSR+RIFE")


def main(argv: list[str] | None = None) -> int:
    from lib import profiles, report
    from lib.data.datasets import LayoutError, load
    from lib.eval.stats import paired_difference
    from lib.experiments import records_in_parallel, table3_records
    from lib.train import default_device
    from lib.train.pipeline import Data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu", choices=sorted(profiles.PROFILES))
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument(
        "--sr-images",
        help="image folder for the SR MSE pre-training (default: <data-root>/peta if present, "
        "else the CAVIAR training images)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--same-seed", action="store_true", help="seed 0 for every trial (the earlier protocol)"
    )
    args = parser.parse_args(argv)
    if args.sr_images is None:
        peta = Path(args.data_root) / "peta"
        args.sr_images = str(peta.resolve()) if peta.is_dir() else ""
    elif not Path(args.sr_images).is_dir():
        print(f"caviar_trials: --sr-images {args.sr_images} is not a folder", file=sys.stderr)
        return 1
    print("SR pre-training images:", args.sr_images or "each trial's CAVIAR training set")

    try:
        load("caviar", args.data_root, 0)
    except (FileNotFoundError, LayoutError) as error:
        print(f"caviar_trials: {error}", file=sys.stderr)
        return 1
    profile = profiles.get(args.profile)
    device = default_device() if args.device == "auto" else args.device
    start = time.time()
    replicas = [
        Data("caviar", args.data_root, trial, 0 if args.same_seed else trial, args.sr_images)
        for trial in range(args.trials)
    ]
    # every (row, trial) a one-thread process, two at a time on a CPU (lib.train.pool)
    records = records_in_parallel(table3_records, profile, replicas, METHODS, device=device)
    frame = pd.DataFrame(records)
    out = report.figures_dir(args.profile)
    report.save_records(frame, "caviar_seeds", out)
    wide = frame.pivot_table(index="trial", columns="method", values="rank1") * 100
    rows = []
    for method in METHODS:
        diff = paired_difference(wide[method], wide["ResNet50"])
        rows.append(
            {
                "method": method,
                "rank1": wide[method].mean(),
                "rank1_std": wide[method].std(ddof=1),
                "n": int(wide[method].notna().sum()),
                "vs_resnet": diff.difference,
                "ci_low": diff.ci_low,
                "ci_high": diff.ci_high,
            }
        )
    table = pd.DataFrame(rows).set_index("method").round(2)
    caption = (
        f"CAVIAR, profile {args.profile} ({profile.backbone}), {args.trials} identity-split trials, "
        f"SR pre-trained on {Path(args.sr_images).name if args.sr_images else 'CAVIAR'}: "
        "Rank-1 (%), mean, std, n, paired difference to ResNet with its 95% t-interval"
    )
    report.save_table(table, "caviar", out, caption=caption)
    print(caption)
    print(table.to_string())
    print(f"total: {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
