"""Which loss trains each row of Tables 1 and 3: the runs' recorded settings, without training
(``fit`` is replaced by a recorder)."""

from pathlib import Path

import pytest

from lib import experiments, profiles
from lib.train import Run, pipeline
from lib.train.pipeline import Data
from lib.train.runs import RunConfig


@pytest.fixture
def recorded(monkeypatch) -> list[RunConfig]:
    configs: list[RunConfig] = []

    def fake_fit(config: RunConfig, *, device=None, progress=True) -> Run:
        configs.append(config)
        metrics = {m: 0.0 for m in experiments.METRICS}
        return Run(Path("runs") / config.name, metrics, config)

    monkeypatch.setattr(pipeline, "fit", fake_fit)
    return configs


def _by(configs: list[RunConfig], stage: str, model: str) -> list[RunConfig]:
    return [c for c in configs if c.stage == stage and c.model == model]


def test_table1_rows_train_with_their_own_sr_loss(recorded):
    profile = profiles.get("smoke")
    experiments.table1_records(profile, Data("vr_synthetic"), progress=False)
    # SR fine-tuning: Eq. 5 with a mask for FFSR only; SRCNN, VDSR and AE weigh every pixel alike
    for sr in ("srcnn", "vdsr", "ae"):
        (fine,) = _by(recorded, "sr_finetune", sr)
        assert fine.sr_loss == "mse" and fine.init
    ffsr_fine = _by(recorded, "sr_finetune", "ffsr")
    assert {c.sr_loss for c in ffsr_fine} == {"ffsr"}
    # every MSE pre-training is a mean squared error, whatever the profile's Eq. 5 form
    pre = [c for c in recorded if c.stage == "sr_pretrain"]
    assert {c.loss_form for c in pre} == {"paper_mean"} and not any(c.init for c in pre)
    # the rows without joint learning are composed, never trained; the JL rows train with Eq. 5
    for model in ("srcnn_resnet", "vdsr_resnet", "ae_resnet", "ffsr_resnet"):
        (net,) = _by(recorded, "compose", model)
        assert net.optim.epochs == 0 and len(net.init) == 2
    ffsr_nets = _by(recorded, "joint", "ffsr_resnet")
    assert {c.sr_loss for c in ffsr_nets} == {"ffsr"} and len(ffsr_nets) == 2
    assert all(c.optim.epochs > 0 for c in ffsr_nets)
    assert {c.loss_form for c in ffsr_nets} == {profile.loss_form}


def test_table3_sing_is_trained_with_the_plain_squared_error(recorded):
    experiments.table3_records(profiles.get("smoke"), Data("vr_synthetic"), progress=False)
    (sing,) = _by(recorded, "joint", "sing")
    assert sing.sr_loss == "mse"
    for model in ("ffsr_resnet", "ffsr_rife"):
        (joint,) = _by(recorded, "joint", model)
        assert joint.sr_loss == "ffsr" and joint.mask == "gaussian"
    srcnn_fine = _by(recorded, "sr_finetune", "srcnn")
    assert {c.sr_loss for c in srcnn_fine} == {"mse"}


def test_sr_pretraining_on_an_image_folder_is_one_run_for_every_trial(recorded):
    profile = profiles.get("smoke")
    for trial in (0, 1):
        pipeline.train_sr(profile, "ffsr", Data("caviar", "root", trial, sr_images="/peta"))
    pre = [c for c in recorded if c.stage == "sr_pretrain"]
    fine = [c for c in recorded if c.stage == "sr_finetune"]
    assert [c.sr_images for c in pre] == ["/peta", "/peta"]
    assert pre[0].name == pre[1].name and pre[0].trial == 0  # the folder has no split
    assert [c.trial for c in fine] == [0, 1] and {c.sr_images for c in fine} == {""}
    assert {c.init for c in fine} == {(pre[0].name,)}
    # without a folder, each trial pre-trains on its own training images
    recorded.clear()
    for trial in (0, 1):
        pipeline.train_sr(profile, "ffsr", Data("caviar", "root", trial))
    pre = [c for c in recorded if c.stage == "sr_pretrain"]
    assert [c.trial for c in pre] == [0, 1] and pre[0].name != pre[1].name


def test_rows_one_at_a_time_are_the_rows_all_at_once(recorded):
    profile, data = profiles.get("smoke"), Data("vr_synthetic")
    whole = experiments.table1_records(profile, data, progress=False)
    assert [r["method"] for r in whole] == list(experiments.TABLE1)
    names = {c.name for c in recorded}
    recorded.clear()
    (ae,) = experiments.table1_records(profile, data, methods=["AE"], progress=False)
    assert ae == whole[experiments.TABLE1.index("AE")]
    assert {c.name for c in recorded} < names  # only the AE row's runs (and the extractor)
    models = {c.model for c in recorded}  # AE's MSE pre-training is FFSR's network's
    assert {"resnet", "ae", "ae_resnet"} <= models
    assert not models & {"srcnn", "vdsr", "srcnn_resnet", "vdsr_resnet", "ffsr_resnet"}
    with pytest.raises(ValueError, match=r"unknown Table 2 rows \['RIFE-X'\]"):
        experiments.table2_records(profile, data, methods=["RIFE-X"])


def test_records_in_parallel_orders_rows_by_split_then_method(recorded):
    profile = profiles.get("smoke")
    replicas = [Data("vr_synthetic", seed=s) for s in (0, 1)]
    methods = ["RIFE", "ResNet50"]
    rows = experiments.records_in_parallel(
        experiments.table2_records, profile, replicas, methods, processes=1
    )
    assert [(r["seed"], r["method"]) for r in rows] == [
        (0, "RIFE"), (0, "ResNet50"), (1, "RIFE"), (1, "ResNet50")
    ]  # fmt: skip
    assert {r["trial"] for r in rows} == {0}


def test_final_run_trains_every_step_but_evaluates_no_composed_network(monkeypatch) -> None:
    """Table 3 reads the joint run alone: the SR + extractor pair before joint training is
    not evaluated (stage compose), unless a caller asks for it or stops before joint."""
    from types import SimpleNamespace

    import lib.train.pipeline as pipeline
    from lib.experiments import final_run

    made: list[str] = []

    def fake_fit(profile, stage, model, data, device, progress, **kw):
        made.append(stage)
        return SimpleNamespace(dir=Path(f"/runs/{stage}-{model}"), stage=stage)

    monkeypatch.setattr(pipeline, "_fit", fake_fit)
    smoke, data = profiles.get("smoke"), pipeline.Data("vr_synthetic")
    assert final_run(smoke, "ffsr_rife", data).stage == "joint"
    assert made == ["extractor", "sr_pretrain", "sr_finetune", "joint"]
    made.clear()
    assert set(pipeline.train_model(smoke, "ffsr_rife", data)) == {
        "extractor", "sr", "composed", "joint",
    }  # fmt: skip
    assert "compose" in made
    runs = pipeline.train_model(smoke, "ffsr_rife", data, joint=False, compose_steps=False)
    assert set(runs) == {"extractor", "sr", "composed"}  # without joint, composed is the result
