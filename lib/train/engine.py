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
) -> dict:
    """Train ``model`` for one epoch of ``stage`` at the optimiser's current lr; returns the
    epoch's log row: mean of each loss term, lr, seconds, images per second, and where the
    run clips (``config.optim.grad_clip`` > 0) the median gradient norm before clipping and
    the fraction of steps clipped. A non-finite loss raises FloatingPointError naming the
    epoch and step (the caller keeps the last good checkpoint)."""
    stage.train_mode(model)
    clip = config.optim.grad_clip
    sums: dict[str, float] = {}
    norms: list[float] = []
    images, start = 0, time.perf_counter()
    bar = tqdm(
        loader,
        desc=f"{config.stage} {config.model} epoch {epoch + 1}/{config.optim.epochs}",
        disable=not progress,
        leave=False,
    )
    for step, batch in enumerate(bar):
        if amp:
            batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
        terms = stage.loss(net, batch, config, device, amp)
        loss = terms["total"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"{config.name}: non-finite loss ({loss.item()}) at epoch {epoch + 1}, step "
                f"{step + 1}; the last good checkpoint (epoch {epoch}) is kept"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), clip)))
        optimizer.step()
        n = batch["img"].shape[0]
        images += n
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * n
        bar.set_postfix(
            loss=f"{loss.item():.4f}",
            lr=f"{optimizer.param_groups[0]['lr']:.2g}",
            ips=f"{images / (time.perf_counter() - start):.0f}",
        )
    seconds = time.perf_counter() - start
    row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3)}
    row.update({f"loss_{k}": v / max(images, 1) for k, v in sums.items()})
    if norms:
        row["grad_norm_median"] = float(np.median(norms))
        row["clipped_fraction"] = sum(n > clip for n in norms) / len(norms)
    row["images_per_second"] = round(images / max(seconds, 1e-9), 2)
    return row
