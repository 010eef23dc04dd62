"""Many processes (``torchrun``): the process group, started once per process, and what each
rank draws.

``python -m torch.distributed.run --nproc_per_node=N -m lib train|pipeline ...`` starts N
processes; :func:`process_group` starts their group the first time a run needs it and keeps it
for every later run of the process (a pipeline's stages share it), with the backend the
device asks for (``gloo`` on CPU, ``nccl`` on CUDA); it is destroyed when the process exits.
A run records its number of processes (:attr:`lib.train.runs.RunConfig.world_size`, part of
its key beyond 1), so a run made by one process is never reused or resumed by two.

Augmentation: every rank draws its own stream, seeded from (seed, epoch, rank)
(:func:`rank_seed`); rank 0 keeps the stream a one-process run draws, so a one-process run is
unchanged. The order of the images (the sampler) is shared by all ranks, as
``DistributedSampler`` needs.
"""

from __future__ import annotations

import atexit
import datetime
import os

import torch
import torch.distributed as dist

TIMEOUT = datetime.timedelta(hours=2)  # a collective's wait before the job is aborted
SYNC_BATCHNORM_BELOW = 16  # per-rank batches smaller than this normalise over all ranks


def sync_batchnorm(device: torch.device, world: int, per_rank_batch: int) -> bool:
    """Whether BatchNorm normalises over the whole global batch (``SyncBatchNorm``): under
    DDP on CUDA where each rank's share of the batch is under :data:`SYNC_BATCHNORM_BELOW`
    images (8 per GPU on 4 GPUs: statistics of 8 images are too noisy for ReID features). Not
    on CPU, where Gloo's SyncBatchNorm is not what a user would run."""
    return world > 1 and device.type == "cuda" and per_rank_batch < SYNC_BATCHNORM_BELOW


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a training step: bf16 on a CUDA device that supports it (Ampere
    and later), else None (float32: no autocast)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def world_size() -> int:
    """The number of processes of this job (``WORLD_SIZE`` under torchrun, else 1)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def backend_for(device: torch.device) -> str:
    """The collective backend that fits ``device``: NCCL for CUDA tensors, Gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def process_group(device: torch.device) -> tuple[int, int]:
    """(rank, world size): (0, 1) for one process; under torchrun, the process group of this
    process (started here the first time, with :func:`backend_for` ``device``, and destroyed at
    exit)."""
    world = world_size()
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        # rank 0 alone builds a split (person masks included) and evaluates while the others
        # wait at a barrier: on MSMT17's 94k test images that can outlast the default 10
        # minutes, so the group waits up to TIMEOUT
        dist.init_process_group(backend_for(device), timeout=TIMEOUT)
        atexit.register(_destroy)
    elif dist.get_backend() != backend_for(device):
        raise RuntimeError(
            f"the process group runs {dist.get_backend()}, but a run on {device} needs "
            f"{backend_for(device)}: one device per job"
        )
    return dist.get_rank(), world


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_seed(epoch_seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s augmentation in an epoch seeded ``epoch_seed``: the epoch's
    own seed on rank 0 (a one-process run is unchanged), another stream on every other rank."""
    if rank == 0:
        return epoch_seed
    return (epoch_seed * 6364136223846793005 + rank * 1442695040888963407) % (2**63)


def mean_over_ranks(
    row: dict, world: int, summed: tuple[str, ...] = ("images_per_second",)
) -> dict:
    """An epoch's log row reduced over the ranks: the mean of each number (each rank's share
    of the loss), the sum of those in ``summed`` (the job's throughput). Unchanged for one
    process."""
    if world == 1:
        return row
    keys = [k for k, v in row.items() if isinstance(v, float) and k != "lr"]
    values = torch.tensor([row[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(values)
    out = dict(row)
    for key, total in zip(keys, values.tolist(), strict=True):
        out[key] = total if key in summed else total / world
    return out
