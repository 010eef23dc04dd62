"""lib.models.modes.evaluating: eval mode and no autograd for a block, every submodule's own
training flag restored after; and the callers in lib that run models through it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lib.data.samples import Sample
from lib.eval import extract_features, sr_quality
from lib.eval.analysis import fusion_weights_by_resolution, sr_psnr_by_resolution
from lib.eval.objective import features_at_resolution
from lib.models.complexity import count_macs
from lib.models.modes import evaluating
from lib.report.plots import sr_grid
from lib.report.widgets import query_features, sr_images

SIZE = (16, 8)  # input size (H, W)


class SR(nn.Module):
    """An SR stand-in with mode-dependent layers; records (training, grad enabled) per call."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return x + 0.01 * self.bn(self.conv(x))


class Net(nn.Module):
    """SR module + extractor, returning the keys lib's callers read (f, sr, weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = SR()
        self.extractor = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(3 * 16 * 8, 4))
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        sr = self.sr(x)
        w = torch.sigmoid(sr.mean(dim=(1, 2, 3)))
        return {"f": self.extractor(sr), "sr": sr, "weights": [(w, 1 - w)]}


def _training_with_frozen_sr() -> Net:
    """A network as in the extractor stage of training: training mode, SR module in eval."""
    net = Net().train()
    net.sr.eval()
    return net


def _flags(module: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in module.named_modules()}


def test_flags_restored_after_the_block():
    net = Net().train()
    before = _flags(net)
    with evaluating(net):
        assert not any(_flags(net).values())
        net(torch.rand(2, 3, *SIZE))
    assert _flags(net) == before and all(before.values())
    assert net.calls == [(False, False)]


def test_eval_model_stays_in_eval():
    net = Net().eval()
    with evaluating(net):
        pass
    assert not any(_flags(net).values())


def test_mixed_submodule_flags_restored_exactly():
    net = _training_with_frozen_sr()
    net.extractor[1].eval()  # one more odd flag, deep in the tree
    before = _flags(net)
    with evaluating(net):
        assert not any(_flags(net).values())
    assert _flags(net) == before
    assert before[""] and not before["sr"] and not before["sr.bn"] and not before["extractor.1"]


def test_flags_and_grad_mode_restored_after_an_exception():
    net = _training_with_frozen_sr()
    before = _flags(net)
    with pytest.raises(RuntimeError, match="boom"), evaluating(net):
        assert not torch.is_grad_enabled()
        raise RuntimeError("boom")
    assert _flags(net) == before
    assert torch.is_grad_enabled()


def test_no_autograd_inside_and_grad_mode_restored():
    net = Net().train()
    x = torch.rand(2, 3, *SIZE, requires_grad=True)
    with evaluating(net):
        out = net(x)
    assert not out["f"].requires_grad
    assert torch.is_grad_enabled() and net(x)["f"].requires_grad
    with torch.no_grad(), evaluating(net):
        pass
    assert torch.is_grad_enabled()  # the outer no_grad's exit restored it, not evaluating
    with torch.no_grad():
        with evaluating(net):
            pass
        assert not torch.is_grad_enabled()  # evaluating leaves an outer no_grad as it was


def test_outputs_are_ordinary_tensors():
    """no_grad, not inference_mode: outputs can be updated in place and used in autograd."""
    net = Net()
    with evaluating(net):
        f = net(torch.rand(2, 3, *SIZE))["f"]
    assert not f.is_inference()
    f += 1
    w = torch.ones(4, requires_grad=True)
    (f * w).sum().backward()
    assert w.grad is not None


def test_several_and_shared_modules():
    shared = nn.BatchNorm2d(3).train()
    a, b = nn.Sequential(shared, nn.ReLU()).train(), nn.Sequential(shared).eval()
    before = (_flags(a), _flags(b))
    with evaluating(a, b, a):
        assert not any(_flags(a).values()) and not any(_flags(b).values())
    assert (_flags(a), _flags(b)) == before
    with evaluating():  # no modules: only no autograd
        assert not torch.is_grad_enabled()


def _samples(folder, n=3):
    """Samples whose 16 x 32 HR sources are stored at r = 0.5 (the input size)."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(n):
        hr, path = folder / f"{i}_hr.png", folder / f"{i}.png"
        pixels = rng.integers(0, 255, (2 * SIZE[0], 2 * SIZE[1], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(hr)
        Image.fromarray(pixels).resize((SIZE[1], SIZE[0]), Image.BILINEAR).save(path)
        samples.append(Sample(str(path), i, i % 2, r=0.5, source=str(hr)))
    return samples


def _sr_grid(net, images):
    plt.close(sr_grid(images[:1], {"net.sr": net.sr}, [0.5]))


CALLERS = {
    "extract_features": lambda net, images, samples: extract_features(net, samples, SIZE),
    "sr_quality": lambda net, images, samples: sr_quality(net.sr, samples, SIZE),
    "count_macs": lambda net, images, samples: count_macs(net, SIZE),
    "features_at_resolution": lambda net, images, samples: features_at_resolution(net, images, 0.5),
    "sr_psnr_by_resolution": lambda net, images, samples: sr_psnr_by_resolution(
        {"sr": net.sr}, images, torch.ones(len(images), 1, *SIZE), [0.5]
    ),
    "fusion_weights_by_resolution": lambda net, images, samples: fusion_weights_by_resolution(
        net, images, [0.5]
    ),
    "sr_grid": lambda net, images, samples: _sr_grid(net, images),
    "query_features": lambda net, images, samples: query_features({"n": net}, images[0]),
    "sr_images": lambda net, images, samples: sr_images({"n": net}, images[0]),
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_callers_run_in_eval_and_leave_a_training_model_as_it_was(caller, tmp_path):
    net = _training_with_frozen_sr()
    net.sr.train()  # SR in training too for the callers that take the SR module alone
    net.extractor[1].eval()
    before = _flags(net)
    CALLERS[caller](net, torch.rand(3, 3, *SIZE), _samples(tmp_path))
    calls = net.calls or net.sr.calls
    assert calls and set(calls) == {(False, False)}  # eval mode, no autograd, every call
    assert _flags(net) == before
