import numpy as np
import pandas as pd
import pytest

from lib import claims
from lib.report import tables


def _records(deltas: dict[str, float], seeds=(0, 1, 2), base=0.30, noise=(0.0, 0.01, -0.01)):
    rows = []
    for seed, eps in zip(seeds, noise, strict=True):
        rows.append({"method": "ResNet50", "seed": seed, "rank1": base + eps})
        for method, delta in deltas.items():
            rows.append(
                {"method": method, "seed": seed, "rank1": base + eps + delta + 0.002 * seed}
            )
    return pd.DataFrame(rows)


def test_row_claims_pair_by_seed_and_give_verdicts():
    records = _records({"RIFE": 0.05, "two ResNet50": 0.05, "two ResNet50 (learned weights)": 0.10})
    rows = {r["claim"]: r for r in claims.row_claims(records, 2, dataset="toy", protocol="market")}
    beats_resnet = rows["RIFE beats ResNet"]
    # paired differences are 5.0, 5.2, 5.4 points: the common noise cancels
    assert beats_resnet["n"] == 3
    assert beats_resnet["difference"] == pytest.approx(5.2)
    assert beats_resnet["ci_low"] > 0 and beats_resnet["verdict"] == "holds"
    assert rows["RIFE beats two ResNets fused with learned weights"]["verdict"] == "refuted"
    assert rows["RIFE beats two ResNets fused with equal weights"]["verdict"] == "inconclusive"


def test_missing_rows_are_inconclusive_with_n_zero():
    rows = claims.row_claims(_records({"RIFE": 0.05}), 2, dataset="toy", protocol="market")
    missing = next(r for r in rows if "equal weights" in r["claim"])
    assert missing["n"] == 0 and missing["verdict"] == "inconclusive"


def test_paper_difference_comes_from_the_reported_table():
    paper = tables.paper_numbers()
    t2 = paper[(paper["table"] == 2)].set_index("label")["rank1"]
    expected = t2["RIFE"] - t2["ResNet50"]
    assert claims.paper_difference(paper, 2, "RIFE", "ResNet50", "VR-MSMT17") == pytest.approx(
        expected
    )
    rows = claims.row_claims(
        _records({"RIFE": 0.05}), 2, dataset="toy", protocol="market", paper=paper
    )
    assert rows[0]["paper"] == f"Table 2, VR-MSMT17: {expected:+.1f}"


def _grid(rs, slope_same, slope_cross, base=0.5):
    g = pd.DataFrame(index=rs, columns=rs, dtype=float)
    for r1 in rs:
        for r2 in rs:
            g.loc[r1, r2] = base + slope_same * (1 - min(r1, r2)) + slope_cross * abs(r1 - r2)
    return g


def test_objective_claims_read_figures_2_and_4_off_the_grids():
    rs = [0.25, 0.5, 1.0]
    resnet = {s: _grid(rs, 0.2 + 0.01 * s, 0.3) for s in range(3)}
    flat = {s: _grid(rs, 0.05, 0.05, base=0.4 + 0.001 * s) for s in range(3)}
    rows = claims.objective_claims({"ResNet": resnet, "RIFE": flat}, dataset="toy", protocol="x")
    by = {r["claim"].split(":")[0]: r for r in rows}
    assert all(r["verdict"] == "holds" for r in rows), [(r["claim"], r["verdict"]) for r in rows]
    assert by["O rises as both resolutions fall"]["difference"] == pytest.approx(0.21 * 0.75)
    assert len(rows) == 5


def test_fusion_claims_follow_eq7_targets():
    rs = np.array([0.25, 0.5, 1.0])
    weights = {
        s: pd.DataFrame({"r": rs, "block": 1, "w_low": 1 - rs + 0.01 * s, "w_high": rs - 0.01 * s})
        for s in range(3)
    }
    rows = claims.fusion_claims(weights, dataset="toy", protocol="x")
    assert [r["verdict"] for r in rows] == ["holds", "holds"]
    assert rows[0]["difference"] == pytest.approx(0.75)


def test_claims_frame_has_the_interface_columns():
    rows = claims.row_claims(_records({"RIFE": 0.05}), 2, dataset="toy", protocol="market")
    frame = claims.claims_frame(rows)
    assert {"claim", "dataset", "n", "difference", "ci_low", "ci_high", "verdict"} <= set(frame)
    with pytest.raises(ValueError, match="lack the columns"):
        claims.claims_frame([{"claim": "x"}])


def test_grids_by_seed_pivots_the_long_records_back():
    rs = [0.25, 1.0]
    g = _grid(rs, 0.2, 0.3)
    long = g.rename_axis(index="r1", columns="r2").stack().rename("O").reset_index()
    long = pd.concat([long.assign(network="ResNet", seed=s) for s in (0, 1)])
    grids = claims.grids_by_seed(long, "ResNet")
    assert sorted(grids) == [0, 1]
    assert np.allclose(grids[1].to_numpy(), g.to_numpy(dtype=float))
    assert claims.grids_by_seed(long, "RIFE") == {}
