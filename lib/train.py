"""Training of the three stages of Sec. 5.2, resumable, on CPU, one GPU or many.

``fit(config)`` trains (or reuses) the run that ``config`` describes and returns a
:class:`Run` with its folder and final metrics. Runs survive: a checkpoint is written
atomically after every epoch, and a run started again resumes from it. Every epoch reseeds
torch and the data order from (seed, epoch), so on CPU a resumed run ends with exactly the
weights and metrics of an uninterrupted one. A non-finite loss stops the run with an error
naming the epoch and step, keeping the last good checkpoint.

On CUDA: bf16 autocast, channels_last, cudnn benchmark, pinned memory and workers.
Many GPUs: ``torchrun --nproc_per_node=N -m lib.train ...`` runs the same command under
DistributedDataParallel (global batch split over ranks; checkpoints and evaluation on rank 0).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm.auto import tqdm

from lib import losses
from lib.data.batch import DeviceBatches, collate
from lib.data.loader import ReIDDataset
from lib.data.person_masks import with_person_masks
from lib.data.prepare import prepare
from lib.evaluation import evaluate_model, sr_quality
from lib.models import build_model, build_sr
from lib.runs import (
    RunConfig,
    atomic_save,
    init_model,
    load_weights,
    run_dir,
    stage_config,
    write_json,
    write_log,
)


@dataclass
class Run:
    """A finished run: its folder under ``runs/`` and its final metrics."""

    dir: Path
    metrics: dict
    config: RunConfig


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


def lr_at(config: RunConfig, epoch: int) -> float:
    """The step schedule of Sec. 5.2: lr divided by 10 after each epoch in ``lr_steps``."""
    return config.lr * 0.1 ** sum(epoch >= step for step in config.lr_steps)


def _sr_options(config: RunConfig) -> dict[str, dict]:
    """Per-SR-name constructor options (JSON lists back to tuples)."""
    return {
        name: {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
        for name, opts in config.sr_options.items()
    }


def build_network(config: RunConfig, num_classes: int) -> nn.Module:
    """The model of ``config``: an SR module for stage ``sr``, else a full network."""
    sr_options = _sr_options(config)
    if config.stage == "sr":
        return build_sr(config.model, **sr_options.get(config.model, {}))
    options = {"backbone": config.backbone, "pretrained": config.pretrained, **config.model_options}
    return build_model(config.model, num_classes, sr_options=sr_options, **options)


def optimizer_for(config: RunConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def _trainable(model: nn.Module, config: RunConfig) -> list[nn.Parameter]:
    if config.stage == "extractor":
        model.sr.requires_grad_(False)
        return list(model.extractor.parameters())
    return [p for p in model.parameters() if p.requires_grad]


def _loss(model, batch: dict, config: RunConfig, device, amp: bool) -> dict[str, torch.Tensor]:
    img, hr = batch["img"].to(device, non_blocking=True), batch["hr"].to(device, non_blocking=True)
    mask = batch["mask"].to(device) if config.sr_loss == "ffsr" else None
    reduction = losses.loss_form(config.loss_form).reduction
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        if config.stage == "sr":
            return {"total": losses.ffsr_loss(model(img).float(), hr, mask, reduction)}
        out = model(img)
        pids, r = batch["pid"].to(device), batch["r"].to(device)
        weights = [(wl.float(), wh.float()) for wl, wh in out["weights"]]
        if config.stage == "extractor":
            return {"total": losses.rife_loss(out["logits"].float(), pids, weights, r, config.beta)}
        out = {**out, "sr": out["sr"].float(), "logits": out["logits"].float(), "weights": weights}
        return losses.total_loss(
            out, hr, mask, pids, r, alpha=config.alpha, beta=config.beta, form=config.loss_form
        )


def _distributed() -> tuple[int, int, bool]:
    """(rank, world size, whether this call initialised the process group)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, False
    started = not dist.is_initialized()
    if started:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, started


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
    not part of the run's settings)."""
    folder = run_dir(config, runs)
    if (folder / "metrics.json").is_file():
        return Run(folder, json.loads((folder / "metrics.json").read_text()), config)
    rank, world, started = _distributed()
    device = torch.device(device) if device is not None else default_device()
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    amp = device.type == "cuda"
    if amp:
        torch.backends.cudnn.benchmark = True
    if world > 1 and rank != 0:
        dist.barrier()  # rank 0 generates and builds the data first
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
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "config.json", config.to_json())
    torch.manual_seed(config.seed)
    model = build_network(config, split.num_train_pids)
    init_model(model, config, runs)
    params = _trainable(model, config)
    model.to(device)
    if amp:
        model.to(memory_format=torch.channels_last)
    optimizer = optimizer_for(config, params)
    history: list[dict] = []
    checkpoint = folder / "checkpoint.pt"
    if checkpoint.is_file():
        state = load_weights(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = state["history"]
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    if compile_model:
        net = torch.compile(net)
    dataset = train_dataset(config, split)
    for epoch in range(len(history), config.epochs):
        seed = _epoch_seed(config.seed, epoch)
        torch.manual_seed(seed)
        loader = epoch_loader(
            dataset, config, epoch, world=world, rank=rank, pin_memory=amp, device=device
        )
        for group in optimizer.param_groups:
            group["lr"] = lr_at(config, epoch)
        row = _train_epoch(
            net, model, loader, optimizer, config, epoch, device, amp, progress and rank == 0
        )
        history.append(row)
        if rank == 0:
            atomic_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": history,
                },
                checkpoint,
            )
            write_log(folder, history)
    metrics = None
    if rank == 0:
        atomic_save(model.state_dict(), folder / "model.pt")
        metrics = {**_final_metrics(model, split, config, device, history), "world_size": world}
        write_json(folder / "metrics.json", metrics)
    if world > 1:
        dist.barrier()
        if started:
            dist.destroy_process_group()
    metrics = metrics or json.loads((folder / "metrics.json").read_text())
    return Run(folder, metrics, config)


def epoch_loader(
    dataset, config: RunConfig, epoch: int, *, world: int = 1, rank: int = 0,
    pin_memory: bool = False, device: torch.device | str = "cpu",
) -> DeviceBatches:  # fmt: skip
    """The training batches of ``epoch`` as the model takes them, on ``device``: a random
    order drawn from (seed, epoch), so a resumed run sees exactly the batches an
    uninterrupted one would. Workers decode; resizing and augmentation happen per batch on
    ``device`` (:mod:`lib.data.batch`)."""
    seed = _epoch_seed(config.seed, epoch)
    if world > 1:
        sampler = DistributedSampler(dataset, world, rank, seed=seed, drop_last=True)
    else:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(
        dataset,
        batch_size=max(1, config.batch_size // world),
        sampler=sampler,
        drop_last=len(dataset) > config.batch_size,
        num_workers=config.workers,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(seed),
        collate_fn=collate,
    )
    return DeviceBatches(loader, device)


def train_dataset(config: RunConfig, split):
    """The training images; for stage ``sr``, LR/HR pairs: the variant's own (VR-, MLR-),
    else (an image folder, or a dataset without pairs such as CAVIAR) images degraded to a
    random r in [0.125, 1)."""
    if config.stage == "sr" and (config.sr_images or not any(s.source for s in split.train)):
        from lib.data.folder import DegradedFolder

        images = config.sr_images or [s.path for s in split.train]
        return DegradedFolder(images, config.input_size)
    return ReIDDataset(
        split.train,
        config.input_size,
        train=True,
        mask="gaussian" if config.mask == "gaussian" else "auto",
        raw=True,
    )


def _train_epoch(net, model, loader, optimizer, config, epoch, device, amp, progress) -> dict:
    model.train()
    if config.stage == "extractor":
        model.sr.eval()
    sums: dict[str, float] = {}
    norms: list[float] = []  # gradient norms before clipping, where clipping is on
    images, start = 0, time.perf_counter()
    bar = tqdm(
        loader,
        desc=f"{config.stage} {config.model} epoch {epoch + 1}/{config.epochs}",
        disable=not progress,
        leave=False,
    )
    for step, batch in enumerate(bar):
        if amp:
            batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
        terms = _loss(net, batch, config, device, amp)
        loss = terms["total"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"{config.name}: non-finite loss ({loss.item()}) at epoch {epoch + 1}, step "
                f"{step + 1}; the last good checkpoint (epoch {epoch}) is kept"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)))
        optimizer.step()
        n = batch["img"].shape[0]
        images += n
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * n
        rate = images / (time.perf_counter() - start)
        bar.set_postfix(
            loss=f"{loss.item():.4f}",
            lr=f"{optimizer.param_groups[0]['lr']:.2g}",
            ips=f"{rate:.0f}",
        )
    seconds = time.perf_counter() - start
    row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3)}
    row.update({f"loss_{k}": v / max(images, 1) for k, v in sums.items()})
    if norms:
        row["grad_norm_median"] = float(np.median(norms))
        row["clipped_fraction"] = sum(n > config.grad_clip for n in norms) / len(norms)
    row["images_per_second"] = round(images / max(seconds, 1e-9), 2)
    return row


def _final_metrics(model, split, config: RunConfig, device, history: list[dict]) -> dict:
    sr = model if config.stage == "sr" else model.sr
    metrics: dict = {"epochs": len(history)}
    metrics["train_seconds"] = round(sum(h["seconds"] for h in history), 2)
    if any(p.numel() for p in sr.parameters()):
        metrics.update(
            sr_quality(sr, split.query + split.gallery, config.input_size, device=device)
        )
    if config.stage != "sr":
        metrics.update(
            evaluate_model(
                model,
                split,
                config.input_size,
                device=device,
                draws=config.eval_draws,
                seed=config.seed,
            )
        )
    return metrics


def main(argv: list[str] | None = None) -> None:
    from lib import profiles

    parser = argparse.ArgumentParser(
        prog="python -m lib.train",
        description="Train one stage of one model (Sec. 5.2); reuses a finished run with the same "
        "settings. Runs unchanged under `torchrun --nproc_per_node=N -m lib.train ...`.",
    )
    parser.add_argument("--profile", default="smoke", choices=sorted(profiles.PROFILES))
    parser.add_argument(
        "--stage", required=True, choices=["sr_pretrain", "sr_finetune", "extractor", "joint"]
    )
    parser.add_argument(
        "--model", required=True, help="an SR name for sr_* stages, else a network name"
    )
    parser.add_argument(
        "--dataset", default="vr_synthetic", help="a variant kind (lib.data.variants)"
    )
    parser.add_argument("--data-root", default="", help="data root of the real datasets")
    parser.add_argument("--trial", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", nargs="*", default=[], help="run folder names to initialise from")
    parser.add_argument("--mask", choices=["gaussian", "auto", "person"], default="gaussian")
    parser.add_argument("--epochs", type=int, help="override the profile's epochs")
    parser.add_argument("--batch-size", type=int, help="override the profile's batch size")
    parser.add_argument(
        "--sr-images", default="", help="stage sr: an image folder (e.g. ImageNet train)"
    )
    parser.add_argument(
        "--no-pretrained", action="store_true", help="random init where the profile uses ImageNet"
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    parser.add_argument("--runs", type=Path, help="runs folder (default: runs/ or $RIPR_RUNS)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    args = parser.parse_args(argv)
    overrides = {
        k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size}.items() if v
    }
    config = stage_config(
        profiles.get(args.profile),
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
        **({"pretrained": False} if args.no_pretrained else {}),
    )
    run = fit(
        config,
        device=args.device,
        runs=args.runs,
        progress=not args.quiet,
        compile_model=args.compile,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"dir": str(run.dir), **run.metrics}, indent=2))


def load_model(run: Run | Path) -> nn.Module:
    """The trained model of a finished run (eval mode, CPU), rebuilt from its config."""
    from lib.runs import read_config

    folder = run.dir if isinstance(run, Run) else Path(run)
    config = read_config(folder)
    state = load_weights(folder / "model.pt")
    classes = [v.shape[0] for k, v in state.items() if k.endswith("classifier.weight")]
    model = build_network(config, classes[0] if classes else 1)
    model.load_state_dict(state)
    return model.eval()


if __name__ == "__main__":
    main()
