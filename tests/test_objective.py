"""The objective O(r1, r2) of Eq. 2 (lib.eval.objective) against brute force over all pairs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lib.eval import metrics
from lib.eval.objective import features_at_resolution, objective, objective_grid


def brute_force(f_a, pids_a, f_b, pids_b, reduction, exclude_same_image=False):
    """Every pair (i, i') of persons (pid > 0 on both sides): squared distance, split by
    identity, summed or averaged."""
    a, b = np.asarray(f_a, dtype=np.float64), np.asarray(f_b, dtype=np.float64)
    pa, pb = np.asarray(pids_a), np.asarray(pids_b)
    dist = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    same = pa[:, None] == pb[None, :]
    counted = (pa[:, None] > 0) & (pb[None, :] > 0)
    if exclude_same_image:
        np.fill_diagonal(counted, False)
    sim, dif = dist[same & counted], dist[~same & counted]
    if reduction == "sum":
        return sim.sum() / dif.sum()
    return sim.mean() / dif.mean()


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_objective_matches_brute_force(reduction):
    rng = np.random.default_rng(0)
    for _ in range(40):
        n_a, n_b, dim = int(rng.integers(2, 40)), int(rng.integers(2, 40)), int(rng.integers(1, 9))
        pa, pb = rng.integers(0, 4, n_a), rng.integers(0, 4, n_b)  # pid 0: not counted
        pa[:2], pb[:2] = [1, 2], [1, 2]  # at least one same and one different pair
        fa, fb = rng.normal(size=(n_a, dim)), rng.normal(size=(n_b, dim))
        expected = brute_force(fa, pa, fb, pb, reduction)
        assert objective(fa, pa, fb, pb, reduction) == pytest.approx(expected, rel=1e-10)
        tensors = (torch.from_numpy(fa).float(), torch.from_numpy(pa), torch.from_numpy(fb).float())
        got = objective(*tensors, torch.from_numpy(pb), reduction)
        assert got == pytest.approx(
            brute_force(tensors[0], pa, tensors[2], pb, reduction), rel=1e-9
        )


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_same_image_pairs_excluded_on_request(reduction):
    rng = np.random.default_rng(1)
    for _ in range(20):
        n, dim = int(rng.integers(4, 30)), 5
        pids = rng.integers(-1, 3, n)  # -1 and 0: not counted
        pids[:3] = [1, 1, 2]
        f1, f2 = rng.normal(size=(n, dim)), rng.normal(size=(n, dim))
        for fb in (f1, f2):  # r1 = r2 (same features) and r1 != r2
            expected = brute_force(f1, pids, fb, pids, reduction, exclude_same_image=True)
            got = objective(f1, pids, fb, pids, reduction, exclude_same_image=True)
            assert got == pytest.approx(expected, rel=1e-10)
    # same set, same resolution: the zero self pairs change only the mean
    keep = objective(f1, pids, f1, pids, "mean")
    drop = objective(f1, pids, f1, pids, "mean", exclude_same_image=True)
    assert keep < drop
    assert objective(f1, pids, f1, pids, "sum") == pytest.approx(
        objective(f1, pids, f1, pids, "sum", exclude_same_image=True), rel=1e-12
    )


def test_objective_hand_cases():
    # pairs: (0,0) same 0, (1,1) same 4, (0,1) different 9, (1,0) different 1
    a, b = [[0.0], [1.0]], [[0.0], [3.0]]
    assert objective(a, [1, 2], b, [1, 2], "sum") == pytest.approx(4 / 10)
    assert objective(a, [1, 2], b, [1, 2], "mean") == pytest.approx((4 / 2) / (10 / 2))
    # A = {0: pid 7, 2: pid 7}, B = {1: pid 7, 5: pid 8}: same 1 + 1 = 2 over 2 pairs,
    # different 25 + 9 = 34 over 2 pairs; sum and mean agree (2 pairs each)
    assert objective([[0.0], [2.0]], [7, 7], [[1.0], [5.0]], [7, 8]) == pytest.approx(2 / 34)
    # unequal counts: A = {0 (pid 1), 1 (pid 1)}, B = {0 (pid 1), 4 (pid 2), 6 (pid 2)}
    # same: 0 + 1 = 1 (2 pairs); different: 16 + 36 + 9 + 25 = 86 (4 pairs)
    a, pa, b, pb = [[0.0], [1.0]], [1, 1], [[0.0], [4.0], [6.0]], [1, 2, 2]
    assert objective(a, pa, b, pb, "sum") == pytest.approx(1 / 86)
    assert objective(a, pa, b, pb, "mean") == pytest.approx((1 / 2) / (86 / 4))


def test_objective_is_translation_invariant_and_precise():
    rng = np.random.default_rng(2)
    pa, pb = rng.integers(0, 5, 50), rng.integers(0, 5, 60)
    fa, fb = rng.normal(size=(50, 16)), rng.normal(size=(60, 16))
    base = brute_force(fa, pa, fb, pb, "mean")
    shifted = objective(fa + 1e6, pa, fb + 1e6, pb, "mean")  # cancellation without centring
    assert shifted == pytest.approx(base, rel=1e-8)


def test_objective_errors():
    f = np.zeros((2, 3))
    with pytest.raises(ValueError, match="reduction"):
        objective(f, [0, 1], f, [0, 1], "max")
    with pytest.raises(ValueError, match="same- and different-identity"):
        objective(f, [1, 1], f, [2, 2])
    with pytest.raises(ValueError, match="same- and different-identity"):
        objective(f, [0, 0], f, [0, 1])  # distractors only on one side: nothing to compare
    with pytest.raises(ValueError, match="same images"):
        objective(f, [0, 1], f, [1, 0], exclude_same_image=True)
    with pytest.raises(ValueError, match="one pid per feature"):
        objective(f, [0], f, [0, 1])


def test_grid_extracts_once_per_resolution_and_is_symmetric():
    rng = np.random.default_rng(3)
    pids = np.repeat(np.arange(1, 6), 4)
    base = rng.normal(size=(20, 8))
    calls = []

    def features_at(r):
        calls.append(r)
        return base + (1 - r) * np.random.default_rng(int(r * 1000)).normal(size=base.shape), pids

    rs = [0.25, 0.5, 1.0]
    grid = metrics.objective_grid(features_at, rs)
    assert calls == rs
    assert grid.index.name == "r1" and grid.columns.name == "r2"
    assert list(grid.index) == rs and list(grid.columns) == rs
    np.testing.assert_allclose(grid.to_numpy(), grid.to_numpy().T, rtol=1e-12)
    f_low = features_at(0.25)[0]
    assert grid.loc[0.25, 1.0] == pytest.approx(
        brute_force(f_low, pids, base, pids, "mean", exclude_same_image=True), rel=1e-10
    )
    summed = objective_grid(features_at, rs, "sum", exclude_same_image=False)
    assert summed.loc[0.5, 0.5] == pytest.approx(
        brute_force(features_at(0.5)[0], pids, features_at(0.5)[0], pids, "sum"), rel=1e-10
    )


class Recorder(nn.Module):
    """Returns the mean of each input channel as its feature; records what it saw."""

    def __init__(self):
        super().__init__()
        self.seen, self.modes = [], []

    def forward(self, x):
        self.seen.append(x.clone())
        self.modes.append((self.training, torch.is_grad_enabled()))
        return {"f": x.mean(dim=(2, 3)) * torch.ones(1, requires_grad=True), "logits": None}


def test_features_at_resolution_downsamples_then_upsamples():
    images = torch.rand(5, 3, 16, 8)
    model = Recorder().train()
    feats = features_at_resolution(model, images, 0.5, batch_size=2)
    assert feats.shape == (5, 3) and not feats.requires_grad
    assert [x.shape[0] for x in model.seen] == [2, 2, 1]
    assert model.modes == [(False, False)] * 3 and model.training  # eval inside, restored
    small = F.interpolate(images, size=(8, 4), mode="bilinear", antialias=True)
    expected = F.interpolate(small, size=(16, 8), mode="bilinear")
    torch.testing.assert_close(torch.cat(model.seen), expected)
    torch.testing.assert_close(feats, expected.mean(dim=(2, 3)))


def test_features_at_resolution_sizes_and_callables():
    images = torch.rand(3, 3, 12, 8)
    seen = []

    def extractor(x):
        seen.append(tuple(x.shape[-2:]))
        return x.flatten(1)

    full = features_at_resolution(extractor, images, 1.0)
    torch.testing.assert_close(full, images.flatten(1))  # r = 1, same size: untouched
    features_at_resolution(extractor, images, 1.0, input_size=(24, 16))
    assert seen[-1] == (24, 16)
    assert metrics.features_at_resolution is features_at_resolution
    with pytest.raises(ValueError, match="resolution"):
        features_at_resolution(extractor, images, 0.0)


def test_low_resolution_loses_fine_detail():
    stripes = torch.zeros(1, 3, 16, 16)
    stripes[..., ::2] = 1.0  # one-pixel vertical stripes
    low = features_at_resolution(lambda x: x.flatten(1), stripes, 0.25)
    assert low.std() < 0.05 * stripes.std()  # antialiased: the stripes average out


def test_distractors_and_junk_are_no_identity():
    # persons: pid 1 at 0 and 1, pid 2 at 10; distractors (pid 0) at 50 and 90, junk (-1) at 7
    a, pa = [[0.0], [10.0], [50.0], [7.0]], [1, 2, 0, -1]
    b, pb = [[1.0], [90.0]], [1, 0]
    # counted pairs: (0, 1) same, distance 1; (10, 1) different, distance 81
    assert objective(a, pa, b, pb, "sum") == pytest.approx(1 / 81)
    # were pid 0 one identity, (50, 90) would be a same pair of distance 1600
    assert objective(a, pa, b, pb, "sum") != pytest.approx((1 + 1600) / (81 + 49**2 + 2500))


def test_distractors_leave_the_grid_unchanged():
    rng = np.random.default_rng(4)
    persons = np.repeat(np.arange(1, 7), 5)
    centres = rng.normal(scale=5.0, size=(7, 4))
    f_persons = centres[persons] + rng.normal(scale=0.3, size=(len(persons), 4))
    f_distractors = rng.normal(scale=5.0, size=(5, 4))  # spread out, all "pid 0"
    feats = np.concatenate([f_persons, f_distractors])
    pids = np.concatenate([persons, np.zeros(5, dtype=int)])
    order = rng.permutation(len(pids))  # distractors anywhere, rows still aligned
    feats, pids = feats[order], pids[order]
    keep = pids > 0

    def with_distractors(r):
        return feats * r, pids

    def persons_only(r):
        return feats[keep] * r, pids[keep]

    full = objective_grid(with_distractors, [0.5, 1.0])
    clean = objective_grid(persons_only, [0.5, 1.0])
    np.testing.assert_allclose(full.to_numpy(), clean.to_numpy(), rtol=1e-12)
    assert clean.loc[1.0, 1.0] < 0.1  # well-separated identities: O is small
