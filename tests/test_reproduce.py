"""scripts/reproduce.py through lib.settings: the executed notebooks go to RIPR_RUNS, the
figures to the profile's folder under RIPR_OUTPUT, and the list it prints is what it wrote."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "scripts" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_reproduce_lists_the_files_it_wrote(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RIPR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RIPR_OUTPUT", str(tmp_path / "out"))
    rows = [
        {"table": 3, "dataset": "vr_market1501", "method": m, "seed": s, "rank1": 50.0 + s + i,
         "rank5": 70.0, "rank10": 80.0, "mAP": 30.0, "backbone": "mobilenetv2",
         "pretrained": True, "input": "128x64", "profile": "market", "seconds": 1.0}
        for i, m in enumerate(["ResNet50", "RIFE"]) for s in range(2)
    ]  # fmt: skip
    (tmp_path / "out" / "figures").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(tmp_path / "out" / "figures" / "market_seeds.csv", index=False)
    stale = tmp_path / "out" / "runs" / "smoke" / "figures" / "old.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("written before\n")
    assert _script().main(["--profile", "smoke", "--only", "12"]) == 0
    out = capsys.readouterr().out
    figures = tmp_path / "out" / "runs" / "smoke" / "figures"
    listed = [Path(line.strip()) for line in out.splitlines() if line.startswith("  /")]
    assert listed and all(p.parent == figures and p.is_file() for p in listed)
    assert figures / "market_table3.csv" in listed and stale not in listed
    assert (tmp_path / "runs" / "smoke" / "12_market.ipynb").is_file()
    assert not (tmp_path / "out" / "figures" / "market_table3.csv").exists()
