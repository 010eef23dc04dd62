"""The project's command line for training: ``python -m lib <command>``.

    python -m lib train --stage STAGE --model NAME [options]   one stage of one model: one run
    python -m lib pipeline --model NAME [options]              every step of one network

Both take the same options for what they share (profile, dataset, data root, trial, seed,
mask, SR pre-training images, ImageNet initialisation, device, runs folder, progress); ``train``
adds what only a single run has (``--stage``, ``--init``, ``--epochs``, ``--batch-size``,
``--compile``), ``pipeline`` its ``--no-joint``. Each prints the finished run's folder and
metrics as JSON; a finished run with the same settings is reused, not retrained. ``train``
runs unchanged under ``torchrun --nproc_per_node=N -m lib train ...`` (DistributedDataParallel).
The stages are those of :data:`lib.train.stages.STAGES`, the networks those of
:data:`lib.models.MODELS`, the datasets the variant kinds of :mod:`lib.data.variants`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _common() -> argparse.ArgumentParser:
    """The options every command shares."""
    from lib import profiles

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", default="smoke", choices=sorted(profiles.PROFILES))
    common.add_argument("--dataset", default="vr_synthetic", help="a variant kind")
    common.add_argument("--data-root", default="", help="data root of the real datasets")
    common.add_argument("--trial", type=int, default=0, help="identity split (VIPeR, CAVIAR)")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--mask", choices=["gaussian", "auto", "person"], default="gaussian")
    common.add_argument(
        "--sr-images", default="", help="image folder for the SR MSE pre-training (e.g. ImageNet)"
    )
    common.add_argument(
        "--no-pretrained", action="store_true", help="random init where the profile uses ImageNet"
    )
    common.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    common.add_argument(
        "--runs", type=Path, help="runs folder (default: runs/ or $RIPR_RUNS; sets $RIPR_RUNS)"
    )
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    return common


def parser() -> argparse.ArgumentParser:
    """``python -m lib``'s parser: the commands ``train`` and ``pipeline``."""
    from lib.train import stages

    common = _common()
    top = argparse.ArgumentParser(
        prog="python -m lib", description=__doc__.splitlines()[0].rstrip(":")
    )
    commands = top.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        parents=[common],
        help="one stage of one model (Sec. 5.2)",
        description="Train one stage of one model (Sec. 5.2); reuses a finished run with the "
        "same settings. Runs unchanged under `torchrun --nproc_per_node=N -m lib train ...`.",
    )
    train.add_argument("--stage", required=True, choices=list(stages.STAGES))
    train.add_argument("--model", required=True, help="an SR name for sr_* stages, else a network")
    train.add_argument("--init", nargs="*", default=[], help="run folder names to start from")
    train.add_argument("--epochs", type=int, help="override the profile's epochs")
    train.add_argument("--batch-size", type=int, help="override the profile's batch size")
    train.add_argument("--compile", action="store_true", help="train through torch.compile")
    pipeline = commands.add_parser(
        "pipeline",
        parents=[common],
        help="every step of one network (Sec. 5.2)",
        description="Every training step of one network (Sec. 5.2), each reused when finished.",
    )
    pipeline.add_argument("--model", default="ffsr_rife", help="a network of lib.models.MODELS")
    pipeline.add_argument("--no-joint", action="store_true", help="stop after steps 1 and 2")
    return top


def _train(args: argparse.Namespace) -> dict:
    from lib import profiles
    from lib.train import fit
    from lib.train.runs import stage_config

    overrides = {
        k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size}.items() if v
    }
    config = stage_config(
        profiles.get(args.profile, **({"pretrained": False} if args.no_pretrained else {})),
        args.stage,
        args.model,
        args.dataset,
        data_root=args.data_root,
        trial=args.trial,
        seed=args.seed,
        init=tuple(args.init),
        mask=args.mask,
        sr_images=args.sr_images,
        **overrides,
    )
    run = fit(config, device=args.device, progress=not args.quiet, compile_model=args.compile)
    return {"dir": str(run.dir), **run.metrics}


def _pipeline(args: argparse.Namespace) -> dict:
    from lib import profiles
    from lib.train.pipeline import Data, train_model

    profile = profiles.get(args.profile, **({"pretrained": False} if args.no_pretrained else {}))
    data = Data(args.dataset, args.data_root, args.trial, args.seed, sr_images=args.sr_images)
    runs = train_model(
        profile,
        args.model,
        data,
        joint=not args.no_joint,
        mask=args.mask,
        device=args.device,
        progress=not args.quiet,
    )
    return {step: {"dir": str(r.dir), **r.metrics} for step, r in runs.items()}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.runs is not None:
        os.environ["RIPR_RUNS"] = str(args.runs)  # lib.settings reads it where runs are kept
    result = {"train": _train, "pipeline": _pipeline}[args.command](args)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
