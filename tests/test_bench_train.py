"""The FLOP counter benchmarks/bench_train.py relies on, against a hand count: grouped and
depthwise convolutions, a linear layer, forward and backward."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def test_flop_counter_matches_a_hand_count_with_grouped_and_depthwise_convolutions():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1, bias=False),  # dense
        nn.Conv2d(8, 8, 3, padding=1, groups=2, bias=False),  # grouped
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),  # depthwise
        nn.Flatten(),
        nn.Linear(8 * 6 * 5, 10, bias=False),
    )
    x = torch.randn(2, 4, 6, 5)
    pixels = 2 * 6 * 5  # batch x output positions
    macs = (
        pixels * 8 * 4 * 9  # dense: every output channel sees 4 inputs x 3x3
        + pixels * 8 * (8 // 2) * 9  # grouped: 4 inputs per output channel
        + pixels * 8 * 1 * 9  # depthwise: 1 input per output channel
        + 2 * (8 * 6 * 5) * 10  # linear
    )
    with FlopCounterMode(display=False) as forward:
        net(x)
    assert forward.get_total_flops() == 2 * macs
    x.requires_grad_(True)
    with FlopCounterMode(display=False) as both:
        net(x).sum().backward()
    # backward by hand: a gradient for the input and one for the weights, each as costly as
    # the forward. torch's counter counts one of a grouped convolution's two gradients as if
    # the convolution were dense: the overcount below, which is why bench_train.py takes
    # 3 x the forward count for a training step instead of the counter's backward
    dense_equivalent = pixels * 8 * 8 * 9
    overcount = 2 * (dense_equivalent - pixels * 8 * 4 * 9) + 2 * (
        dense_equivalent - pixels * 8 * 9
    )
    assert both.get_total_flops() == 3 * 2 * macs + overcount
