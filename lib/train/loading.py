"""The training batches of a run, epoch by epoch (Sec. 5.2's mini-batches), resumable exactly.

Epoch ``e`` of a run visits the training images in a random order drawn from (seed, e) alone,
so a run resumed at epoch ``e`` sees exactly the batches an uninterrupted one would.
:func:`epoch_loader` builds one epoch's DataLoader; :class:`TrainingBatches` gives every epoch
of a run and, where the run has DataLoader workers, keeps them alive across epochs
(``persistent_workers``: no process start-up, no re-import, no refilled prefetch queue per
epoch) with the same batches, since only the sampler's order changes with the epoch.

Workers only decode (:mod:`lib.data.batch`), except where a dataset draws random numbers in
them (``draws_in_workers``: :class:`lib.data.folder.DegradedFolder`'s resolution r): those
draws come from the workers' seeds, which DataLoader sets when it starts them, so such a
dataset gets fresh workers each epoch, seeded from (seed, epoch, rank) as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, Sampler

from lib.data.batch import DeviceBatches, collate
from lib.train.distributed import rank_seed


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` of a run of seed ``seed`` (data order, augmentation)."""
    return seed * 1_000_003 + epoch


class EpochSampler(Sampler[int]):
    """A random order of ``size`` indices per epoch, drawn from :func:`epoch_seed` (seed,
    epoch) alone: the order ``RandomSampler`` draws with a generator seeded so (one
    ``torch.randperm``), set by :meth:`set_epoch` as ``DistributedSampler``'s is."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        yield from torch.randperm(self.size, generator=generator).tolist()


def _loader(dataset: Dataset, config, world: int, sampler: Sampler, generator, **kw) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=max(1, config.optim.batch_size // world),
        sampler=sampler,
        drop_last=len(dataset) > config.optim.batch_size,
        num_workers=config.workers,
        generator=generator,  # the workers' seeds
        collate_fn=collate,
        **kw,
    )


def epoch_loader(
    dataset: Dataset, config, epoch: int, *, world: int = 1, rank: int = 0,
    pin_memory: bool = False, device: torch.device | str = "cpu",
) -> DeviceBatches:  # fmt: skip
    """The training batches of ``epoch`` as the model takes them, on ``device``: a random
    order drawn from (seed, epoch), so a resumed run sees exactly the batches an
    uninterrupted one would. Workers decode; resizing and augmentation happen per batch on
    ``device`` (:mod:`lib.data.batch`). A new DataLoader (and new workers) per call."""
    seed = epoch_seed(config.seed, epoch)
    if world > 1:
        sampler = DistributedSampler(dataset, world, rank, seed=seed, drop_last=True)
    else:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    generator = torch.Generator().manual_seed(rank_seed(seed, rank))
    loader = _loader(dataset, config, world, sampler, generator, pin_memory=pin_memory)
    return DeviceBatches(loader, device)


class TrainingBatches:
    """Every epoch's batches of one run: ``batches.epoch(e)`` gives what
    ``epoch_loader(dataset, config, e, ...)`` gives. Where the run has workers and the dataset
    draws nothing in them, one DataLoader with persistent workers serves all epochs (its
    sampler set to each epoch in turn); otherwise each epoch gets its own."""

    def __init__(
        self, dataset: Dataset, config, *, world: int = 1, rank: int = 0,
        pin_memory: bool = False, device: torch.device | str = "cpu",
    ) -> None:  # fmt: skip
        self.dataset, self.config, self.world, self.rank = dataset, config, world, rank
        self.pin_memory, self.device = pin_memory, device
        self.persistent = config.workers > 0 and not getattr(dataset, "draws_in_workers", False)
        self._loader: DataLoader | None = None

    def epoch(self, epoch: int) -> DeviceBatches:
        if not self.persistent:
            return epoch_loader(self.dataset, self.config, epoch, world=self.world,
                                rank=self.rank, pin_memory=self.pin_memory,
                                device=self.device)  # fmt: skip
        if self._loader is None:
            seed = epoch_seed(self.config.seed, 0)  # set_epoch adds the epoch, as epoch_seed
            if self.world > 1:
                sampler = DistributedSampler(
                    self.dataset, self.world, self.rank, seed=seed, drop_last=True
                )
            else:
                sampler = EpochSampler(len(self.dataset), self.config.seed)
            generator = torch.Generator().manual_seed(rank_seed(seed, self.rank))
            self._loader = _loader(self.dataset, self.config, self.world, sampler, generator,
                                   pin_memory=self.pin_memory, persistent_workers=True)  # fmt: skip
        self._loader.sampler.set_epoch(epoch)
        return DeviceBatches(self._loader, self.device)
