"""lib.train.loading: each epoch's order from (seed, epoch) alone, and persistent workers
that give exactly the batches a fresh DataLoader per epoch gives."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.utils.data import RandomSampler

from lib import profiles
from lib.train.loading import EpochSampler, TrainingBatches, epoch_loader, epoch_seed
from lib.train.runs import stage_config


def test_epoch_sampler_draws_random_samplers_order():
    for seed, epoch in ((0, 0), (3, 5)):
        sampler = EpochSampler(37, seed)
        sampler.set_epoch(epoch)
        generator = torch.Generator().manual_seed(epoch_seed(seed, epoch))
        assert list(sampler) == list(RandomSampler(range(37), generator=generator))
        assert list(sampler) == list(sampler)  # the same order each time it is read
    first, second = EpochSampler(37, 0), EpochSampler(37, 0)
    second.set_epoch(1)
    assert list(first) != list(second) and sorted(second) == list(range(37))


@pytest.fixture(scope="module")
def smoke_data():
    from lib.data.prepare import prepare
    from lib.train import train_dataset

    config = stage_config(profiles.get("smoke"), "extractor", "resnet", "vr_synthetic",
                          batch_size=8)  # fmt: skip
    split = prepare("vr_synthetic", synthetic=config.synthetic, seed=0)
    return config, train_dataset(config, split)


def _indices(batches) -> list[list[int]]:
    return [b["index"].tolist() for b in batches]


@pytest.mark.parametrize("workers", [0, 2])
def test_training_batches_equal_a_fresh_loader_per_epoch(smoke_data, workers):
    config, dataset = smoke_data
    config = replace(config, workers=workers)
    batches = TrainingBatches(dataset, config)
    assert batches.persistent is (workers > 0)
    for epoch in (0, 1, 2):
        torch.manual_seed(11 + epoch)  # the flips' draws, as fit seeds them
        ours = list(batches.epoch(epoch))
        torch.manual_seed(11 + epoch)
        fresh = list(epoch_loader(dataset, config, epoch))
        assert _indices(ours) == _indices(fresh)
        for a, b in zip(ours, fresh, strict=True):
            assert torch.equal(a["img"], b["img"])
    # a resumed run (first epoch read: 2) sees epoch 2's batches
    assert _indices(TrainingBatches(dataset, config).epoch(2)) == _indices(batches.epoch(2))


def test_a_dataset_drawing_in_its_workers_gets_fresh_workers_each_epoch(smoke_data, tmp_path):
    from lib.data.folder import DegradedFolder

    config, dataset = smoke_data
    folder = DegradedFolder([s.path for s in dataset.samples[:16]], config.input_size)
    batches = TrainingBatches(folder, replace(config, workers=2))
    assert batches.persistent is False
    first = [b["r"] for b in batches.epoch(1)]
    again = [b["r"] for b in batches.epoch(1)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
