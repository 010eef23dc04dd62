"""The project's one command line: ``python -m lib <command>``.

    python -m lib train --stage STAGE --model NAME [options]   one stage of one model: one run
    python -m lib pipeline --model NAME [options]              every step of one network
    python -m lib objective --model NAME [options]             O(r1, r2) of its final run
    python -m lib market [--tables 3 2 1] [--seeds 0 1 2]      Tables 1-3 on Market-1501
    python -m lib weights list | download NAME                 ImageNet weights, verified
    python -m lib download viper|caviar --root DIR             public datasets, verified
    python -m lib splits export|check NAME --root DIR          fixed identity-split files
    python -m lib masks DATASET --root DIR                     person masks (Table 1)

``train`` and ``pipeline`` take the same options for what they share (profile, dataset, data
root, trial, seed, mask, SR pre-training images, trunk and its initialisation, input size,
device, runs folder, progress); ``train`` adds what only a single run has (``--stage``,
``--init``, ``--epochs``, ``--batch-size``, ``--compile``), ``pipeline`` its ``--no-joint`` and ``--no-compose``.
Each prints the finished run's folder and metrics as JSON; a finished run with the same
settings is reused, not retrained. ``train`` runs unchanged under ``torchrun
--nproc_per_node=N -m lib train ...`` (DistributedDataParallel). The stages are those of
:data:`lib.train.stages.STAGES`, the networks those of :data:`lib.models.MODELS`, the datasets
the variant kinds of :mod:`lib.data.variants`. The tools (``weights``, ``download``,
``splits``, ``masks``) live in their modules (``add_arguments`` and ``run``): this file only
registers them. Bad input (a missing dataset, a broken image) ends a command with one line
naming the path and what was expected, and exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
from pathlib import Path

BACKBONE_CHOICES = ("resnet10", "resnet18", "resnet34", "resnet50", "mobilenetv2")
FUSION_IMAGES = 64  # query images whose fusion weights objective reports (as notebook 03)


MEMORY_FORMAT_HELP = (
    "train the model and batches in this memory format on the CPU (default: the profile's; "
    "channels_last is about 1.4x faster for MobileNetV2 at 128x64 here, not for ResNet-10 "
    "at 64x32; it keys the runs anew)"
)


PRECISION_HELP = (
    "float precision of the training steps on the CPU (default: the profile's): float32, "
    "bfloat16 (autocast; 1.4x faster for ResNet-10 and FFSR here) or bfloat16_sr (the SR "
    "module alone: MobileNetV2 is slower in bf16); evaluation stays float32; it keys the runs anew"
)


def _size(text: str) -> tuple[int, int]:
    """``"64x32"`` -> ``(64, 32)`` (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH such as 64x32, got {text!r}"
        ) from None
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width


def profile_from(args: argparse.Namespace):
    """The named profile with the trunk, its initialisation and the input size the command
    line gives (an input size replaces the profile's per-dataset ones)."""
    from lib import profiles

    overrides: dict = {}
    if args.backbone is not None:
        overrides["backbone"] = args.backbone
    if args.pretrained is not None:
        overrides["pretrained"] = args.pretrained
    if getattr(args, "memory_format", None) is not None:
        overrides["memory_format"] = args.memory_format
    if getattr(args, "precision", None) is not None:
        overrides["precision"] = args.precision
    if args.input is not None:
        overrides.update(
            input_size=args.input,
            input_size_market=None,
            input_size_vr=None,
            input_size_synthetic=None,
        )
    return profiles.get(args.profile, schedule=getattr(args, "schedule", None), **overrides)


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
        "--backbone", choices=BACKBONE_CHOICES, help="the trunk (default: the profile's)"
    )
    common.add_argument(
        "--pretrained",
        action=argparse.BooleanOptionalAction,
        help="ImageNet initialisation of the trunk, or random (default: the profile's)",
    )
    common.add_argument(
        "--input", type=_size, help="model input HEIGHTxWIDTH, e.g. 64x32 (default: the profile's)"
    )
    common.add_argument("--memory-format", choices=profiles.MEMORY_FORMATS, help=MEMORY_FORMAT_HELP)
    common.add_argument("--precision", choices=profiles.PRECISIONS, help=PRECISION_HELP)
    common.add_argument(
        "--schedule",
        help="the stages' named settings (lib.profiles.SCHEDULES; market: short, the recorded "
        "rows' 4/4/10/4 epochs, or rule, each stage until its loss stops falling, at most 60)",
    )
    common.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    common.add_argument(
        "--runs", type=Path, help="runs folder (default: runs/ or $RIPR_RUNS; sets $RIPR_RUNS)"
    )
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    return common


# command: (module with add_arguments(parser) and run(args, parser), one line of help)
TOOLS = {
    "weights": ("lib.weights", "ImageNet weights of the backbones: list the cache, download verified"),
    "download": ("lib.data.download", "fetch VIPeR or CAVIAR4REID into a data root, verified"),
    "splits": ("lib.data.splits", "export or check the fixed identity-split files (data/splits/)"),
    "masks": ("lib.data.person_masks", "person masks of a dataset (Table 1), hit rates, a grid"),
}  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """``python -m lib``'s parser: train, pipeline, market and the tools of :data:`TOOLS`."""
    import lib.train.stages as stages

    common = _common()
    top = argparse.ArgumentParser(
        prog="python -m lib", description=__doc__.splitlines()[0].replace("``", "").rstrip(":")
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
    pipeline.add_argument(
        "--no-compose",
        action="store_true",
        help="do not evaluate steps 1 + 2 together before joint training (no 'composed' step)",
    )
    objective = commands.add_parser(
        "objective",
        parents=[common],
        help="O(r1, r2) of Eq. 2 for one network's final run (Figs. 2 and 4)",
        description="The grid O(r1, r2) (Sec. 3, Eq. 2) of one network of lib.models.MODELS, "
        "its pipeline trained or reused first, on the HR test images degraded to each r of "
        "the profile (at most --max-images of them, drawn with the seed).",
    )
    objective.add_argument("--model", default="resnet", help="a network of lib.models.MODELS")
    objective.add_argument("--max-images", type=int, default=2000)
    _market_parser(commands)
    for name, (module, line) in TOOLS.items():
        tool = commands.add_parser(name, help=line, description=line)
        importlib.import_module(module).add_arguments(tool)
        tool.set_defaults(tool_parser=tool)
    return top


def _train(args: argparse.Namespace) -> dict:
    from lib.train import fit
    from lib.train.runs import stage_config

    overrides = {
        k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size}.items() if v
    }
    config = stage_config(
        profile_from(args),
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


def _data(args: argparse.Namespace):
    """The split a ``pipeline`` or ``objective`` command names (lib.train.pipeline.Data)."""
    from lib.train.pipeline import Data

    return Data(args.dataset, args.data_root, args.trial, args.seed, sr_images=args.sr_images)


def _pipeline(args: argparse.Namespace) -> dict:
    from lib.train.pipeline import train_model

    profile = profile_from(args)
    data = _data(args)
    runs = train_model(
        profile,
        args.model,
        data,
        joint=not args.no_joint,
        compose_steps=not args.no_compose,
        mask=args.mask,
        device=args.device,
        progress=not args.quiet,
    )
    return {step: {"dir": str(r.dir), **r.metrics} for step, r in runs.items()}


def _objective(args: argparse.Namespace) -> dict:
    from lib.eval.analysis import fusion_weights_by_resolution, hr_batch, objective_for_model
    from lib.eval.objective import long_form
    from lib.models import MODELS
    from lib.train import default_device, load_model
    from lib.train.pipeline import split_of, train_model
    from lib.train.runs import write_json

    profile = profile_from(args)
    data = _data(args)
    device = args.device or default_device()
    runs = train_model(
        profile, args.model, data, compose_steps=False, mask=args.mask, device=device,
        progress=not args.quiet,
    )  # fmt: skip
    final = runs.get("joint", runs["extractor"])
    cached = _objective_cache(final.dir, args.max_images, profile.resolutions, data)
    if cached.exists():  # computed before for this run: never repeated (lib market reruns it)
        return json.loads(cached.read_text())
    split = split_of(profile, data)
    grid = objective_for_model(
        load_model(final),
        split.query + split.gallery,
        final.config.input_size,
        profile.resolutions,
        max_images=args.max_images,
        seed=data.seed,
        device=device,
    )
    out = {"dir": str(final.dir), "rank1": final.metrics["rank1"],
           "grid": long_form(grid).to_dict("records")}  # fmt: skip
    if (
        MODELS[args.model].extractor == "rife"
    ):  # Sec. 4.2: RIFE's fusion weights against r, as notebook 03
        shown = split.query[:FUSION_IMAGES]
        images, _ = hr_batch(shown, final.config.input_size)
        weights = fusion_weights_by_resolution(
            load_model(final), images, profile.resolutions, device=device, samples=shown
        )
        means = weights.groupby(["r", "block"], as_index=False)[["w_low", "w_high"]].mean()
        out["fusion"] = means.to_dict("records")
    write_json(cached, out)
    return out


def _objective_cache(folder: Path, max_images: int, resolutions, data) -> Path:
    """Where ``objective`` keeps its result for the final run in ``folder``: one file per
    image count, resolutions, split and the fusion images shown, so that a job run again
    (``lib market`` is resumed by running it again) reads it instead of recomputing it."""
    key = {"max_images": max_images, "resolutions": [float(r) for r in resolutions],
           "trial": data.trial, "seed": data.seed, "fusion_images": FUSION_IMAGES}  # fmt: skip
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return Path(folder) / f"objective-{digest}.json"


def _market_parser(commands) -> None:
    from lib import profiles

    market = commands.add_parser(
        "market",
        help="Tables 1-3 on VR-/MLR-Market1501, every seed, both cores busy",
        description="Tables 1-3 on the paper's Market-1501 (lib.market): every network of "
        "the chosen tables and seeds as parallel one-thread pipeline jobs; each finished "
        "job's rows go to figures/market_seeds.csv at once. Resumable: run it again.",
    )
    market.add_argument("--profile", default="market")
    market.add_argument("--data-root", default="../shared/datasets", help="holds market1501/")
    market.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    market.add_argument("--datasets", nargs="+", default=["vr_market1501"])
    market.add_argument("--tables", type=int, nargs="+", default=[3], choices=[1, 2, 3])
    market.add_argument(
        "--sr-images", help="SR pre-training images (default: <data-root>/peta where present)"
    )
    market.add_argument("--processes", type=int, default=2, help="jobs at once")
    market.add_argument("--threads", type=int, default=1, help="CPU threads per job")
    market.add_argument("--device", default="cpu")
    market.add_argument("--memory-format", choices=profiles.MEMORY_FORMATS, help=MEMORY_FORMAT_HELP)
    market.add_argument("--precision", choices=profiles.PRECISIONS, help=PRECISION_HELP)
    market.add_argument("--runs", type=Path, help="runs folder (default: runs/ or $RIPR_RUNS)")
    market.add_argument("--quiet", action="store_true", help="no progress bar")
    market.add_argument(
        "--networks",
        nargs="+",
        help="only these networks' jobs (lib.market.NETWORKS names: resnet, rife, ffsr_resnet-sr, "
        "ffsr_resnet, ffsr_rife, ae_resnet, srcnn_resnet, vdsr_resnet, two_resnet, "
        "two_resnet_learned, ffsr_resnet-person); default: every network of --tables",
    )
    market.add_argument(
        "--redo",
        action="store_true",
        help="run also the jobs whose results figures/ already records (default: skip them)",
    )
    market.add_argument(
        "--no-figures",
        action="store_true",
        help="no O(r1, r2) grids (Fig. 4) of Table 3's networks",
    )
    market.add_argument(
        "--dry-run",
        action="store_true",
        help="print the jobs it would run (each with the jobs it waits for) and stop: what is "
        "left of the chosen tables, datasets and seeds",
    )


def _relative(path: str) -> str:
    """``path`` relative to the checkout, where the jobs run (so a run's key, which holds its
    data root, does not depend on where the checkout lies)."""
    from lib.settings import PROJECT_ROOT

    return os.path.relpath(Path(path).resolve(), PROJECT_ROOT)


def _market(args: argparse.Namespace) -> dict:
    from lib import market
    from lib.data.datasets import load
    from lib.train.parallel import JobsFailed, run_jobs

    load("market1501", args.data_root)  # a missing or malformed tree: one line, before any job
    sr_images = args.sr_images
    if sr_images is None:
        peta = Path(args.data_root) / "peta"
        sr_images = str(peta) if peta.is_dir() else ""
    common = ["--profile", args.profile, "--data-root", _relative(args.data_root),
              "--device", args.device]  # fmt: skip
    if sr_images:
        common += ["--sr-images", _relative(sr_images)]
    if args.runs is not None:
        common += ["--runs", str(args.runs.resolve())]
    if args.memory_format is not None:
        common += ["--memory-format", args.memory_format]
    if args.precision is not None:
        common += ["--precision", args.precision]
    figures = 3 in args.tables and not args.no_figures
    jobs = market.jobs(args.seeds, args.datasets, args.tables, common, figures=figures)
    path = market.seeds_path()
    try:
        jobs, skipped = market.pending(jobs, None if args.redo else path.parent, args.networks)
    except ValueError as error:
        raise SystemExit(f"python -m lib market: {error}") from None
    if skipped:
        print(
            f"python -m lib market: {len(skipped)} jobs left out (recorded in {path.parent} "
            f"or not among --networks): {' '.join(j.name for j in skipped)}",
            file=sys.stderr,
        )
    if args.dry_run:
        for job in jobs:
            print(job.name + (f" (after {', '.join(job.after)})" if job.after else ""))
        return {"to_run": len(jobs), "left_out": len(skipped)}

    def done(job, result) -> None:
        if job.argv[0] == "objective":
            rows = market.objective_records(job, result)
            market.write_records(
                rows, market.seeds_path(market.OBJECTIVE_FILE), market.OBJECTIVE_KEY
            )
            if "fusion" in result:
                rows = market.fusion_records(job, result)
                market.write_records(rows, market.seeds_path(market.FUSION_FILE), market.FUSION_KEY)
        else:
            market.write_records(market.records(job, result), path)

    try:
        results = run_jobs(
            jobs,
            (args.runs or Path("runs")).resolve() / args.profile / "logs",
            processes=args.processes,
            threads=args.threads,
            on_done=done,
            progress=not args.quiet,
        )
    except JobsFailed as error:  # the finished jobs' rows are written; name what failed
        raise SystemExit(f"python -m lib market: {error}") from None
    frame = market.summary(market.write_records([], path))
    print(frame.to_string())
    return {"seeds_file": str(path), "jobs": len(results)}


def main(argv: list[str] | None = None) -> int:
    from lib.data.samples import ImageError, LayoutError

    args = parser().parse_args(argv)
    if args.command in TOOLS:
        return importlib.import_module(TOOLS[args.command][0]).run(args, args.tool_parser)
    if args.runs is not None:
        os.environ["RIPR_RUNS"] = str(args.runs)  # lib.settings reads it where runs are kept
    commands = {"train": _train, "pipeline": _pipeline, "market": _market, "objective": _objective}
    try:
        result = commands[args.command](args)
    except (LayoutError, ImageError) as error:  # bad input: one line naming the file
        print(f"python -m lib {args.command}: {error}", file=sys.stderr)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
