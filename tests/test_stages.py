"""The stage objects (lib.train.stages): what each builds, freezes and fixes, chosen by name once."""

from __future__ import annotations

import pytest
import torch

from lib import profiles
from lib.models import build_model
from lib.profiles import NO_TRAINING, Optim
from lib.train import build_network, stages
from lib.train.runs import RunConfig, stage_config


def test_every_stage_makes_a_run_of_the_profiles_settings() -> None:
    paper = profiles.get("paper")
    for name, stage in stages.STAGES.items():
        model = "ffsr" if stage.builds == "sr" else "ffsr_rife"
        config = stage_config(paper, name, model, "vr_msmt17")
        assert config.stage == name
        expected = paper.optim_for(stage.optim, "vr_msmt17") if stage.optim else NO_TRAINING
        assert config.optim == expected
        for key, value in stage.fixed.items():
            assert getattr(config, key) == value
        assert RunConfig.from_json(config.to_json()) == config  # round trip through JSON


def test_an_unknown_stage_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="sr_pretrain, sr_finetune, extractor, joint, compose"):
        stages.get("pretrain")
    with pytest.raises(ValueError, match="stage must be one of"):
        RunConfig(stage="sr", model="ffsr", dataset="x")


def test_overrides_reach_the_run_or_its_optimisation_settings() -> None:
    smoke = profiles.get("smoke")
    config = stage_config(smoke, "joint", "ffsr_rife", "vr_synthetic", epochs=3, seed=2, lr=0.5)
    assert (config.optim.epochs, config.optim.lr, config.seed) == (3, 0.5, 2)
    assert config.optim.batch_size == smoke.joint.batch_size
    with pytest.raises(ValueError, match="stage compose does not train: epochs must be 0"):
        stage_config(smoke, "compose", "ffsr_rife", "vr_synthetic", epochs=1)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        Optim(epochs=1, lr=0.1, optimizer="rmsprop")


def test_the_extractor_stage_freezes_the_sr_module_in_eval_mode() -> None:
    model = build_model("ffsr_rife", 5, backbone="resnet18", sr_options={"ffsr": {"width": 4}})
    stage = stages.get("extractor")
    params = stage.trainable(model)
    assert {id(p) for p in params} == {id(p) for p in model.extractor.parameters()}
    assert not any(p.requires_grad for p in model.sr.parameters())
    stage.train_mode(model)
    assert model.extractor.training and not model.sr.training
    joint = build_model("ffsr_rife", 5, backbone="resnet18", sr_options={"ffsr": {"width": 4}})
    assert len(stages.get("joint").trainable(joint)) == len(list(joint.parameters()))


def test_what_a_stage_builds_decides_the_model() -> None:
    smoke = profiles.get("smoke")
    sr = build_network(stage_config(smoke, "sr_pretrain", "ffsr", "vr_synthetic"), 4)
    assert not hasattr(sr, "extractor") and sr(torch.rand(1, 3, 64, 32)).shape == (1, 3, 64, 32)
    net = build_network(stage_config(smoke, "compose", "ffsr_rife", "vr_synthetic"), 4)
    assert net(torch.rand(2, 3, 64, 32))["logits"].shape == (2, 4)


def test_only_stages_whose_step_reads_no_target_skip_the_hr_source_and_mask() -> None:
    """Eq. 9's step reads img, pid and r: its training items decode no HR source or mask
    (``reads_targets``); every stage that trains an SR module reads them."""
    assert [n for n, s in stages.STAGES.items() if s.loss and not s.reads_targets] == ["extractor"]
    smoke = profiles.get("smoke")
    config = stage_config(smoke, "extractor", "rife", "vr_synthetic")
    model = build_network(config, 4)
    stages.get("extractor").train_mode(model)
    batch = {"img": torch.rand(4, 3, 64, 32), "pid": torch.arange(4), "r": torch.rand(4)}
    terms = config.spec.loss(model, batch, config, torch.device("cpu"), False)  # no hr, no mask
    assert terms["total"].isfinite()
    joint = stage_config(smoke, "joint", "ffsr_rife", "vr_synthetic")
    with pytest.raises(KeyError, match="hr"):
        joint.spec.loss(build_network(joint, 4), batch, joint, torch.device("cpu"), False)
