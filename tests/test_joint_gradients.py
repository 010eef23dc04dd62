"""benchmarks/joint_gradients.py: the joint step's gradient by module and by term, against a
plain backward pass, and on a finished joint run's two states."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchmarks import joint_gradients
from lib.data.prepare import prepare
from lib.train import build_network, epoch_loader, fit, train_dataset
from tests.test_train import _config


def test_the_terms_add_up_to_the_step_backward_takes(data: Path) -> None:
    config = _config(data, "joint", "ffsr_rife", batch_size=8)
    split = prepare("vr_market1501", data_root=data)
    torch.manual_seed(0)
    model = build_network(config, split.num_train_pids)
    config.spec.train_mode(model)
    batch = next(iter(epoch_loader(train_dataset(config, split), config, 0)))
    torch.manual_seed(1)
    figures = joint_gradients.step_gradients(model, batch, config, clip=1e-3)
    # independently: one backward of the whole loss, norms per module
    torch.manual_seed(1)
    config.spec.loss(model, batch, config, torch.device("cpu"), False)["total"].backward()

    def norm(module: torch.nn.Module) -> float:
        grads = [p.grad.double().pow(2).sum() for p in module.parameters() if p.grad is not None]
        return float(torch.stack(grads).sum().sqrt())

    sr, ext = norm(model.sr), norm(model.extractor)
    assert figures["extractor_from_reid"] == pytest.approx(ext, rel=1e-5)
    assert figures["global"] == pytest.approx((sr**2 + ext**2) ** 0.5, rel=1e-5)
    assert figures["sr_from_ffsr"] > 0 and figures["sr_from_reid"] > 0
    # the SR module's gradient is the sum of the two terms' (triangle inequality both ways)
    a, b = figures["sr_from_ffsr"], figures["sr_from_reid"]
    assert abs(a - b) - 1e-6 <= sr <= a + b + 1e-6
    assert figures["extractor_step"] == pytest.approx(1e-3 / figures["global"])
    assert joint_gradients.step_gradients(model, batch, config, clip=0)["extractor_step"] == 1


def test_measure_reads_a_joint_runs_start_and_end(data: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sr = fit(
        _config(data, "sr_finetune", "ffsr", epochs=1), device="cpu", runs=runs, progress=False
    )
    joint = fit(_config(data, "joint", "ffsr_resnet", epochs=1, init=(sr.dir.name,)),
                device="cpu", runs=runs, progress=False)  # fmt: skip
    rows = joint_gradients.measure(joint.dir, steps=2, clip=5.0)
    assert [(r["state"], r["epoch"], r["steps"]) for r in rows] == [("start", 1, 2), ("end", 1, 2)]
    start, end = rows
    assert start["sr_from_ffsr"] != end["sr_from_ffsr"]  # one epoch of SGD moved the weights
    assert 0 <= start["clipped"] <= 1
    with pytest.raises(SystemExit, match="not a joint run"):
        joint_gradients.measure(sr.dir, steps=1, clip=5.0)
