"""The FLOP counter benchmarks/bench_train.py relies on, against a hand count: grouped and
depthwise convolutions, a linear layer, forward and backward; its channels_last step and
benchmarks/bench_eval.py's variants."""

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


def test_a_channels_last_step_trains_the_same_network_in_that_format(monkeypatch, tmp_path):
    """bench_train's ``--channels-last`` step moves the weights as the contiguous step does,
    up to rounding (the same network and batch in another memory layout), and keeps them
    channels_last."""
    import copy

    from benchmarks import bench_train

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path))
    model, config, optimizer, loader = bench_train._setup("resnet10", tmp_path)
    batch = next(iter(loader))
    other = copy.deepcopy(model).to(memory_format=torch.channels_last)
    other_optimizer = type(optimizer)(other.parameters(), **optimizer.defaults)
    config.spec.train_mode(model)
    config.spec.train_mode(other)
    torch.manual_seed(0)
    bench_train._step(model, config, optimizer, dict(batch))
    torch.manual_seed(0)
    bench_train._step(other, config, other_optimizer, dict(batch), channels_last=True)
    after = other.state_dict()
    convs = [k for k, v in after.items() if v.dim() == 4 and v.shape[-1] > 1]
    assert convs and all(after[k].is_contiguous(memory_format=torch.channels_last) for k in convs)
    for k, v in model.state_dict().items():
        assert torch.allclose(v.float(), after[k].float(), atol=1e-4), k


def test_bench_eval_measures_every_variant(monkeypatch):
    from benchmarks import bench_eval

    monkeypatch.setattr(bench_eval, "NETWORKS", {"resnet10": ("resnet10", (32, 16))})
    speeds = bench_eval.measure("resnet10", images=8, repeats=1)
    assert set(speeds) == set(bench_eval.VARIANTS) and all(s > 0 for s in speeds.values())
