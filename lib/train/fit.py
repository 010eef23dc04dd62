"""``fit``: one run of a stage of Sec. 5.2 (:mod:`lib.train.stages`), resumable, on CPU, one GPU or many.

``fit(config)`` trains (or reuses) the run that ``config`` describes and returns a
:class:`Run` with its folder and final metrics; each epoch is
:func:`lib.train.engine.train_one_epoch`. Runs survive: a checkpoint is written
atomically after every epoch, and a run started again resumes from it. Every epoch reseeds
torch and the data order from (seed, epoch), so on CPU a resumed run ends with exactly the
weights and metrics of an uninterrupted one. A non-finite loss stops the run with an error
naming the epoch and step, keeping the last good checkpoint.

A run whose ``memory_format`` is ``"channels_last"`` trains in that format on the CPU too.
On CUDA: bf16 autocast where the GPU supports it (float32 elsewhere), channels_last, cudnn
benchmark, pinned memory and workers; SyncBatchNorm under DDP where a rank's batch is under 16.
Many GPUs: ``torchrun --nproc_per_node=N -m lib train ...`` (:mod:`lib.__main__`) runs the same command under
DistributedDataParallel (global batch split over ranks; checkpoints and evaluation on rank 0).
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from lib.data.loader import ReIDDataset
from lib.data.person_masks import with_person_masks
from lib.data.prepare import prepare
from lib.eval import evaluate_model, sr_quality
from lib.models import build_model, build_sr
from lib.train.distributed import (
    autocast_dtype,
    mean_over_ranks,
    process_group,
    rank_seed,
    sync_batchnorm,
    world_size,
)
from lib.train.engine import channels_last, optimizer_for, train_one_epoch
from lib.train.loading import TrainingBatches, epoch_seed
from lib.train.precision import step_precision
from lib.train.runs import (
    RunConfig,
    atomic_save,
    init_model,
    load_weights,
    run_dir,
    run_lock,
    write_json,
    write_log,
)
from lib.train.schedule import lr_at, total_epochs


@dataclass
class Run:
    """A finished run: its folder under ``runs/`` and its final metrics."""

    dir: Path
    metrics: dict
    config: RunConfig


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sr_options(config: RunConfig) -> dict[str, dict]:
    """Per-SR-name constructor options (JSON lists back to tuples)."""
    return {
        name: {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
        for name, opts in config.sr_options.items()
    }


def build_network(config: RunConfig, num_classes: int) -> nn.Module:
    """The model of ``config``: an SR module where its stage builds one, else a network."""
    sr_options = _sr_options(config)
    if config.spec.builds == "sr":
        return build_sr(config.model, **sr_options.get(config.model, {}))
    options = {"backbone": config.backbone, "pretrained": config.pretrained, **config.model_options}
    return build_model(config.model, num_classes, sr_options=sr_options, **options)


def _device(device: torch.device | str | None, world: int) -> torch.device:
    device = torch.device(device) if device is not None else default_device()
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device


def _split(config: RunConfig, rank: int, world: int):
    """The run's data split; under DDP rank 0 generates and builds it first."""
    if world > 1 and rank != 0:
        dist.barrier()
    split = prepare(
        config.dataset,
        data_root=config.data_root or None,
        synthetic=config.synthetic,
        trial=config.trial,
        seed=config.seed,
    )
    if config.mask == "person":
        split = with_person_masks(split, config.dataset, config.data_root)
    if world > 1 and rank == 0:
        dist.barrier()
    return split


def _resume(checkpoint: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> list[dict]:
    """The epochs logged so far; model and optimiser restored from the last checkpoint."""
    if not checkpoint.is_file():
        return []
    state = load_weights(checkpoint)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state["history"]


def fit(
    config: RunConfig,
    *,
    device: torch.device | str | None = None,
    runs: Path | None = None,
    progress: bool = True,
    compile_model: bool = False,
) -> Run:
    """Train the run ``config`` describes (or reuse it when finished); see the module doc.
    ``compile_model`` trains through ``torch.compile`` (same weights and checkpoints; it is
    not part of the run's settings). The epochs are :func:`lib.train.engine.train_one_epoch`.
    A one-process run is trained under :func:`lib.train.runs.run_lock`: a second process
    asking for the same run meanwhile waits, then reuses it."""
    folder = run_dir(config, runs)
    if (folder / "metrics.json").is_file():
        return _finished(folder, config)
    with run_lock(folder) if world_size() == 1 else nullcontext():
        if (folder / "metrics.json").is_file():  # trained by another process meanwhile
            return _finished(folder, config)
        return _train(config, folder, device, runs, progress, compile_model)


def _finished(folder: Path, config: RunConfig) -> Run:
    return Run(folder, json.loads((folder / "metrics.json").read_text()), config)


def _train(
    config: RunConfig, folder: Path, device, runs, progress: bool, compile_model: bool
) -> Run:
    """:func:`fit`'s training of a run that is not finished (resumed where it has a checkpoint)."""
    stage = config.spec
    world = world_size()
    if config.world_size != world:
        raise ValueError(
            f"{config.name} is a run of {config.world_size} process(es), started in {world}: "
            "give the run the job's world size (stage_config reads it from torchrun)"
        )
    if config.optim.batch_size % world:
        raise ValueError(
            f"the batch of {config.optim.batch_size} does not divide over {world} processes: "
            "choose a batch size that is a multiple of the number of processes"
        )
    device = _device(device, world)
    rank, world = process_group(device)
    split = _split(config, rank, world)
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "config.json", config.to_json())
    torch.manual_seed(config.seed)
    model = build_network(config, split.num_train_pids)
    init_model(model, config, runs)
    params = stage.trainable(model)
    model.to(device)
    if channels_last(config, device):
        model.to(memory_format=torch.channels_last)
    optimizer = optimizer_for(config.optim, params)
    history = _resume(folder / "checkpoint.pt", model, optimizer)
    if sync_batchnorm(device, world, config.optim.batch_size // world):
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    net = torch.compile(net) if compile_model else net
    batches = TrainingBatches(
        train_dataset(config, split), config, world=world, rank=rank,
        pin_memory=device.type == "cuda", device=device,
    )  # fmt: skip
    # bf16 autocast where the run's precision (or the GPU) says: lib.train.precision
    amp, sr_precision = step_precision(config, model, device)
    with sr_precision:
        # a fixed number of epochs, or as many as the stopping rule says (lib.train.schedule)
        while (epoch := len(history)) < total_epochs(config.optim, history):
            torch.manual_seed(rank_seed(epoch_seed(config.seed, epoch), rank))
            loader = batches.epoch(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(config.optim, history, epoch)
            show = progress and rank == 0
            row = train_one_epoch(
                net, model, stage, loader, optimizer, config, epoch,
                device=device, amp=amp, progress=show,
            )  # fmt: skip
            history.append(mean_over_ranks(row, world))
            if rank == 0:
                state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
                atomic_save({**state, "history": history}, folder / "checkpoint.pt")
                write_log(folder, history)
    if rank == 0:
        atomic_save(model.state_dict(), folder / "model.pt")
        metrics = _final_metrics(model, stage, split, config, device, history, runs)
        # CPU results are bit-identical for a seed only at the same thread count: record it
        extra = {"world_size": world, "cpu_threads": torch.get_num_threads()}
        write_json(folder / "metrics.json", {**metrics, **extra})
    if world > 1:
        dist.barrier()  # every rank returns the finished run
    return _finished(folder, config)


def train_dataset(config: RunConfig, split):
    """The training images; for stage ``sr``, LR/HR pairs: the variant's own (VR-, MLR-),
    else (an image folder, or a dataset without pairs such as CAVIAR) images degraded to a
    random r in [0.125, 1)."""
    builds_sr = config.spec.builds == "sr"
    if builds_sr and (config.sr_images or not any(s.source for s in split.train)):
        from lib.data.folder import DegradedFolder

        images = config.sr_images or [s.path for s in split.train]
        return DegradedFolder(images, config.input_size)
    return ReIDDataset(
        split.train,
        config.input_size,
        train=True,
        mask="gaussian" if config.mask == "gaussian" else "auto",
        raw=True,
        targets=config.spec.reads_targets,
    )


# what decides the images and the size an SR module's PSNR is measured on (sr_quality)
SPLIT_FIELDS = ("dataset", "data_root", "trial", "seed", "synthetic", "input_size",
                "memory_format")  # fmt: skip


def _final_metrics(
    model, stage, split, config: RunConfig, device, history: list[dict], runs=None
) -> dict:
    sr = model if stage.builds == "sr" else model.sr
    metrics: dict = {"epochs": len(history)}
    metrics["train_seconds"] = round(sum(h["seconds"] for h in history), 2)
    amp = autocast_dtype(device) is not None  # bf16 on a GPU that has it
    has_sr = any(p.numel() for p in sr.parameters())
    measured = _sr_quality_of_init(config, runs) if has_sr else None
    # one pass over the test images: the ReID evaluation's forward scores the SR output
    in_reid_pass = has_sr and measured is None and stage.evaluates_reid and not amp
    if has_sr and measured is None and not in_reid_pass:
        measured = sr_quality(sr, split.query + split.gallery, config.input_size, device=device)
    metrics.update(measured or {})
    if stage.evaluates_reid:
        metrics.update(
            evaluate_model(
                model,
                split,
                config.input_size,
                device=device,
                draws=config.eval_draws,
                seed=config.seed,
                workers=config.workers,
                amp=amp,
                score_sr=in_reid_pass,
            )
        )
    return metrics


def _sr_quality_of_init(config: RunConfig, root: Path | None) -> dict[str, float] | None:
    """The PSNR figures of the SR run whose weights this run's SR module holds unchanged (a
    stage that does not train, ``compose``, initialised last from an SR run), where that run
    measured them on the same split at the same size: the SR outputs are not computed again.
    None where they must be computed."""
    from lib.train.runs import read_config, runs_root

    if config.spec.loss is not None or not config.init:
        return None
    folder = (root or runs_root()) / config.profile / config.init[-1]
    source = read_config(folder)
    same = all(getattr(source, f) == getattr(config, f) for f in SPLIT_FIELDS)
    # person masks (_split) change the foreground the PSNR is split by
    same = same and (source.mask == "person") == (config.mask == "person")
    if source.spec.builds != "sr" or not same:
        return None
    metrics = json.loads((folder / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k.startswith("psnr_")} or None


def load_model(run: Run | Path) -> nn.Module:
    """The trained model of a finished run (eval mode, CPU), rebuilt from its config, in the
    memory format it trained in (channels_last also evaluates faster: bench_eval.py)."""
    from lib.train.runs import read_config

    folder = run.dir if isinstance(run, Run) else Path(run)
    config = read_config(folder)
    state = load_weights(folder / "model.pt")
    classes = [v.shape[0] for k, v in state.items() if k.endswith("classifier.weight")]
    model = build_network(config, classes[0] if classes else 1)
    model.load_state_dict(state)
    if config.memory_format == "channels_last":
        model.to(memory_format=torch.channels_last)
    return model.eval()
