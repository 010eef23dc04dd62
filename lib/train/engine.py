"""One epoch of training (Sec. 5.2), whole: what ``lib.train.fit`` repeats.

Every stage trains through the same loop; what differs (the loss of a step, what is frozen)
is the stage's (:mod:`lib.train.stages`). ``net`` is what the batches go through (the model, or its
DistributedDataParallel / compiled wrapper); ``model`` is the module itself, whose parameters
are clipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from lib.profiles import Optim
from lib.train.stages import Stage


def optimizer_for(optim: Optim, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """SGD with momentum (the paper) or Adam (the authors' code), at ``optim.lr``."""
    if optim.optimizer == "adam":
        return torch.optim.Adam(params, lr=optim.lr, weight_decay=optim.weight_decay)
    return torch.optim.SGD(
        params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
    )


def channels_last(config, device: torch.device | str) -> bool:
    """Whether a run trains in channels_last memory format: always on CUDA, on the CPU where
    its ``memory_format`` says so (it pays for MobileNetV2 at 128x64, not for ResNet-10 at
    64x32: ``benchmarks/bench_train.py --channels-last``)."""
    return torch.device(device).type == "cuda" or config.memory_format == "channels_last"


def train_one_epoch(
    net: nn.Module,
    model: nn.Module,
    stage: Stage,
    loader: Iterable[dict],
    optimizer: torch.optim.Optimizer,
    config,
    epoch: int,
    *,
    device: torch.device,
    amp: bool = False,
    progress: bool = True,
    check_every: int | None = None,
) -> dict:
    """Train ``model`` for one epoch of ``stage`` at the optimiser's current lr; returns the
    epoch's log row: mean of each loss term, lr, seconds, images per second, and where the
    run clips (``config.optim.grad_clip`` > 0) the median gradient norm before clipping and
    the fraction of steps clipped; likewise ``sr_grad_norm_median`` and ``sr_clipped_fraction``
    where the run clips the SR module's gradient alone (``config.optim.sr_grad_clip`` > 0: the
    extractor's gradient is left as the loss gives it, so it steps as plain SGD would). A non-finite loss raises FloatingPointError naming the
    epoch and the first non-finite step (the caller keeps the last good checkpoint).

    The step reads nothing back from the device: loss terms and gradient norms are summed
    there (in float64, as the host would) and read once at the end, and the non-finite check
    is read every ``check_every`` steps (default: every step on a CPU, where reading costs
    nothing, and every 50 on a GPU, where each read stalls the queue); a progress bar reads the
    loss at each step, as it shows it."""
    stage.train_mode(model)
    to_channels_last = channels_last(config, device)
    clip, sr_clip = config.optim.grad_clip, config.optim.sr_grad_clip
    # the SR module's parameters (the whole model where the run builds one): its own limit
    sr_params = [p for p in getattr(model, "sr", model).parameters() if p.requires_grad]
    check_every = check_every or (50 if torch.device(device).type == "cuda" else 1)
    sums: dict[str, torch.Tensor] = {}
    norms: list[torch.Tensor] = []
    sr_norms: list[torch.Tensor] = []
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    images, start = 0, time.perf_counter()
    bar = tqdm(
        loader,
        desc=f"{config.stage} {config.model} epoch {epoch + 1}/{config.optim.epochs}",
        disable=not progress,
        leave=False,
    )

    def check(step: int) -> None:
        bad = int(first_bad)
        if bad >= 0:
            raise FloatingPointError(
                f"{config.name}: non-finite loss at epoch {epoch + 1}, step {bad + 1}; the last "
                f"good checkpoint (epoch {epoch}) is kept"
            )

    for step, batch in enumerate(bar):
        if to_channels_last:
            batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
        terms = stage.loss(net, batch, config, device, amp)
        loss = terms["total"]
        nonfinite = ~torch.isfinite(loss.detach())
        first_bad = torch.where((first_bad < 0) & nonfinite, step, first_bad)
        if (step + 1) % check_every == 0:
            check(step)  # on a CPU: before the step that would spread it
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            norms.append(nn.utils.clip_grad_norm_(model.parameters(), clip).detach())
        if sr_clip > 0:
            sr_norms.append(nn.utils.clip_grad_norm_(sr_params, sr_clip).detach())
        optimizer.step()
        n = batch["img"].shape[0]
        images += n
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v.detach().double() * n
        if progress:
            bar.set_postfix(
                loss=f"{loss.item():.4f}",
                lr=f"{optimizer.param_groups[0]['lr']:.2g}",
                ips=f"{images / (time.perf_counter() - start):.0f}",
            )
    check(-1)
    seconds = time.perf_counter() - start
    row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3)}
    row.update({f"loss_{k}": float(v) / max(images, 1) for k, v in sums.items()})
    if norms:
        values = torch.stack(norms).double().cpu().numpy()
        row["grad_norm_median"] = float(np.median(values))
        row["clipped_fraction"] = float((values > clip).sum()) / len(values)
    if sr_norms:
        values = torch.stack(sr_norms).double().cpu().numpy()
        row["sr_grad_norm_median"] = float(np.median(values))
        row["sr_clipped_fraction"] = float((values > sr_clip).sum()) / len(values)
    row["images_per_second"] = round(images / max(seconds, 1e-9), 2)
    return row
