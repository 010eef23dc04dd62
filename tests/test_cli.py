"""``python -m lib``: one command line, the same options for what its commands share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.__main__ import main, parser

ROOT = Path(__file__).resolve().parents[1]


def _options(command: str) -> set[str]:
    sub = parser()._subparsers._group_actions[0].choices[command]
    return {s for action in sub._actions for s in action.option_strings}


def test_train_and_pipeline_share_their_common_options() -> None:
    shared = {
        "--profile", "--dataset", "--data-root", "--trial", "--seed", "--mask", "--sr-images",
        "--no-pretrained", "--pretrained", "--backbone", "--input", "--device", "--runs",
        "--quiet", "--model",
    }  # fmt: skip
    assert shared <= _options("train") and shared <= _options("pipeline")
    assert _options("train") - _options("pipeline") == {
        "--stage", "--init", "--epochs", "--batch-size", "--compile",
    }  # fmt: skip
    assert _options("pipeline") - _options("train") == {"--no-joint", "--no-compose"}


def test_a_command_is_required_and_stages_are_checked(capsys) -> None:
    with pytest.raises(SystemExit):
        main([])
    assert "train" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--stage", "pretrain", "--model", "ffsr"])
    assert "invalid choice: 'pretrain'" in capsys.readouterr().err


def test_pipeline_trains_into_the_runs_folder_it_is_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    runs = tmp_path / "runs"
    result = subprocess.run(
        [sys.executable, "-m", "lib", "pipeline", "--model", "resnet", "--runs", str(runs),
         "--quiet", "--device", "cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(out) == {"extractor"}  # a bilinear network has no SR steps
    folder = Path(out["extractor"]["dir"])
    assert folder.parent == runs / "smoke" and (folder / "metrics.json").is_file()
    assert 0.0 <= out["extractor"]["rank1"] <= 1.0


def test_backbone_initialisation_and_input_size_reach_the_run(tmp_path: Path) -> None:
    from lib.__main__ import profile_from
    from lib.train.runs import stage_config

    args = parser().parse_args(
        ["train", "--stage", "extractor", "--model", "resnet", "--profile", "market",
         "--backbone", "resnet10", "--no-pretrained", "--input", "64x32",
         "--dataset", "vr_market1501"]
    )  # fmt: skip
    config = stage_config(profile_from(args), "extractor", "resnet", "vr_market1501")
    assert (config.backbone, config.pretrained, config.input_size) == ("resnet10", False, (64, 32))
    default = stage_config(
        profile_from(parser().parse_args(["pipeline", "--profile", "market"])),
        "extractor", "resnet", "vr_market1501",
    )  # fmt: skip
    assert (default.backbone, default.pretrained, default.input_size) == (
        "mobilenetv2", True, (128, 64),
    )  # fmt: skip
    assert default.key != config.key


@pytest.mark.parametrize("text", ["64", "64x", "axb", "0x32", "64x-2"])
def test_a_bad_input_size_is_one_clear_error(text: str, capsys) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["pipeline", "--input", text])
    err = capsys.readouterr().err
    assert "argument --input" in err and repr(text) in err


def test_market_command_names_the_missing_tree(tmp_path: Path, capsys) -> None:
    assert main(["market", "--data-root", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "market1501") in err[0] and "query/" in err[0]


def test_market_dry_run_lists_what_is_left_and_trains_nothing(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """``--dry-run``: the jobs not yet recorded in figures/market_seeds.csv, each with what it
    waits for, and no run folder made."""
    from lib import market
    from tests.layouts import market_tree

    market_tree(tmp_path / "data")
    monkeypatch.setenv("RIPR_OUTPUT", str(tmp_path / "out"))
    recorded = [{"table": t, "dataset": "vr_market1501", "method": m, "seed": 0, "rank1": 60.0}
                for t, m in ((3, "ResNet50"), (2, "ResNet50"), (1, "Bilinear"))]  # fmt: skip
    market.write_records(recorded, tmp_path / "out" / "figures" / market.SEEDS_FILE)
    argv = ["market", "--data-root", str(tmp_path / "data"), "--runs", str(tmp_path / "runs"),
            "--tables", "2", "3", "--seeds", "0", "--no-figures", "--dry-run"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    listed = out[: out.index("{")].splitlines()
    assert sorted(listed) == [  # the order is lib.market.jobs' (tests/test_market.py)
        "ffsr_resnet-sr-vr_market1501-s0",
        "ffsr_resnet-vr_market1501-s0 (after ffsr_resnet-sr-vr_market1501-s0)",
        "ffsr_rife-vr_market1501-s0 (after rife-vr_market1501-s0, ffsr_resnet-sr-vr_market1501-s0)",
        "rife-vr_market1501-s0",
        "two_resnet-vr_market1501-s0",
        "two_resnet_learned-vr_market1501-s0",
    ]
    assert json.loads(out[out.index("{") :]) == {"to_run": 6, "left_out": 1}
    assert not (tmp_path / "runs").exists()


def test_help_names_every_command_with_one_line(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("train", "pipeline", "market", "weights", "download", "splits", "masks"):
        assert f"    {command} " in out, command
    for command in ("train", "pipeline"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--backbone" in capsys.readouterr().out


def test_splits_command_exports_then_checks(tmp_path: Path, capsys) -> None:
    from tests.layouts import caviar_tree

    caviar_tree(tmp_path / "data")
    folder = tmp_path / "splits"
    argv = ["caviar", "--root", str(tmp_path / "data"), "--folder", str(folder)]
    assert main(["splits", "export", *argv]) == 0
    assert main(["splits", "check", *argv]) == 0
    assert "gives the seeded split of every trial" in capsys.readouterr().out
    data = json.loads((folder / "caviar.json").read_text())
    test = data["trials"][0]["test_pids"]
    data["trials"][0]["test_pids"] = [p for p in data["pids"] if p not in test]  # the train half
    (folder / "caviar.json").write_text(json.dumps(data))
    assert main(["splits", "check", *argv]) == 1
    assert "trial 0 differs" in capsys.readouterr().err


def test_masks_command_reads_market_parsing_labels(tmp_path: Path, capsys) -> None:
    import numpy as np
    from PIL import Image

    from tests.layouts import market_tree

    names = market_tree(tmp_path)
    folder = tmp_path / "market1501_parsing" / "bounding_box_train"
    folder.mkdir(parents=True)
    labels = np.zeros((128, 64), dtype=np.uint8)
    labels[10:120, 10:50] = 3
    for name in names["bounding_box_train"]:
        Image.fromarray(labels).save(folder / f"{Path(name).stem}.png")
    figure = tmp_path / "grid.png"
    argv = ["masks", "market1501", "--root", str(tmp_path), "--source", "market1501_parsing",
            "--figure", str(figure)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "market1501_parsing" in out and figure.is_file()
    assert main(["masks", "market1501", "--root", str(tmp_path / "none"), "--source",
                 "market1501_parsing"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(tmp_path / "none") in err


def test_market_names_the_failed_jobs_in_one_line(tmp_path: Path, monkeypatch) -> None:
    from lib.train import parallel
    from tests.layouts import market_tree

    market_tree(tmp_path / "data")

    def failing(jobs, logs, **kw):
        raise parallel.JobsFailed("rife-vr_market1501-s0: exit 1, log /x/rife.log")

    monkeypatch.setattr(parallel, "run_jobs", failing)
    with pytest.raises(SystemExit) as error:
        main(["market", "--data-root", str(tmp_path / "data"), "--quiet", "--runs", str(tmp_path)])
    assert str(error.value) == (
        "python -m lib market: rife-vr_market1501-s0: exit 1, log /x/rife.log"
    )
