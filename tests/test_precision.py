"""Training precision (float32, bf16 autocast whole or on the SR module) and the SR module's own
gradient limit: keys, where bf16 runs, determinism, and an extractor that steps as plain SGD."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from lib import profiles
from lib.data.prepare import prepare
from lib.train import build_network, epoch_loader, fit, train_dataset
from lib.train.engine import optimizer_for, train_one_epoch
from lib.train.precision import step_precision
from lib.train.runs import RunConfig, load_weights, stage_config
from tests.test_train import _config

CPU = torch.device("cpu")


def test_precision_keys_runs_and_float32_keys_stay() -> None:
    base = RunConfig(stage="extractor", model="resnet", dataset="vr_synthetic")
    assert base.precision == "float32"
    assert base.key == "a8c99536fa"  # the key this run had before precision existed
    keys = {replace(base, precision=p).key for p in profiles.PRECISIONS}
    assert len(keys) == 3
    profile = profiles.get("smoke", precision="bfloat16")
    assert stage_config(profile, "joint", "ffsr_rife", "x").precision == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        replace(base, precision="float16")
    # the SR module's own limit keys a run only where it is set
    joint = RunConfig(stage="joint", model="ffsr_rife", dataset="x")
    assert joint.key == "43bce31edf"  # its key before sr_grad_clip existed (at 6fffee5)
    assert joint.optim.sr_grad_clip == 0.0
    limited = replace(joint, optim=replace(joint.optim, sr_grad_clip=1.0))
    assert limited.key != joint.key
    assert RunConfig.from_json(limited.to_json()) == limited


def _conv_dtypes(model: torch.nn.Module, part: str) -> list[torch.dtype]:
    """Output dtypes of the first convolution of ``model``'s ``part``, as forwards see it."""
    seen: list[torch.dtype] = []
    module = getattr(model, part)
    conv = next(m for m in module.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


@pytest.mark.parametrize(
    ("precision", "sr_dtype", "extractor_dtype"),
    [
        ("float32", torch.float32, torch.float32),
        ("bfloat16", torch.bfloat16, torch.bfloat16),
        ("bfloat16_sr", torch.bfloat16, torch.float32),
    ],
)
def test_each_precision_runs_its_modules_in_its_dtype(
    data: Path, precision: str, sr_dtype: torch.dtype, extractor_dtype: torch.dtype
) -> None:
    config = _config(data, "joint", "ffsr_resnet", batch_size=4, precision=precision)
    split = prepare("vr_market1501", data_root=data)
    model = build_network(config, split.num_train_pids)
    sr_seen, extractor_seen = _conv_dtypes(model, "sr"), _conv_dtypes(model, "extractor")
    batch = next(iter(epoch_loader(train_dataset(config, split), config, 0)))
    amp, context = step_precision(config, model, CPU)
    with context:
        terms = config.spec.loss(model, batch, config, CPU, amp)
    assert (sr_seen, extractor_seen) == ([sr_dtype], [extractor_dtype])
    # the loss, the parameters and their gradients stay float32
    terms["total"].backward()
    assert terms["total"].dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(p.grad.dtype == torch.float32 for p in model.parameters() if p.grad is not None)
    model(batch["img"])  # outside the context: the hooks are gone, float32 again
    assert sr_seen[-1] == torch.float32


def test_a_bf16_run_is_deterministic_and_its_own(data: Path, tmp_path: Path) -> None:
    config = _config(data, "sr_finetune", "ffsr", epochs=1, precision="bfloat16")
    first = fit(config, device="cpu", runs=tmp_path / "a", progress=False)
    second = fit(config, device="cpu", runs=tmp_path / "b", progress=False)
    plain = fit(
        replace(config, precision="float32"), device="cpu", runs=tmp_path / "c", progress=False
    )
    a, b = (load_weights(r.dir / "model.pt") for r in (first, second))
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    other = load_weights(plain.dir / "model.pt")
    assert any(not torch.equal(v, other[k]) for k, v in a.items())
    assert first.config.precision == "bfloat16"
    assert '"precision": "bfloat16"' in (first.dir / "config.json").read_text()


def _one_step(config: RunConfig, data: Path) -> tuple[dict, dict, dict]:
    """(weights before, weights after one step of ``config``'s joint stage, the log row)."""
    split = prepare("vr_market1501", data_root=data)
    torch.manual_seed(0)
    model = build_network(config, split.num_train_pids)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = optimizer_for(config.optim, list(model.parameters()))
    batch = next(iter(epoch_loader(train_dataset(config, split), config, 0)))
    torch.manual_seed(1)
    row = train_one_epoch(model, model, config.spec, [batch], optimizer, config, 0,
                          device=CPU, progress=False)  # fmt: skip
    return before, model.state_dict(), row


def test_the_sr_limit_leaves_the_extractor_stepping_as_plain_sgd(data: Path) -> None:
    """With the SR module's gradient far above its limit, the SR module barely moves while
    every extractor parameter moves exactly as unclipped SGD moves it; the global clip at the
    same limit would have stopped the extractor too."""
    plain = _config(
        data, "joint", "ffsr_resnet", batch_size=8, grad_clip=0.0, lr=0.01, weight_decay=0.0
    )
    limited = replace(plain, optim=replace(plain.optim, sr_grad_clip=1e-9))
    global_clip = replace(plain, optim=replace(plain.optim, grad_clip=1e-9))
    start, free, _ = _one_step(plain, data)
    _, ours, row = _one_step(limited, data)
    _, clipped, _ = _one_step(global_clip, data)
    extractor = [k for k in start if k.startswith("extractor.") and start[k].is_floating_point()]
    sr = [k for k in start if k.startswith("sr.")]
    moved = [k for k in extractor if not torch.equal(free[k], start[k])]
    assert moved and sr
    for k in extractor:
        assert torch.equal(ours[k], free[k]), k
    for k in sr:  # steps of norm 1e-9 x lr: stayed put, where the free run moved
        torch.testing.assert_close(ours[k], start[k], atol=1e-8, rtol=0)
    assert any(not torch.allclose(free[k], start[k]) for k in sr)
    weights = [k for k in moved if k.endswith("weight")]
    assert all(torch.allclose(clipped[k], start[k], atol=1e-8, rtol=0) for k in weights)
    assert row["sr_clipped_fraction"] == 1.0 and row["sr_grad_norm_median"] > 1e-9
    assert "clipped_fraction" not in row  # no global clip in this run


def test_precision_from_the_command_line() -> None:
    from lib.__main__ import parser, profile_from

    args = parser().parse_args(["train", "--stage", "extractor", "--model", "resnet",
                                "--precision", "bfloat16"])  # fmt: skip
    assert profile_from(args).precision == "bfloat16"
    args = parser().parse_args(["train", "--stage", "joint", "--model", "ffsr_rife",
                                "--profile", "market"])  # fmt: skip
    assert profile_from(args).precision == "bfloat16_sr"  # the market profile's own
    args = parser().parse_args(["market", "--precision", "float32", "--dry-run"])
    assert args.precision == "float32"
