"""The SR module's gradient limit of joint learning, chosen before any joint run (issue "Fidelity IV").

Usage: python benchmarks/sr_limit.py --sr-run DIR --extractor-run DIR [--limits 1 2 5 10 20 50]
       [--steps 200] [--images 1024] [--json]

From the start of joint learning that the two runs give (an SR module after Eq. 5's fine-tuning, a
feature extractor after its stage; both folders under ``runs/<profile>/``), trains
``--steps`` joint steps of Eq. 4 (FFSR + that extractor, the SR run's profile and seed, SGD at the
joint stage's lr, no global clip) once per limit of the SR module's gradient norm
(``Optim.sr_grad_clip``; the extractor's gradient untouched), each from the same start and the
same batches, and measures the SR output's PSNR on the first ``--images`` test images (query
then gallery) before and after. The rule (README, "Fidelity IV"): the largest limit whose PSNR
stays within 0.1 dB of the start's; it is printed as ``chosen``. Rank-1 is not measured.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOLERANCE_DB = 0.1  # how far below its start the SR output's PSNR may fall (the rule)


def choose(start_psnr: float, psnr_after: dict[float, float], tolerance: float = TOLERANCE_DB):
    """The largest limit whose PSNR after the steps is at least ``start_psnr - tolerance``;
    None where no limit keeps it."""
    kept = [limit for limit, psnr in psnr_after.items() if psnr >= start_psnr - tolerance]
    return max(kept) if kept else None


def joint_config(sr_run: Path, extractor_run: Path, limit: float):
    """The joint run's settings from the two runs: the SR run's profile (its short schedule's
    joint lr), the extractor's network with FFSR in front, the global clip off, the SR limit."""
    from lib import profiles
    from lib.train.runs import read_config, stage_config

    sr, extractor = read_config(sr_run), read_config(extractor_run)
    profile = profiles.get(sr.profile, memory_format=sr.memory_format, precision=sr.precision)
    model = {"resnet": "ffsr_resnet", "rife": "ffsr_rife"}[extractor.model]
    return stage_config(
        profile, "joint", model, sr.dataset, data_root=sr.data_root, trial=sr.trial,
        seed=sr.seed, init=(extractor_run.name, sr_run.name), mask=sr.mask,
        grad_clip=0.0, sr_grad_clip=limit,
    )  # fmt: skip


def measure(sr_run: Path, extractor_run: Path, limits, steps: int, images: int) -> dict:
    from lib.data.prepare import prepare
    from lib.eval import sr_quality
    from lib.train import build_network, train_dataset
    from lib.train.engine import optimizer_for, train_one_epoch
    from lib.train.loading import TrainingBatches
    from lib.train.precision import step_precision
    from lib.train.runs import init_model

    cpu = torch.device("cpu")
    base = joint_config(sr_run, extractor_run, limits[0])
    split = prepare(base.dataset, data_root=base.data_root or None, trial=base.trial,
                    seed=base.seed)  # fmt: skip
    test = (split.query + split.gallery)[:images]
    batches = list(itertools.islice(TrainingBatches(train_dataset(base, split), base).epoch(0),
                                    steps))  # fmt: skip
    runs = sr_run.parent.parent
    result = {"steps": len(batches), "images": len(test), "after": {}}
    for limit in limits:
        config = replace(base, optim=replace(base.optim, sr_grad_clip=limit))
        torch.manual_seed(config.seed)
        model = build_network(config, split.num_train_pids)
        init_model(model, config, runs)
        if config.memory_format == "channels_last":
            model.to(memory_format=torch.channels_last)
        if "start" not in result:
            result["start"] = sr_quality(model.sr, test, config.input_size)["psnr_sr"]
        optimizer = optimizer_for(config.optim, config.spec.trainable(model))
        amp, context = step_precision(config, model, cpu)
        torch.manual_seed(config.seed)
        with context:
            row = train_one_epoch(model, model, config.spec, batches, optimizer, config, 0,
                                  device=cpu, amp=amp, progress=False)  # fmt: skip
        result["after"][limit] = {
            "psnr_sr": sr_quality(model.sr, test, config.input_size)["psnr_sr"],
            "sr_grad_norm_median": row["sr_grad_norm_median"],
            "sr_clipped_fraction": row["sr_clipped_fraction"],
        }
    psnr = {limit: v["psnr_sr"] for limit, v in result["after"].items()}
    result["chosen"] = choose(result["start"], psnr)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sr-run", type=Path, required=True, help="an sr_finetune run's folder")
    parser.add_argument(
        "--extractor-run", type=Path, required=True, help="an extractor run's folder"
    )
    parser.add_argument("--limits", type=float, nargs="+", default=[1, 2, 5, 10, 20, 50])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for folder in (args.sr_run, args.extractor_run):
        if not (folder / "model.pt").is_file():
            raise SystemExit(
                f"{folder}: no model.pt (expected a finished run folder runs/<profile>/...)"
            )
    result = measure(args.sr_run, args.extractor_run, sorted(args.limits), args.steps, args.images)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"SR PSNR at the start {result['start']:.3f} dB; after {result['steps']} joint steps:")
    for limit, v in result["after"].items():
        print(f"  limit {limit:g}: {v['psnr_sr']:.3f} dB (SR gradient norm median "
              f"{v['sr_grad_norm_median']:.3g}, clipped {v['sr_clipped_fraction']:.0%})")  # fmt: skip
    print(f"chosen: {result['chosen']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
