"""SR modules of Table 1: shapes, identity at initialisation, gradients, SRCNN's border."""

import pytest
import torch

from lib.models import SR_MODELS, build_sr
from lib.models.ffsr import FFSR
from lib.models.sr_baselines import SRCNN

SIZES = [(64, 32), (384, 128), (66, 34)]  # 66x34: not a multiple of 4


@pytest.mark.parametrize("name", list(SR_MODELS))
@pytest.mark.parametrize("size", SIZES)
def test_sr_keeps_the_input_size(name, size):
    torch.manual_seed(0)
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        y = build_sr(name)(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["bilinear", "vdsr", "ae", "ffsr", "ffsr_code"])
def test_residual_sr_starts_as_the_identity(name):
    x = torch.rand(2, 3, 64, 32)
    assert torch.equal(build_sr(name)(x), x)


@pytest.mark.parametrize("name", ["srcnn", "vdsr", "ffsr", "ffsr_code"])
def test_sr_parameters_all_receive_gradients(name):
    torch.manual_seed(0)
    net = build_sr(name)
    x, hr = torch.rand(2, 3, 64, 32), torch.rand(2, 3, 64, 32)
    for _ in range(2):  # the zero last layer lets gradients through from the 2nd step
        net.zero_grad()
        ((net(x) - hr) ** 2).mean().backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.1 * p.grad
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_srcnn_changes_only_luminance_inside_the_border():
    torch.manual_seed(0)
    net = SRCNN()
    assert net.border == 8
    x = torch.rand(1, 3, 64, 32)
    with torch.no_grad():
        y = net(x)
    change = y - x
    assert torch.equal(change[..., :8, :], torch.zeros_like(change[..., :8, :]))
    assert torch.equal(change[..., :, -8:], torch.zeros_like(change[..., :, -8:]))
    inner = change[..., 8:-8, 8:-8]
    assert inner.abs().sum() > 0
    # the same change on R, G and B: Cb and Cr are kept
    torch.testing.assert_close(inner[:, 0], inner[:, 1])
    torch.testing.assert_close(inner[:, 0], inner[:, 2])


def test_srcnn_rgb_same_variant_and_errors():
    net = SRCNN(luminance=False, padding="same")
    assert net.border == 0 and net.convs[0].in_channels == 3
    assert net(torch.rand(1, 3, 20, 12)).shape == (1, 3, 20, 12)
    with pytest.raises(ValueError, match="needs images above 16x16"):
        SRCNN()(torch.rand(1, 3, 16, 64))
    with pytest.raises(ValueError, match="padding"):
        SRCNN(padding="full")


def test_ffsr_and_ae_are_the_same_architecture():
    ae, ffsr = build_sr("ae"), build_sr("ffsr")
    assert type(ae) is type(ffsr) is FFSR
    assert [p.shape for p in ae.parameters()] == [p.shape for p in ffsr.parameters()]
    convs = [m for m in ffsr.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
    assert len(convs) == 12
    assert sum(1 for m in convs if isinstance(m, torch.nn.ConvTranspose2d)) == 2
    assert sum(1 for m in convs if m.stride == (2, 2) and isinstance(m, torch.nn.Conv2d)) == 2
    code = [
        m
        for m in build_sr("ffsr_code").modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    assert len(code) == 15


@pytest.mark.parametrize("name", ["srcnn", "vdsr", "ffsr", "ffsr_code"])
def test_width_option_scales_channels(name):
    small, default = build_sr(name, width=8), build_sr(name)
    n_small = sum(p.numel() for p in small.parameters())
    assert n_small < sum(p.numel() for p in default.parameters()) / 10
    x = torch.rand(1, 3, 64, 32)
    assert small(x).shape == x.shape


def test_build_sr_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="bilinear, srcnn, vdsr, ae, ffsr, ffsr_code"):
        build_sr("espcn")
