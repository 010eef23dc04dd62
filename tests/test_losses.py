"""Losses of Eq. 4, 5, 7, 8, 9 against values worked out by hand on small tensors."""

import math

import pytest
import torch

from lib.losses import (
    ffsr_loss,
    gaussian_mask,
    reid_loss,
    resolution_weight_loss,
    rife_loss,
    total_loss,
)


def test_ffsr_loss_is_eq5_summed_per_image_and_the_mean_on_request():
    # one image, one channel, 1x2 pixels: errors 1 and 2, mask 1 and 0.5
    sr = torch.tensor([[[[1.0, 2.0]]]])
    hr = torch.zeros(1, 1, 1, 2)
    mask = torch.tensor([[1.0, 0.5]])
    # Eq. 5 as written: (1*1)^2 + (0.5*2)^2 = 2; the per-element mean: 2 / 2
    assert ffsr_loss(sr, hr, mask).item() == pytest.approx(2.0)
    assert ffsr_loss(sr, hr, mask, reduction="sum").item() == pytest.approx(2.0)
    assert ffsr_loss(sr, hr, mask, reduction="mean").item() == pytest.approx(1.0)
    # no mask: 1 + 4 summed, (1 + 4) / 2 as the MSE
    assert ffsr_loss(sr, hr, None).item() == pytest.approx(5.0)
    assert ffsr_loss(sr, hr, None, reduction="mean").item() == pytest.approx(2.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        ffsr_loss(sr, hr, mask, reduction="max")


def test_ffsr_loss_sum_averages_over_the_batch_against_a_loop():
    torch.manual_seed(0)
    sr, hr = torch.rand(3, 3, 5, 4), torch.rand(3, 3, 5, 4)
    mask = torch.rand(3, 5, 4)
    per_image = [float(((mask[i] * (sr[i] - hr[i])) ** 2).sum()) for i in range(3)]
    assert ffsr_loss(sr, hr, mask).item() == pytest.approx(sum(per_image) / 3, rel=1e-6)
    # sum = mean * C * H * W
    mean = ffsr_loss(sr, hr, mask, reduction="mean").item()
    assert ffsr_loss(sr, hr, mask).item() == pytest.approx(mean * 3 * 5 * 4, rel=1e-6)


def test_ffsr_loss_accepts_per_image_masks_and_rejects_wrong_shapes():
    sr = torch.ones(2, 3, 2, 2)
    hr = torch.zeros(2, 3, 2, 2)
    mask = torch.stack([torch.ones(2, 2), torch.zeros(2, 2)])  # (B, H, W)
    # image 0 keeps its 12 squared errors of 1, image 1 none: 12 per image over 2 images
    assert ffsr_loss(sr, hr, mask).item() == pytest.approx(6.0)
    assert ffsr_loss(sr, hr, mask[:, None], reduction="mean").item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="does not fit"):
        ffsr_loss(sr, hr, torch.ones(3, 3))
    with pytest.raises(ValueError, match="differ in shape"):
        ffsr_loss(sr, hr[:1], None)


def test_resolution_weight_loss_eq7():
    w_low = torch.tensor([0.5, 1.0])
    w_high = torch.tensor([[0.5], [0.0]])  # (B, 1) is accepted too
    r = torch.tensor([0.25, 1.0])
    # image 0: (0.5 - 0.75)^2 + (0.5 - 0.25)^2 = 0.125; image 1: (1 - 0)^2 + (0 - 1)^2 = 2
    assert resolution_weight_loss(w_low, w_high, r).item() == pytest.approx((0.125 + 2) / 2)
    with pytest.raises(ValueError, match="one value per image"):
        resolution_weight_loss(w_low, w_high, torch.tensor([0.5]))


def test_reid_loss_is_cross_entropy():
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    pids = torch.tensor([1, 0])
    # -log(3/4) and -log(1/2)
    expected = (-math.log(0.75) - math.log(0.5)) / 2
    assert reid_loss(logits, pids).item() == pytest.approx(expected)


def test_rife_loss_sums_dsbs_with_beta():
    logits = torch.zeros(1, 2)
    pids = torch.tensor([0])
    r = torch.tensor([0.5])
    weights = [
        (torch.tensor([0.5]), torch.tensor([0.5])),
        (torch.tensor([1.0]), torch.tensor([0.0])),
    ]
    # L_X = log 2; L_R = 0 and 0.25 + 0.25
    assert rife_loss(logits, pids, weights, r).item() == pytest.approx(math.log(2) + 0.1 * 0.5)
    assert rife_loss(logits, pids, weights, r, beta=1.0).item() == pytest.approx(math.log(2) + 0.5)
    assert rife_loss(logits, pids, [], r).item() == pytest.approx(math.log(2))


def test_total_loss_eq4():
    out = {
        "sr": torch.ones(1, 1, 1, 2),
        "logits": torch.zeros(1, 2),
        "weights": [(torch.tensor([1.0]), torch.tensor([0.0]))],
    }
    hr = torch.zeros(1, 1, 1, 2)
    mask = torch.tensor([[1.0, 0.0]])
    r = torch.tensor([0.5])
    terms = total_loss(out, hr, mask, torch.tensor([1]), r)
    # L_FFSR = 1 + 0 (Eq. 5 summed), L_X = log 2, L_R = 0.25 + 0.25
    assert terms["ffsr"].item() == pytest.approx(1.0)
    assert terms["reid"].item() == pytest.approx(math.log(2))
    assert terms["resolution"].item() == pytest.approx(0.5)
    assert terms["total"].item() == pytest.approx(1.0 + math.log(2) + 0.05)
    half = total_loss(out, hr, mask, torch.tensor([1]), r, alpha=0.5, beta=1.0)
    assert half["total"].item() == pytest.approx(1.0 + 0.5 * (math.log(2) + 0.5))
    # the per-element mean: L_FFSR = (1 + 0) / 2
    mean = total_loss(out, hr, mask, torch.tensor([1]), r, form="paper_mean")
    assert mean["total"].item() == pytest.approx(0.5 + math.log(2) + 0.05)
    # the authors' code: CE + 0.1 * MSE + 0.01 * sum of weight losses, whatever alpha, beta
    code = total_loss(out, hr, mask, torch.tensor([1]), r, alpha=0.5, beta=1.0, form="code")
    assert code["total"].item() == pytest.approx(math.log(2) + 0.1 * 0.5 + 0.01 * 0.5)
    with pytest.raises(ValueError, match="unknown loss form"):
        total_loss(out, hr, mask, torch.tensor([1]), r, form="other")


def test_total_loss_backpropagates_to_every_input():
    sr = torch.rand(2, 3, 4, 2, requires_grad=True)
    logits = torch.randn(2, 3, requires_grad=True)
    w = torch.rand(2, requires_grad=True)
    out = {"sr": sr, "logits": logits, "weights": [(w, 1 - w)]}
    terms = total_loss(
        out,
        torch.zeros(2, 3, 4, 2),
        gaussian_mask(4, 2),
        torch.tensor([0, 2]),
        torch.tensor([0.2, 0.9]),
    )
    terms["total"].backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (sr, logits, w))
