"""Training runs: folders and reuse, exact resume after a kill, non-finite loss, DDP on CPU."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from lib import profiles
from lib.data.prepare import prepare
from lib.eval import evaluate_model, sr_quality
from lib.train import build_network, fit
from lib.train.fit import load_model
from lib.train.runs import RunConfig, load_weights, stage_config

ROOT = Path(__file__).resolve().parents[1]


def _config(data: Path, stage: str = "extractor", model: str = "resnet", **kw) -> RunConfig:
    settings = {"epochs": 2, "batch_size": 16, "eval_draws": 2, "data_root": str(data), **kw}
    return stage_config(profiles.get("smoke"), stage, model, "vr_market1501", **settings)


def test_fit_writes_a_run_and_reuses_it(data: Path, tmp_path: Path) -> None:
    config = _config(data)
    run = fit(config, device="cpu", runs=tmp_path / "runs", progress=False)
    assert run.dir == tmp_path / "runs" / "smoke" / config.name
    for name in ("config.json", "checkpoint.pt", "log.csv", "model.pt", "metrics.json"):
        assert (run.dir / name).is_file(), name
    assert len((run.dir / "log.csv").read_text().splitlines()) == 1 + 2
    for key in ("rank1", "rank5", "mAP", "rank1_std", "mAP_std"):
        assert 0.0 <= run.metrics[key] <= 1.0
    assert run.metrics["num_valid"] == 4
    assert run.metrics["cpu_threads"] == torch.get_num_threads()  # results depend on it
    stamp = (run.dir / "metrics.json").stat().st_mtime_ns
    again = fit(config, device="cpu", runs=tmp_path / "runs", progress=False)
    assert again.metrics == run.metrics and (run.dir / "metrics.json").stat().st_mtime_ns == stamp
    assert _config(data, seed=1).name != config.name  # settings decide the run


def test_sr_then_joint_with_init(data: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sr = fit(
        _config(data, "sr_finetune", "ffsr", epochs=1), device="cpu", runs=runs, progress=False
    )
    assert {"psnr_sr", "psnr_sr_fg", "psnr_bilinear_bg"} <= set(sr.metrics)
    joint_config = _config(data, "joint", "ffsr_rife", epochs=1, init=(sr.dir.name,))
    joint = fit(joint_config, device="cpu", runs=runs, progress=False)
    assert "rank1" in joint.metrics and "psnr_sr" in joint.metrics
    # the joint run's PSNR comes from its ReID evaluation's forward pass (score_sr): what
    # sr_quality's own pass measures, and the ReID metrics those of a pass without it
    split = prepare("vr_market1501", data_root=str(data))
    model = load_model(joint)
    apart = sr_quality(model.sr, split.query + split.gallery, (64, 32))
    assert set(apart) == {k for k in joint.metrics if k.startswith("psnr_")}
    for key, value in apart.items():
        assert joint.metrics[key] == pytest.approx(value, abs=1e-4), key
    scored = evaluate_model(model, split, (64, 32), draws=2, seed=joint_config.seed, score_sr=True)
    plain = evaluate_model(model, split, (64, 32), draws=2, seed=joint_config.seed)
    assert {k: v for k, v in scored.items() if not k.startswith("psnr_")} == plain
    assert plain["rank1"] == joint.metrics["rank1"] and plain["mAP"] == joint.metrics["mAP"]
    with pytest.raises(ValueError, match="use amp=False"):
        evaluate_model(model, split, (64, 32), score_sr=True, amp=True)
    log = (joint.dir / "log.csv").read_text().splitlines()[0].split(",")
    assert {"loss_total", "loss_ffsr", "loss_reid", "loss_resolution"} <= set(log)
    # compose: the joint run's extractor behind the SR run's module, evaluated, never trained
    composed = fit(
        _config(data, "compose", "ffsr_rife", epochs=0, init=(joint.dir.name, sr.dir.name)),
        device="cpu", runs=runs, progress=False,
    )  # fmt: skip
    assert composed.metrics["epochs"] == 0 and {"rank1", "psnr_sr"} <= set(composed.metrics)
    assert not (composed.dir / "log.csv").exists()
    weights = load_weights(composed.dir / "model.pt")
    parts = {
        "sr": load_weights(sr.dir / "model.pt"),
        "extractor": load_weights(joint.dir / "model.pt"),
    }
    for key, value in weights.items():
        part, _, rest = key.partition(".")
        expected = parts[part][rest if part == "sr" else key]
        torch.testing.assert_close(value, expected)
    # its SR module is the SR run's, unchanged, on the same split: PSNR read, not recomputed
    psnr = {k: v for k, v in sr.metrics.items() if k.startswith("psnr_")}
    assert {k: composed.metrics[k] for k in psnr} == psnr
    again = sr_quality(load_model(composed).sr, split.query + split.gallery, (64, 32))
    for key, value in psnr.items():
        assert again[key] == pytest.approx(value, abs=1e-4), key
    # the joint run's SR module last (it was trained further): measured, not read
    other = fit(
        _config(data, "compose", "ffsr_rife", epochs=0, init=(sr.dir.name, joint.dir.name)),
        device="cpu", runs=runs, progress=False,
    )  # fmt: skip
    assert other.metrics["psnr_sr"] == pytest.approx(joint.metrics["psnr_sr"], abs=1e-4)
    assert other.metrics["psnr_sr"] != sr.metrics["psnr_sr"]


def test_init_from_unfinished_run_is_an_error(data: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="has no model.pt"):
        fit(_config(data, init=("sr-ffsr-missing",)), device="cpu", runs=tmp_path / "runs")


def _train_command(data: Path, runs: Path, epochs: int) -> list[str]:
    return [
        sys.executable, "-m", "lib", "train", "--profile", "smoke", "--stage", "extractor",
        "--model", "resnet", "--dataset", "vr_market1501", "--data-root", str(data),
        "--runs", str(runs), "--epochs", str(epochs), "--batch-size", "8", "--quiet",
    ]  # fmt: skip


def test_killed_run_resumes_to_the_same_weights(data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    epochs = 4
    proc = subprocess.Popen(_train_command(data, tmp_path / "killed", epochs), cwd=ROOT, env=env)
    deadline = time.time() + 120
    log = None
    while time.time() < deadline and proc.poll() is None:
        logs = list((tmp_path / "killed").rglob("log.csv"))
        if logs and len(logs[0].read_text().splitlines()) >= 2:  # epoch 1 is checkpointed
            proc.send_signal(signal.SIGKILL)
            log = logs[0]
            break
        time.sleep(0.02)
    proc.wait()
    assert log is not None, "the run ended before it could be killed"
    folder = log.parent
    done = load_weights(folder / "checkpoint.pt")["history"]
    assert 1 <= len(done) < epochs and not (folder / "model.pt").exists()
    subprocess.run(_train_command(data, tmp_path / "killed", epochs), cwd=ROOT, env=env, check=True)
    subprocess.run(_train_command(data, tmp_path / "whole", epochs), cwd=ROOT, env=env, check=True)
    other = tmp_path / "whole" / folder.relative_to(tmp_path / "killed")
    resumed, whole = load_weights(folder / "model.pt"), load_weights(other / "model.pt")
    assert resumed.keys() == whole.keys()
    assert all(torch.equal(resumed[k], whole[k]) for k in whole)
    assert (
        json.loads((folder / "metrics.json").read_text())["rank1"]
        == json.loads((other / "metrics.json").read_text())["rank1"]
    )


def test_non_finite_loss_stops_with_epoch_and_step(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lib import losses

    calls = {"n": 0}
    real = losses.rife_loss

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if calls["n"] == 5 else loss  # 4 steps an epoch: epoch 2, step 1

    monkeypatch.setattr(losses, "rife_loss", poisoned)
    config = _config(data, epochs=3)
    with pytest.raises(
        FloatingPointError, match=r"epoch 2, step 1; the last good checkpoint \(epoch 1\)"
    ):
        fit(config, device="cpu", runs=tmp_path / "runs", progress=False)
    folder = tmp_path / "runs" / "smoke" / config.name
    assert len(load_weights(folder / "checkpoint.pt")["history"]) == 1
    assert not (folder / "metrics.json").exists()


def test_ddp_on_cpu_with_two_processes(data: Path, tmp_path: Path) -> None:
    """torchrun with two processes on CPU (gloo, pinned by --device cpu): a run of its own,
    beside the one-process run of the same settings, never reusing it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    one = subprocess.run(
        _train_command(data, tmp_path / "runs", 1) + ["--device", "cpu"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29533",
    ]
    command += _train_command(data, tmp_path / "runs", 1)[1:] + ["--device", "cpu"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout[result.stdout.index("{") :])
    assert metrics["world_size"] == 2 and 0 <= metrics["rank1"] <= 1
    folder = Path(metrics["dir"])
    alone = Path(json.loads(one.stdout[one.stdout.index("{") :])["dir"])
    assert (folder / "model.pt").is_file() and folder != alone
    made = sorted(p.name for p in folder.parent.iterdir() if p.is_dir())  # not the .lock files
    assert made == sorted([folder.name, alone.name])
    assert json.loads((folder / "config.json").read_text())["world_size"] == 2


def test_torchrun_pipeline_shares_one_process_group(tmp_path: Path) -> None:
    """Every stage of a pipeline under torchrun reuses the process group the first started
    (each starting its own failed at the second stage)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "RIPR_DERIVED": str(tmp_path / "derived")}  # fmt: skip
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               "--master_port=29534", "-m", "lib", "pipeline", "--profile", "smoke", "--model",
               "ffsr_rife", "--dataset", "vr_synthetic", "--device", "cpu", "--runs",
               str(tmp_path / "runs"), "--quiet"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(out) == {"extractor", "sr", "composed", "joint"}
    assert all(step["world_size"] == 2 for step in out.values())


def test_a_run_is_never_made_by_another_number_of_processes(tmp_path: Path, monkeypatch) -> None:
    from dataclasses import replace

    config = RunConfig(stage="extractor", model="resnet", dataset="vr_synthetic")
    assert replace(config, world_size=2).key != config.key
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert (
        stage_config(profiles.get("smoke"), "extractor", "resnet", "vr_synthetic").world_size == 2
    )
    with pytest.raises(ValueError, match="a run of 1 process"):
        fit(config, device="cpu", runs=tmp_path, progress=False)
    odd = replace(config, world_size=2, optim=profiles.Optim(epochs=1, lr=0.01, batch_size=15))
    with pytest.raises(ValueError, match="does not divide over 2 processes"):
        fit(odd, device="cpu", runs=tmp_path, progress=False)


def test_each_rank_draws_its_own_augmentation(data: Path, monkeypatch, tmp_path: Path) -> None:
    """Two ranks of one epoch flip different images; rank 0 draws what a one-process run does."""
    from lib.data.batch import collate, to_model_batch
    from lib.data.loader import ReIDDataset
    from lib.data.prepare import prepare
    from lib.train.distributed import backend_for, mean_over_ranks, rank_seed

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    split = prepare("vr_market1501", data_root=data)
    items = ReIDDataset(split.train, (64, 32), train=True)
    raw = collate([items[i % len(items)] for i in range(32)])
    epoch_seed = 1_000_003 * 3 + 1
    images = {}
    for rank in (0, 1):
        torch.manual_seed(rank_seed(epoch_seed, rank))
        images[rank] = to_model_batch(raw, (64, 32), "cpu", train=True)["img"]
    torch.manual_seed(epoch_seed)  # a one-process run's draw
    alone = to_model_batch(raw, (64, 32), "cpu", train=True)["img"]
    assert torch.equal(images[0], alone) and not torch.equal(images[0], images[1])
    assert rank_seed(epoch_seed, 0) == epoch_seed and len({rank_seed(7, r) for r in range(4)}) == 4
    assert (backend_for(torch.device("cpu")), backend_for(torch.device("cuda", 0))) == (
        "gloo", "nccl",
    )  # fmt: skip
    row = {"epoch": 1, "lr": 0.01, "loss_total": 2.5, "images_per_second": 100.0}
    assert mean_over_ranks(row, 1) == row


def test_lr_schedule_and_profiles() -> None:
    optim = profiles.Optim(epochs=60, lr=0.01, lr_steps=(30,))
    assert [optim.lr_at(e) for e in (0, 29, 30, 59)] == pytest.approx([0.01, 0.01, 0.001, 0.001])
    paper = profiles.get("paper")
    joint = stage_config(paper, "joint", "ffsr_rife", "vr_msmt17")
    assert (joint.optim.lr, joint.optim.epochs, joint.optim.batch_size, joint.input_size) == (
        0.001,
        60,
        32,
        (384, 128),
    )
    assert (joint.alpha, joint.beta, joint.backbone) == (1.0, 0.1, "resnet50")
    assert stage_config(paper, "extractor", "rife", "vr_market1501").input_size == (256, 128)
    assert stage_config(paper, "sr_pretrain", "ffsr", "vr_msmt17").sr_loss == "mse"
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.get("laptop")
    with pytest.raises(ValueError, match="stage must be one of"):
        RunConfig(stage="pretrain", model="ffsr", dataset="x")


def test_loss_form_and_clipping_per_stage() -> None:
    paper = profiles.get("paper")
    joint = stage_config(paper, "joint", "ffsr_rife", "vr_msmt17")
    # Eq. 5 summed as written, clipped where it trains under SGD
    assert (joint.loss_form, joint.optim.grad_clip) == ("paper", 5.0)
    fine = stage_config(paper, "sr_finetune", "ffsr", "vr_msmt17")
    assert (fine.loss_form, fine.optim.optimizer) == ("paper", "adam")
    pre = stage_config(paper, "sr_pretrain", "ffsr", "vr_msmt17")
    assert (pre.loss_form, pre.optim.grad_clip) == ("paper_mean", 0.0)
    # the extractor stage has no SR term: one run serves every loss form
    mean = profiles.get("paper", loss_form="paper_mean")
    assert stage_config(mean, "joint", "ffsr_rife", "x").loss_form == "paper_mean"
    assert (
        stage_config(mean, "extractor", "rife", "x").key
        == stage_config(paper, "extractor", "rife", "x").key
    )
    with pytest.raises(ValueError, match="loss_form must be one of"):
        RunConfig(stage="joint", model="ffsr_rife", dataset="x", loss_form="sum")


def test_gradient_clipping_limits_each_step(data: Path, tmp_path: Path) -> None:
    """grad_clip bounds the global gradient norm before each step and the log says how
    often it clipped; a clip far above the gradient changes nothing."""
    runs = tmp_path / "runs"
    base = _config(
        data, "sr_finetune", "ffsr", epochs=1, optimizer="sgd", lr=0.01, weight_decay=0.0
    )
    torch.manual_seed(base.seed)  # what fit does before building the model
    start = build_network(base, 1).state_dict()
    free = fit(base, device="cpu", runs=runs, progress=False)
    huge, tiny = (
        fit(replace(base, optim=replace(base.optim, grad_clip=c)), device="cpu", runs=runs)
        for c in (1e9, 1e-9)
    )
    weights = {r.dir.name: load_weights(r.dir / "model.pt") for r in (free, huge, tiny)}
    for key, value in start.items():
        torch.testing.assert_close(weights[free.dir.name][key], weights[huge.dir.name][key])
        # steps of norm 1e-9 x lr (x a few, with momentum): the clipped run stayed put ...
        torch.testing.assert_close(weights[tiny.dir.name][key], value, atol=1e-8, rtol=0)
    # ... while the free run moved
    assert any(not torch.allclose(weights[free.dir.name][k], v) for k, v in start.items())
    log = (tiny.dir / "log.csv").read_text().splitlines()
    row = dict(zip(log[0].split(","), log[1].split(","), strict=True))
    assert float(row["clipped_fraction"]) == 1.0 and float(row["grad_norm_median"]) > 1e-9
    assert "clipped_fraction" not in (free.dir / "log.csv").read_text()


def test_the_embedded_data_does_not_key_runs_by_a_data_root():
    """A user's DATA_ROOT does not change (or invalidate) runs of the synthetic variants,
    which do not live under it; real datasets keep theirs in the key."""
    from lib import profiles
    from lib.train.runs import stage_config

    p = profiles.get("smoke")
    a = stage_config(p, "extractor", "resnet", "vr_synthetic", data_root="/somewhere/data")
    b = stage_config(p, "extractor", "resnet", "vr_synthetic")
    assert a.data_root == "" and a.name == b.name
    c = stage_config(p, "extractor", "resnet", "caviar", data_root="/somewhere/data")
    d = stage_config(p, "extractor", "resnet", "caviar", data_root="/elsewhere")
    assert c.data_root == "/somewhere/data" and c.name != d.name


def _count_reads(monkeypatch) -> dict:
    """Counts the reads of a tensor's value by the host (item, float, int, bool)."""
    counts = {"reads": 0}
    for name in ("item", "__float__", "__int__", "__bool__"):
        real = getattr(torch.Tensor, name)

        def counting(self, *args, _real=real):
            counts["reads"] += 1
            return _real(self, *args)

        monkeypatch.setattr(torch.Tensor, name, counting)
    return counts


def test_a_training_step_reads_nothing_back_between_checks(data: Path, monkeypatch) -> None:
    """Host reads per epoch: about one per step and loss term when the non-finite check runs
    every step (the CPU default), a handful per epoch with one check (a GPU's 50 steps); a
    non-finite loss is still named by its step."""
    from lib.data.prepare import prepare
    from lib.train import epoch_loader, train_dataset
    from lib.train.engine import optimizer_for, train_one_epoch

    config = _config(data, epochs=1, batch_size=4)
    split = prepare("vr_market1501", data_root=data)
    reads = {}
    for every in (1, 1000):
        torch.manual_seed(0)
        model = build_network(config, split.num_train_pids)
        optimizer = optimizer_for(config.optim, list(model.parameters()))
        loader = list(epoch_loader(train_dataset(config, split), config, 0))  # data path apart
        with monkeypatch.context() as patch:
            counts = _count_reads(patch)
            train_one_epoch(model, model, config.spec, loader, optimizer, config, 0,
                            device=torch.device("cpu"), progress=False, check_every=every)  # fmt: skip
        reads[every] = counts["reads"]
    steps = len(loader)
    assert steps >= 3 and reads[1] >= reads[1000] + steps - 1
    assert reads[1000] <= 5  # the check, the loss term, the log row: not per step


def test_a_late_check_still_names_the_first_non_finite_step(data: Path) -> None:
    from lib.data.prepare import prepare
    from lib.train import epoch_loader, train_dataset
    from lib.train.engine import optimizer_for, train_one_epoch

    config = _config(data, epochs=1, batch_size=4)
    split = prepare("vr_market1501", data_root=data)
    model = build_network(config, split.num_train_pids)
    calls = {"n": 0}

    def poisoned(net, batch, cfg, device, amp):
        calls["n"] += 1
        terms = config.spec.loss(net, batch, cfg, device, amp)
        return {**terms, "total": terms["total"] * float("nan")} if calls["n"] == 2 else terms

    stage = replace(config.spec, loss=poisoned)
    loader = epoch_loader(train_dataset(config, split), config, 0)
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 2;"):
        train_one_epoch(model, model, stage, loader, optimizer_for(config.optim, list(model.parameters())),
                        config, 0, device=torch.device("cpu"), progress=False, check_every=1000)  # fmt: skip
    assert calls["n"] == len(loader)  # read once, at the end of the epoch


def test_sync_batchnorm_bf16_and_the_group_timeout_rules() -> None:
    from lib.train.distributed import TIMEOUT, autocast_dtype, sync_batchnorm

    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert sync_batchnorm(cuda, 4, 8) and not sync_batchnorm(cuda, 2, 16)
    assert not sync_batchnorm(cuda, 1, 8) and not sync_batchnorm(cpu, 2, 8)
    assert autocast_dtype(cpu) is None  # float32 on a CPU (and on a GPU without bf16)
    assert TIMEOUT.total_seconds() >= 3600  # beyond NCCL's default 10 minutes


def test_channels_last_keys_its_runs_and_trains_in_that_format(data: Path, tmp_path: Path) -> None:
    """A channels_last run is its own run (its bits differ from a contiguous one's), is
    reproducible, and its weights are laid out channels_last; contiguous keys are as before."""
    config = _config(data, epochs=1)
    assert config.memory_format == "contiguous"
    # the key a contiguous run had before the field existed (runs already trained keep theirs)
    assert RunConfig(stage="extractor", model="resnet", dataset="vr_synthetic").key == "a8c99536fa"
    fast = replace(config, memory_format="channels_last")
    assert fast.key != config.key
    assert stage_config(profiles.get("smoke", memory_format="channels_last"), "extractor",
                        "resnet", "vr_market1501").memory_format == "channels_last"  # fmt: skip
    with pytest.raises(ValueError, match="memory_format must be one of"):
        replace(config, memory_format="nhwc")
    first = fit(fast, device="cpu", runs=tmp_path / "a", progress=False)
    second = fit(fast, device="cpu", runs=tmp_path / "b", progress=False)
    plain = fit(config, device="cpu", runs=tmp_path / "c", progress=False)
    weights = load_weights(first.dir / "model.pt")
    convs = [k for k, v in weights.items() if v.dim() == 4 and v.shape[-1] > 1]
    assert convs and all(weights[k].is_contiguous(memory_format=torch.channels_last) for k in convs)
    assert all(torch.equal(v, load_weights(second.dir / "model.pt")[k]) for k, v in weights.items())
    timeless = [
        {k: v for k, v in m.items() if k != "train_seconds"}
        for m in (first.metrics, second.metrics)
    ]
    assert timeless[0] == timeless[1]
    loaded = load_model(first)
    assert loaded.state_dict()[convs[0]].is_contiguous(memory_format=torch.channels_last)
    assert (
        not load_model(plain)
        .state_dict()[convs[0]]
        .is_contiguous(memory_format=torch.channels_last)
    )
    other = load_weights(plain.dir / "model.pt")
    assert any(not torch.equal(v, other[k]) for k, v in weights.items())  # the bits differ


def test_memory_format_from_the_command_line() -> None:
    from lib.__main__ import parser, profile_from

    args = parser().parse_args(["train", "--stage", "extractor", "--model", "resnet",
                                "--memory-format", "channels_last"])  # fmt: skip
    assert profile_from(args).memory_format == "channels_last"
    args = parser().parse_args(["train", "--stage", "extractor", "--model", "resnet"])
    assert profile_from(args).memory_format == "contiguous"


def test_the_extractor_stage_trains_on_images_alone(data: Path) -> None:
    """train_dataset follows the stage: Eq. 9's items decode no HR source or mask."""
    from lib.train.fit import train_dataset

    split = prepare("vr_market1501", data_root=str(data))
    assert train_dataset(_config(data), split).targets is False
    for stage, model in (("sr_finetune", "ffsr"), ("joint", "ffsr_rife")):
        assert train_dataset(_config(data, stage, model), split).targets is True
