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


def test_bilinear_is_the_identity():
    x = torch.rand(2, 3, 64, 32)
    assert torch.equal(build_sr("bilinear")(x), x)


@pytest.mark.parametrize("name", ["vdsr", "ae", "ffsr", "ffsr_code"])
def test_residual_sr_starts_near_the_identity_but_not_at_it(name):
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 32)
    with torch.no_grad():
        change = build_sr(name)(x) - x
    # within a hundredth of the input (PSNR against it above 40 dB) ...
    assert change.abs().max() < 0.01
    # ... but not exactly the input: a zeroed last layer would block every inner gradient
    assert change.abs().max() > 0


@pytest.mark.parametrize("name", ["srcnn", "vdsr", "ffsr", "ffsr_code"])
def test_one_sgd_step_at_the_papers_settings_changes_every_layer(name):
    """Sec. 5.2: SGD, lr 0.01 (momentum 0.9, weight decay 5e-4 are ours). With a zeroed last
    layer, the first step left every layer but the last unchanged."""
    torch.manual_seed(0)
    net = build_sr(name)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x, hr = torch.rand(2, 3, 64, 32), torch.rand(2, 3, 64, 32)
    ((net(x) - hr) ** 2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    optimizer.step()
    unchanged = [k for k, v in net.state_dict().items() if torch.equal(v, before[k])]
    assert unchanged == []


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


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["ffsr", "ae", "ffsr_code"])
def test_one_sr_training_step_moves_every_layer_at_the_smoke_width(name, seed):
    """At the smoke profile's width, at every seed the tests use, one step of SR training
    (Eq. 5, Adam as the profile's SR steps) changes every layer: none starts dead."""
    from lib import losses, profiles
    from lib.models import build_sr

    smoke = profiles.get("smoke")
    torch.manual_seed(seed)
    sr = build_sr(name, **smoke.sr_options[name])
    before = {k: v.clone() for k, v in sr.state_dict().items()}
    optimizer = torch.optim.Adam(sr.parameters(), lr=1e-3)
    lr_images, hr_images = torch.rand(8, 3, 64, 32), torch.rand(8, 3, 64, 32)
    losses.ffsr_loss(sr(lr_images), hr_images, None).backward()
    optimizer.step()
    unchanged = [k for k, v in sr.state_dict().items() if torch.equal(v, before[k])]
    assert not unchanged, f"{name} at seed {seed}: {unchanged} did not move"
