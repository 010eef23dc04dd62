"""lib.market: the Market-1501 jobs, their order and rows, and the per-seed CSV."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

from lib import market
from lib.report import market_tables
from lib.train.parallel import Job


def test_jobs_never_train_one_run_twice_at_once() -> None:
    jobs = market.jobs([0, 1], ["vr_market1501"], [1, 2, 3], ["--profile", "market"])
    by_name = {j.name: j for j in jobs}
    assert len(by_name) == len(jobs) == 2 * len(market.NETWORKS)
    # FFSR's SR runs are trained by one job: everything else that uses them waits for it
    for name in ("ffsr_resnet", "ffsr_rife", "ae_resnet", "ffsr_resnet-person"):
        assert "ffsr_resnet-sr-vr_market1501-s1" in by_name[f"{name}-vr_market1501-s1"].after
    assert by_name["ffsr_resnet-sr-vr_market1501-s0"].after == ("resnet-vr_market1501-s0",)
    assert "--no-joint" in by_name["ffsr_resnet-sr-vr_market1501-s0"].argv
    # a job waits only for jobs of its own seed, listed before it
    order = [j.name for j in jobs]
    for job in jobs:
        assert all(a.endswith(job.name[-3:]) and order.index(a) < order.index(job.name)
                   for a in job.after)  # fmt: skip
    person = by_name["ffsr_resnet-person-vr_market1501-s0"].argv
    assert person[-3:-1] == ("--mask", "person") and "--quiet" not in person  # progress: to log
    # the networks whose rows read only the joint run leave the composed network before it
    # unevaluated (an SR pass and a ReID evaluation over Market's 19k test images; FFSR's
    # composed run is the sr job's, Table 1's "FFSR (Gaussian)")
    skipped = {n.name for n in market.NETWORKS if "--no-compose" in n.options}
    assert skipped == {"ffsr_rife", "ffsr_resnet-person"}
    assert all(step == "joint" for n in market.NETWORKS if n.name in skipped for *_, step in n.rows)


def test_table3_alone_brings_only_its_four_networks_and_ffsrs_sr_steps() -> None:
    names = [n.name for n in market.networks_for([3])]
    assert names == ["resnet", "ffsr_resnet-sr", "rife", "ffsr_resnet", "ffsr_rife"]
    assert [n.name for n in market.networks_for([2])] == [
        "resnet", "rife", "two_resnet", "two_resnet_learned",
    ]  # fmt: skip
    # Table 1's AE and person-mask rows reuse FFSR's SR runs, so FFSR comes along
    assert "ffsr_resnet" in [n.name for n in market.networks_for([1])]


def _run(root: Path, name: str, seconds: float, init=(), **config) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    base = {"dataset": "vr_market1501", "seed": 2, "backbone": "mobilenetv2",
            "pretrained": True, "input_size": [64, 32], "profile": "market"}  # fmt: skip
    (folder / "config.json").write_text(json.dumps({**base, **config, "init": list(init)}))
    metrics = {"train_seconds": seconds, "rank1": 0.5, "rank5": 0.7, "rank10": 0.8, "mAP": 0.3}
    (folder / "metrics.json").write_text(json.dumps({**metrics, "cpu_threads": 1}))
    return folder


def test_records_count_every_run_a_network_needs_once(tmp_path: Path) -> None:
    _run(tmp_path, "pre", 10.0)
    _run(tmp_path, "fine", 20.0, init=["pre"])
    _run(tmp_path, "ext", 100.0)
    _run(tmp_path, "composed", 0.0, init=["ext", "fine"])
    joint = _run(tmp_path, "joint", 300.0, init=["ext", "fine"])
    assert market.training_seconds(joint) == 430.0  # pre, fine, ext, joint; each once
    job = Job("ffsr_resnet-vr_market1501-s2", ("pipeline",))
    result = {"joint": {"dir": str(joint), **json.loads((joint / "metrics.json").read_text())}}
    rows = market.records(job, result)
    assert [(r["table"], r["method"]) for r in rows] == [(3, "FFSR"), (1, "FFSR (Gaussian, JL)")]
    assert rows[0]["rank1"] == 50.0 and rows[0]["seconds"] == 430.0
    sr_job = Job("ffsr_resnet-sr-vr_market1501-s2", ("pipeline",))
    composed = {"composed": {"dir": str(tmp_path / "composed"), "rank1": 0.4, "rank5": 0.6,
                             "rank10": 0.7, "mAP": 0.2}}  # fmt: skip
    [row] = market.records(sr_job, composed)
    assert (row["method"], row["rank1"], row["seconds"]) == ("FFSR (Gaussian)", 40.0, 130.0)
    assert rows[0]["input"] == "64x32" and rows[0]["seed"] == 2 and rows[0]["run"] == "joint"
    assert rows[0]["memory_format"] == "contiguous"  # a run of a config without the field
    fast = _run(tmp_path, "fast", 50.0, memory_format="channels_last")
    result = {"extractor": {"dir": str(fast), "rank1": 0.5, "rank5": 0.6, "rank10": 0.7,
                            "mAP": 0.3}}  # fmt: skip
    rows = market.records(Job("rife-vr_market1501-s2", ("pipeline",)), result)
    assert [r["memory_format"] for r in rows] == ["channels_last"] * 2  # Tables 3 and 2


def test_write_records_replaces_a_row_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "figures" / "market_seeds.csv"
    row = {"table": 3, "dataset": "vr_market1501", "method": "RIFE", "seed": 0, "rank1": 40.0,
           "rank5": 60.0, "mAP": 20.0}  # fmt: skip
    market.write_records([row, {**row, "seed": 1, "rank1": 41.0}], path)
    frame = market.write_records([{**row, "rank1": 42.0}], path)
    assert list(zip(frame["seed"], frame["rank1"], strict=True)) == [(0, 42.0), (1, 41.0)]
    assert pd.read_csv(path).equals(frame)
    summary = market.summary(frame)
    assert summary.loc[(3, "vr_market1501", "RIFE"), "n"] == 2
    assert summary.loc[(3, "vr_market1501", "RIFE"), "rank1"] == 41.5


def _write_seeds(path: Path, seed: int) -> None:
    for method in range(25):
        row = {"table": 3, "dataset": "vr_market1501", "method": f"m{method}", "seed": seed,
               "rank1": 40.0, "rank5": 60.0, "mAP": 20.0}  # fmt: skip
        market.write_records([row], path)


def test_write_records_from_two_processes_at_once_keeps_every_row(tmp_path: Path) -> None:
    """Two runners (two ``make market`` commands) merge rows into one file at the same time:
    the lock keeps any read-merge-write from dropping the other process's row."""
    path = tmp_path / "market_seeds.csv"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_seeds, args=(path, s)) for s in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(pd.read_csv(path)) == 50
    assert sorted(p.name for p in tmp_path.iterdir()) == [".market_seeds.csv.lock", path.name]


def test_the_market_setting_trains_ffsr_rife_end_to_end_on_a_small_tree(tmp_path: Path) -> None:
    """Every step of FFSR+RIFE under the market profile (ImageNet MobileNetV2, 128x64, FFSR
    pre-trained on an image folder, Market's parsing masks beside the tree) on a toy
    Market-1501 tree; the run's settings are the profile's."""
    import os
    import subprocess
    import sys

    from tests.layouts import market_tree, write_image

    ROOT = Path(__file__).resolve().parents[1]
    market_tree(tmp_path / "data")
    for i in range(6):
        write_image(tmp_path / "data" / "peta" / "PRID" / f"{i:04d}_a.png", value=100 + i)
    result = subprocess.run(
        [sys.executable, "-m", "lib", "pipeline", "--profile", "market", "--model", "ffsr_rife",
         "--dataset", "vr_market1501", "--data-root", str(tmp_path / "data"), "--sr-images",
         str(tmp_path / "data" / "peta"), "--runs", str(tmp_path / "runs"), "--device", "cpu",
         "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
             "RIPR_DERIVED": str(tmp_path / "derived")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(out) == {"extractor", "sr", "composed", "joint"}
    joint = json.loads((Path(out["joint"]["dir"]) / "config.json").read_text())
    assert (joint["backbone"], joint["pretrained"], joint["input_size"]) == (
        "mobilenetv2", True, [128, 64],
    )  # fmt: skip
    assert joint["optim"]["epochs"] == 4 and joint["optim"]["lr"] == 0.001
    assert 0.0 <= out["joint"]["rank1"] <= 1.0


def test_figure_jobs_follow_their_network_and_give_labelled_cells() -> None:
    jobs = market.jobs([0], ["vr_market1501"], [3], ["--profile", "market"], figures=True)
    names = [j.name for j in jobs]
    figure = {j.name: j for j in jobs if j.argv[0] == "objective"}
    fig2 = figure.pop("o-resnet-market1501-s0")  # Fig. 2: the baseline trained on HR images
    assert fig2.after == () and fig2.argv[fig2.argv.index("--dataset") + 1] == "market1501"
    assert names[-1] == fig2.name  # last: it trains a baseline of its own
    assert sorted(figure) == sorted(f"o-{n}-vr_market1501-s0" for n in market.FIG4)
    for name, job in figure.items():
        assert job.after == (name[2:],) and names.index(job.after[0]) < names.index(name)
    job = figure["o-ffsr_rife-vr_market1501-s0"]
    result = {"grid": [{"r1": 0.5, "r2": 1.0, "O": 0.7}, {"r1": 1.0, "r2": 1.0, "O": 0.4}]}
    rows = market.objective_records(job, result)
    assert rows[0] == {"dataset": "vr_market1501", "network": "FFSR+RIFE", "seed": 0,
                       "r1": 0.5, "r2": 1.0, "O": 0.7}  # fmt: skip
    assert market.jobs([0], ["vr_market1501"], [3], ["--profile", "market"]) == [
        j for j in jobs if j.argv[0] != "objective"
    ]


def test_objective_command_prints_the_grid_of_the_final_run(tmp_path: Path, monkeypatch, capsys):
    from lib.__main__ import main

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    argv = ["objective", "--model", "resnet", "--runs", str(tmp_path / "runs"), "--device", "cpu",
            "--quiet", "--max-images", "40"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    cells = pd.DataFrame(out["grid"])
    rs = [0.25, 0.5, 1.0]  # the smoke profile's resolutions
    assert sorted(set(cells["r1"])) == rs and sorted(set(cells["r2"])) == rs and len(cells) == 9
    assert (cells["O"] > 0).all() and Path(out["dir"]).name.startswith("extractor-resnet")


def test_objective_command_run_again_reads_its_result_and_recomputes_nothing(
    tmp_path: Path, monkeypatch, capsys
):
    """lib market is resumed by running every job again: an objective job whose run already
    has its grid returns that grid without evaluating anything; another image count does not."""
    import lib.eval.analysis
    from lib.__main__ import main

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    argv = ["objective", "--model", "resnet", "--runs", str(tmp_path / "runs"), "--device", "cpu",
            "--quiet", "--max-images", "40"]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(list(Path(first["dir"]).glob("objective-*.json"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("the grid was computed again")

    monkeypatch.setattr(lib.eval.analysis, "objective_for_model", fail)
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == first
    with pytest.raises(AssertionError, match="computed again"):
        main(argv[:-1] + ["30"])


def test_objective_command_on_market_hr_images_is_fig2s_grid(tmp_path: Path, monkeypatch, capsys):
    """Fig. 2 on Market: the baseline trained and tested on the HR tree itself (no variant)."""
    from lib.__main__ import main
    from tests.layouts import market_tree

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    market_tree(tmp_path / "data")
    argv = ["objective", "--model", "resnet", "--dataset", "market1501", "--data-root",
            str(tmp_path / "data"), "--runs", str(tmp_path / "runs"), "--device", "cpu",
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    config = json.loads((Path(out["dir"]) / "config.json").read_text())
    assert config["dataset"] == "market1501" and config["stage"] == "extractor"
    job = market.Job("o-resnet-market1501-s0", ("objective", "--model", "resnet", "--dataset",
                                                "market1501", "--seed", "0"))  # fmt: skip
    rows = market.objective_records(job, out)
    assert {r["dataset"] for r in rows} == {"market1501"} and {r["network"] for r in rows} == {
        "ResNet"
    }


def test_objective_command_on_rife_reports_its_fusion_weights(tmp_path: Path, monkeypatch, capsys):
    """Sec. 4.2 on Market: a RIFE network's objective job also gives its mean fusion weights
    per resolution and DSB, which make market writes to market_fusion_seeds.csv."""
    from lib.__main__ import main

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    argv = ["objective", "--model", "rife", "--runs", str(tmp_path / "runs"), "--device", "cpu",
            "--quiet", "--max-images", "40"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    fusion = pd.DataFrame(out["fusion"])
    assert sorted(set(fusion["r"])) == [0.25, 0.5, 1.0] and sorted(set(fusion["block"])) == [
        1,
        2,
        3,
        4,
    ]
    assert len(fusion) == 12 and fusion[["w_low", "w_high"]].stack().between(0, 1).all()
    job = market.Job("o-rife-vr_market1501-s2", ("objective", "--model", "rife", "--dataset",
                                                 "vr_market1501", "--seed", "2"))  # fmt: skip
    rows = market.fusion_records(job, out)
    assert rows[0]["network"] == "RIFE" and rows[0]["seed"] == 2 and len(rows) == 12
    path = tmp_path / market.FUSION_FILE
    market.write_records(rows, path, market.FUSION_KEY)
    market.write_records(rows, path, market.FUSION_KEY)  # a job run again replaces its rows
    assert len(pd.read_csv(path)) == 12


def test_table3_and_its_figures_start_before_what_tables_1_and_2_add() -> None:
    datasets = ["vr_market1501", "mlr_market1501"]
    jobs = market.jobs([0, 1], datasets, [1, 2, 3], ["--profile", "market"], figures=True)
    names = [j.name for j in jobs]
    assert len(names) == len(set(names))
    position = {n: i for i, n in enumerate(names)}
    for job in jobs:  # everything a job waits for starts before it
        assert all(position[a] < position[job.name] for a in job.after)
    table3 = {n.name for n in market.networks_for([3])}

    def kind(name: str) -> str:
        if name.startswith("o-"):
            return "figure"
        return "table3" if name.rsplit("-", 2)[0] in table3 else "other"

    for dataset in datasets:
        hr = "vr_" in dataset  # Fig. 2's jobs (dataset market1501) come with the first dataset
        mine = [n for n in names if dataset in n or (hr and "-market1501-s" in n)]
        order = [kind(n) for n in mine]
        assert order == sorted(order, key=["table3", "figure", "other"].index), dataset
    assert position["o-resnet-market1501-s1"] < position["ae_resnet-vr_market1501-s0"]
    assert max(position[n] for n in names if "vr_" in n) < min(
        position[n] for n in names if "mlr_" in n
    )


def _recorded(folder: Path, seed: int, methods, cells=(), fusion=()) -> None:
    """Per-seed files under ``folder`` as finished jobs on another machine left them."""
    rows = [{"table": t, "dataset": "vr_market1501", "method": m, "seed": seed, "rank1": 50.0}
            for t, m in methods]  # fmt: skip
    market.write_records(rows, folder / market.SEEDS_FILE)
    for network in cells:
        cell = {"dataset": "vr_market1501", "network": network, "seed": seed, "r1": 0.5}
        market.write_records([{**cell, "r2": 1.0, "O": 0.4}], folder / market.OBJECTIVE_FILE,
                             market.OBJECTIVE_KEY)  # fmt: skip
    for network in fusion:
        row = {"dataset": "vr_market1501", "network": network, "seed": seed, "r": 0.25}
        market.write_records([{**row, "block": 1, "w_L": 0.6}], folder / market.FUSION_FILE,
                             market.FUSION_KEY)  # fmt: skip


def test_pending_leaves_out_what_the_per_seed_files_record(tmp_path: Path) -> None:
    all_jobs = market.jobs([0, 1], ["vr_market1501"], [3], ["--profile", "market"], figures=True)
    # seed 0's baseline: all three of its rows; FFSR's SR job: only one row of two missing
    baseline = [(3, "ResNet50"), (2, "ResNet50"), (1, "Bilinear")]
    _recorded(tmp_path, 0, baseline, cells=["ResNet", "RIFE"])
    _recorded(tmp_path, 1, [(3, "RIFE"), (2, "RIFE")], cells=["RIFE"], fusion=["RIFE"])
    to_run, skipped = market.pending(all_jobs, tmp_path)
    assert {j.name for j in skipped} == {
        "resnet-vr_market1501-s0", "o-resnet-vr_market1501-s0",
        "rife-vr_market1501-s1", "o-rife-vr_market1501-s1",
    }  # fmt: skip
    # RIFE's grid of seed 0 lacks its fusion weights: run again (it reads its cached result)
    by_name = {j.name: j for j in to_run}
    assert "o-rife-vr_market1501-s0" in by_name
    assert len(to_run) + len(skipped) == len(all_jobs)
    # what waited for a skipped job waits no more; other waits stay
    assert by_name["ffsr_resnet-sr-vr_market1501-s0"].after == ()
    assert by_name["ffsr_resnet-sr-vr_market1501-s1"].after == ("resnet-vr_market1501-s1",)
    assert by_name["ffsr_rife-vr_market1501-s1"].after == ("ffsr_resnet-sr-vr_market1501-s1",)
    assert [j.name for j in to_run] == [j.name for j in all_jobs if j.name in by_name]  # order
    # nothing recorded (a first run, or --redo): every job
    assert market.pending(all_jobs, None)[0] == all_jobs


def test_pending_selects_networks_and_names_an_unknown_one(tmp_path: Path) -> None:
    all_jobs = market.jobs([0], ["vr_market1501"], [2, 3], ["--profile", "market"], figures=True)
    to_run, _ = market.pending(all_jobs, tmp_path, ["rife", "two_resnet"])
    assert [j.name for j in to_run] == [
        "rife-vr_market1501-s0", "o-rife-vr_market1501-s0", "two_resnet-vr_market1501-s0",
    ]  # fmt: skip
    to_run, _ = market.pending(all_jobs, tmp_path, ["resnet"])  # Fig. 2's baseline is resnet's
    assert [j.name for j in to_run][-1] == "o-resnet-market1501-s0"
    with pytest.raises(ValueError, match="unknown networks \\['resnet50'\\]; expected"):
        market.pending(all_jobs, tmp_path, ["resnet50"])


def test_figure_jobs_are_vr_market1501s_only() -> None:
    both = market.jobs([0], ["mlr_market1501", "vr_market1501"], [3], ["--profile", "market"],
                       figures=True)  # fmt: skip
    figure = [j.name for j in both if j.argv[0] == "objective"]
    assert figure and all("mlr" not in name for name in figure)
    assert "o-resnet-market1501-s0" in figure  # Fig. 2, once
    alone = market.jobs([0], ["mlr_market1501"], [3], ["--profile", "market"], figures=True)
    assert all(j.argv[0] == "pipeline" for j in alone)


def test_side_by_side_puts_rows_in_the_papers_order_with_its_numbers(tmp_path: Path) -> None:
    """Rows come in the paper's order whatever order the runs finished in; each dataset's
    mean, std and n are the seeds'; Table 3's VR column carries the paper's number and our
    difference to it."""
    finished = [("RIFE", 0, 64.0), ("two ResNet50 (learned weights)", 0, 63.0),
                ("ResNet50", 0, 60.0), ("ResNet50", 1, 62.0), ("two ResNet50", 0, 61.0)]  # fmt: skip
    scores = {"rank5": 80.0, "rank10": 85.0}
    rows = [{"table": 2, "dataset": "vr_market1501", "method": m, "seed": s, "rank1": r,
             "mAP": r / 2, **scores} for m, s, r in finished]  # fmt: skip
    rows += [{**row, "table": 3} for row in rows if row["method"] in ("ResNet50", "RIFE")]
    rows.append({"table": 2, "dataset": "mlr_market1501", "method": "RIFE", "seed": 0,
                 "rank1": 70.0, "mAP": 40.0, **scores})  # fmt: skip
    market.write_records(rows, tmp_path / market.SEEDS_FILE)
    paper = pd.DataFrame({"table": [3, 3], "dataset": ["VR-Market1501"] * 2,
                          "label": ["ResNet50", "RIFE"], "rank1": [57.0, 62.6]})  # fmt: skip
    t2 = market.side_by_side(tmp_path, paper, table=2)
    assert list(t2.index) == ["ResNet50", "two ResNet50", "two ResNet50 (learned weights)", "RIFE"]
    vr = t2["VR-Market1501"]
    assert vr.loc["ResNet50", "rank1"] == 61.0 and vr.loc["ResNet50", "n"] == 2
    assert vr.loc["ResNet50", "rank1 std"] == pytest.approx(2**0.5)
    assert vr.loc["ResNet50", "mAP"] == 30.5
    assert "rank1 paper" not in vr.columns  # the paper ran Table 2 on VR-MSMT17
    assert t2["MLR-Market1501"]["rank1"].isna().tolist() == [True, True, True, False]
    t3 = market.side_by_side(tmp_path, paper, table=3)
    assert list(t3.index) == ["ResNet50", "RIFE"]
    assert t3["VR-Market1501"]["rank1 paper"].tolist() == [57.0, 62.6]
    assert t3["VR-Market1501"]["ours - paper"].tolist() == pytest.approx([4.0, 1.4])


def test_cost_table_counts_a_run_once_under_all_its_rows_names() -> None:
    """Rows of several tables that read one run are one entry, Table 3's name first; hours
    are the seeds' seconds / 3600 (mean, min, max); entries per dataset, cheapest first."""

    def row(table, dataset, method, seed, seconds, run, fmt="contiguous"):
        return {"table": table, "dataset": dataset, "method": method, "seed": seed,
                "seconds": seconds, "run": run, "memory_format": fmt, "cpu_threads": 1}  # fmt: skip

    frame = pd.DataFrame(
        [row(1, "vr_market1501", "Bilinear", s, sec, f"extractor-resnet-vr-{s}")
         for s, sec in ((0, 3600.0), (1, 7200.0))]
        + [row(3, "vr_market1501", "ResNet50", s, sec, f"extractor-resnet-vr-{s}")
           for s, sec in ((0, 3600.0), (1, 7200.0))]
        + [row(3, "vr_market1501", "RIFE", 0, 1800.0, "extractor-rife-vr-0")]
        + [row(3, "mlr_market1501", "ResNet50", 0, 900.0, "extractor-resnet-mlr-0", "channels_last")]
    )  # fmt: skip
    cost = market.cost_table(frame.sample(frac=1.0, random_state=0))  # any row order
    assert list(cost.index) == [("vr_market1501", "RIFE"), ("vr_market1501", "ResNet50 = Bilinear"),
                                ("mlr_market1501", "ResNet50")]  # fmt: skip
    resnet = cost.loc[("vr_market1501", "ResNet50 = Bilinear")]
    assert resnet["n"] == 2 and resnet["hours mean"] == pytest.approx(1.5)
    assert (resnet["hours min"], resnet["hours max"]) == (1.0, 2.0)
    assert cost.loc[("mlr_market1501", "ResNet50"), "memory format"] == "channels_last"


def test_save_ablation_tables_writes_each_recorded_dataset_to_out(tmp_path: Path) -> None:
    """Table 2's Market rows become table2_<dataset> in ``out`` (the per-seed file's folder
    is left as it was), one per dataset recorded, with the seeds' mean and n."""
    rows = [{"table": 2, "dataset": "vr_market1501", "method": "RIFE", "seed": s, "rank1": r,
             "rank5": 80.0, "rank10": 85.0, "mAP": 40.0, "backbone": "mobilenetv2",
             "pretrained": True, "input": "128x64", "profile": "market"}
            for s, r in ((0, 60.0), (1, 64.0))]  # fmt: skip
    market.write_records(rows, tmp_path / market.SEEDS_FILE)
    out = tmp_path / "out"
    written = market_tables.save_ablation_tables(tmp_path, 2, out=out)
    assert list(written) == ["vr_market1501"]
    assert written["vr_market1501"].loc["RIFE", "rank1"] == pytest.approx(62.0)
    assert written["vr_market1501"].loc["RIFE", "n"] == 2
    assert (out / "table2_vr_market1501.csv").is_file()
    # nothing written beside the per-seed file but its lock (lib.market.write_records)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f".{market.SEEDS_FILE}.lock",
        market.SEEDS_FILE,
        "out",
    ]
    assert market_tables.save_ablation_tables(tmp_path, 1, out=out) == {}  # no Table 1 row recorded


def test_cost_table_of_a_file_without_run_names_is_empty() -> None:
    """A per-seed file written before runs were recorded (no ``run`` column) costs nothing
    to show: an empty table, not a KeyError in notebook 12."""
    frame = pd.DataFrame([{"table": 3, "dataset": "vr_market1501", "method": "RIFE", "seed": 0,
                           "rank1": 60.0, "seconds": 1.0}])  # fmt: skip
    assert market.cost_table(frame).empty
    with_run = frame.assign(run="extractor-rife-vr-0")  # no memory format or threads recorded
    assert market.cost_table(with_run).loc[("vr_market1501", "RIFE"), "memory format"] == ""
