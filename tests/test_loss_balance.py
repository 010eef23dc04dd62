"""Gradient norms of Eq. 4's terms on the SR module, against direct autograd."""

import pytest
import torch

from lib import losses
from lib.eval.loss_balance import sr_gradient_norms
from lib.models import build_model


@pytest.fixture
def setup():
    torch.manual_seed(0)
    model = build_model("ffsr_resnet", 3, backbone="resnet10", sr_options={"ffsr": {"width": 4}})
    batch = {
        "img": torch.rand(4, 3, 32, 16),
        "hr": torch.rand(4, 3, 32, 16),
        "pid": torch.tensor([0, 1, 2, 0]),
    }
    return model, batch, losses.gaussian_mask(32, 16)


def test_norms_match_autograd_and_scale_with_the_reduction(setup):
    model, batch, mask = setup
    table = sr_gradient_norms(model, batch, mask=mask).set_index("loss_form")
    # the three forms see the same network output: sum = mean * C * H * W, code = 0.1 * mean
    pixels = 3 * 32 * 16
    assert table.loc["paper", "grad_sr_loss"] == pytest.approx(
        table.loc["paper_mean", "grad_sr_loss"] * pixels, rel=1e-5
    )
    assert table.loc["code", "grad_sr_loss"] == pytest.approx(
        0.1 * table.loc["paper_mean", "grad_sr_loss"], rel=1e-5
    )
    assert table["grad_reid_loss"].nunique() == 1
    # independent computation of the paper form's SR gradient
    model.train()
    out = model(batch["img"])
    loss = losses.ffsr_loss(out["sr"], batch["hr"], mask, "sum")
    grads = torch.autograd.grad(loss, list(model.sr.parameters()))
    expected = torch.sqrt(sum(g.double().pow(2).sum() for g in grads))
    assert table.loc["paper", "grad_sr_loss"] == pytest.approx(float(expected), rel=1e-5)
    ratio = table.loc["paper", "grad_sr_loss"] / table.loc["paper", "grad_reid_loss"]
    assert table.loc["paper", "ratio"] == pytest.approx(ratio)


def test_parameters_are_left_unchanged_and_mode_restored(setup):
    model, batch, mask = setup
    before = {k: v.clone() for k, v in model.sr.state_dict().items()}
    model.eval()
    sr_gradient_norms(model, batch, mask=mask, forms=["paper"])
    assert not model.training
    assert all(torch.equal(v, before[k]) for k, v in model.sr.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_a_model_without_a_learned_sr_module_is_an_error(setup):
    _, batch, mask = setup
    model = build_model("resnet", 3, backbone="resnet10")
    with pytest.raises(ValueError, match="no trainable parameters"):
        sr_gradient_norms(model, batch, mask=mask)
