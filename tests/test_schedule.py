"""The stopping rule (lib.train.schedule): where the first phase ends, the lr step half way, the
fixed schedule it gives, and a run that trains by it."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from lib.profiles import Optim
from lib.train import fit
from lib.train.runs import RunConfig
from lib.train.schedule import fixed_schedule, lr_at, plateau_epoch, total_epochs
from tests.test_train import _config

RULE = Optim(epochs=60, lr=0.01, plateau_fall=0.01, plateau_window=3)


def _history(losses: list[float]) -> list[dict]:
    return [{"epoch": i + 1, "loss_total": v} for i, v in enumerate(losses)]


def test_the_first_phase_ends_when_the_loss_stops_falling() -> None:
    # falls of 20%, 10%, 5%, 2%, 1%, 0.5%, 0.5% an epoch
    losses = [10.0]
    for fall in (0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.005):
        losses.append(losses[-1] * (1 - fall))
    mean_fall = {
        e: (losses[e - 4] - losses[e - 1]) / losses[e - 4] / 3 for e in range(4, len(losses) + 1)
    }
    expected = min(e for e, f in mean_fall.items() if f < 0.01)  # by hand: epoch 8
    assert expected == 8
    assert plateau_epoch(losses, 0.01, 3, 30) == expected
    assert plateau_epoch(losses[: expected - 1], 0.01, 3, 30) is None  # not yet
    # a loss that keeps falling fast ends the phase at the cap (half the paper's 60)
    steady = [10.0 * 0.9**i for i in range(40)]
    assert plateau_epoch(steady, 0.01, 3, 30) == 30
    assert plateau_epoch(steady[:29], 0.01, 3, 30) is None


def test_the_rule_trains_twice_e_with_the_lr_step_half_way() -> None:
    flat = _history([5.0, 4.0, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9])
    e = plateau_epoch([r["loss_total"] for r in flat], 0.01, 3, 30)
    assert e == 5  # (4.0 - 3.9) / 4.0 / 3 = 0.8% at epoch 5
    assert total_epochs(RULE, flat[:4]) == 60  # E unknown yet: the cap
    assert total_epochs(RULE, flat) == 10
    assert [lr_at(RULE, flat, k) for k in range(10)] == [0.01] * 5 + [pytest.approx(0.001)] * 5
    fixed = fixed_schedule(RULE, flat)
    assert (fixed.epochs, fixed.lr_steps, fixed.plateau_fall) == (10, (5,), 0.0)
    assert [fixed.lr_at(k) for k in range(10)] == [lr_at(RULE, flat, k) for k in range(10)]
    with pytest.raises(ValueError, match="finished run under the rule"):
        fixed_schedule(RULE, flat[:7])
    # a fixed schedule is as before
    plain = Optim(epochs=4, lr=0.1, lr_steps=(3,))
    assert total_epochs(plain, flat) == 4 and lr_at(plain, flat, 3) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="sets its own lr step"):
        Optim(epochs=60, lr=0.01, lr_steps=(30,), plateau_fall=0.01)


def test_the_rule_keys_only_runs_that_use_it() -> None:
    base = RunConfig(stage="extractor", model="resnet", dataset="vr_synthetic")
    assert base.key == "a8c99536fa"  # as before the rule existed
    ruled = replace(base, optim=replace(base.optim, plateau_fall=0.01))
    wider = replace(ruled, optim=replace(ruled.optim, plateau_window=5))
    assert len({base.key, ruled.key, wider.key}) == 3
    assert RunConfig.from_json(wider.to_json()) == wider


def test_a_run_under_the_rule_trains_2e_epochs(data: Path, tmp_path: Path) -> None:
    """With a fall no loss reaches (100% an epoch), E is the window + 1: the run trains twice
    that, the lr a tenth in the second half; the log shows both."""
    config = _config(data, epochs=20, plateau_fall=1.0, plateau_window=1, lr=0.01)
    run = fit(config, device="cpu", runs=tmp_path / "runs", progress=False)
    with open(run.dir / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.01, 0.01, 0.001, 0.001])
    assert run.metrics["epochs"] == 4


def test_market_schedules_short_and_rule() -> None:
    from lib import profiles

    short = profiles.get("market")
    assert short.schedule == "short" and profiles.get("market", schedule="short") == short
    assert (short.sr_pretrain.epochs, short.extractor.epochs, short.joint.grad_clip) == (4, 10, 5.0)
    rule = profiles.get("market", schedule="rule")
    for stage in ("sr_pretrain", "sr_finetune", "extractor"):
        optim = rule.optim_for(stage, "vr_market1501")
        assert (optim.epochs, optim.lr_steps, optim.plateau_fall) == (60, (), 0.01)
        assert optim.lr == getattr(short, stage).lr  # the same lr, trained by the rule
    # its joint stage waits for the measurement that bounds the SR module's gradient
    with pytest.raises(ValueError, match="has no joint stage yet"):
        rule.optim_for("joint", "vr_market1501")
    with pytest.raises(ValueError, match="no schedule 'long'; valid: short, rule"):
        profiles.get("market", schedule="long")
    assert profiles.get("cpu").schedule == ""


def test_schedule_from_the_command_line() -> None:
    from lib.__main__ import parser, profile_from

    args = parser().parse_args(["train", "--stage", "extractor", "--model", "resnet",
                                "--profile", "market", "--schedule", "rule"])  # fmt: skip
    assert profile_from(args).extractor.plateau_fall == 0.01
