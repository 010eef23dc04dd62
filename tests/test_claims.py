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
    frame = claims.claims_frame(claims.row_claims(records, 2, dataset="toy", protocol="market"))
    rows = {r["claim"]: r for r in frame.to_dict("records")}
    beats_resnet = rows["RIFE beats ResNet"]
    # paired differences are 5.0, 5.2, 5.4 points: the common noise cancels
    assert beats_resnet["n"] == 3
    assert beats_resnet["difference"] == pytest.approx(5.2)
    assert beats_resnet["ci_low"] > 0 and beats_resnet["verdict"] == "holds"
    assert rows["RIFE beats two ResNets fused with learned weights"]["verdict"] == "refuted"
    assert rows["RIFE beats two ResNets fused with equal weights"]["verdict"] == "inconclusive"


def test_missing_rows_are_inconclusive_with_n_zero():
    rows = claims.row_claims(_records({"RIFE": 0.05}), 2, dataset="toy", protocol="market")
    frame = claims.claims_frame(rows)
    missing = next(r for r in frame.to_dict("records") if "equal weights" in r["claim"])
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
    rows = claims.claims_frame(rows).to_dict("records")
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
    rows = claims.claims_frame(claims.fusion_claims(weights, dataset="toy", protocol="x"))
    rows = rows.to_dict("records")
    assert [r["verdict"] for r in rows] == ["holds", "holds"]
    assert rows[0]["difference"] == pytest.approx(0.75)


def test_claims_frame_has_the_interface_columns():
    rows = claims.row_claims(_records({"RIFE": 0.05}), 2, dataset="toy", protocol="market")
    frame = claims.claims_frame(rows)
    assert {"claim", "dataset", "n", "difference", "ci_low", "ci_high", "verdict"} <= set(frame)
    with pytest.raises(ValueError, match="lack the columns"):
        claims.claims_frame([{"claim": "x"}])
    empty = claims.claims_frame([])  # no claim has both its rows yet (a partial Market run)
    assert list(empty.columns) == claims.COLUMNS and empty.empty


def test_grids_by_seed_pivots_the_long_records_back():
    rs = [0.25, 1.0]
    g = _grid(rs, 0.2, 0.3)
    long = g.rename_axis(index="r1", columns="r2").stack().rename("O").reset_index()
    long = pd.concat([long.assign(network="ResNet", seed=s) for s in (0, 1)])
    grids = claims.grids_by_seed(long, "ResNet")
    assert sorted(grids) == [0, 1]
    assert np.allclose(grids[1].to_numpy(), g.to_numpy(dtype=float))
    assert claims.grids_by_seed(long, "RIFE") == {}


def test_holm_within_a_family_can_turn_a_hold_inconclusive():
    """Three claims of Table 2 each at p of about 0.03 on their own: Holm's smallest
    multiplier is 3, so none holds; the same row alone in its family holds."""
    rank1 = {"ResNet50": [0.30, 0.31, 0.29], "RIFE": [0.31, 0.317, 0.303]}  # +1.0, 0.7, 1.3
    rank1["two ResNet50"] = rank1["two ResNet50 (learned weights)"] = rank1["ResNet50"]
    records = pd.DataFrame(
        [{"method": m, "seed": s, "rank1": v} for m, vs in rank1.items() for s, v in enumerate(vs)]
    )
    rows = claims.row_claims(records, 2, dataset="toy", protocol="market")
    alone = claims.claims_frame(rows[:1]).iloc[0]
    assert alone["p_value"] < 0.05 and alone["verdict"] == "holds"
    together = claims.claims_frame(rows)
    assert together["p_holm"].iloc[0] == pytest.approx(min(1.0, 3 * alone["p_value"]))
    assert together["p_holm"].iloc[0] > 0.05 and together["verdict"].iloc[0] == "inconclusive"
    assert set(together["family"]) == {"Table 2 · toy"}


def test_magnitude_power_scaled_gain_and_shared_runs_against_the_paper():
    paper = tables.paper_numbers()
    records = _records({"RIFE": 0.01, "FFSR+RIFE": 0.02, "FFSR": 0.0, "two ResNet50": 0.0,
                        "two ResNet50 (learned weights)": 0.0})  # fmt: skip
    rows = claims.row_claims(records, 2, dataset="vr_market1501", protocol="market", paper=paper)
    rows += claims.row_claims(records, 3, dataset="vr_market1501", protocol="market", paper=paper)
    frame = claims.claims_frame(rows).set_index("claim")
    rife = frame.loc["RIFE beats ResNet"]
    # Table 2 is on VR-MSMT17 only: 53.3 - 47.6
    assert rife["paper_gain"] == pytest.approx(5.7) and "VR-MSMT17" in rife["paper"]
    assert rife["magnitude_verdict"] == "smaller than reported"  # ours about +1.1
    assert rife["paper_gain_scaled"] == pytest.approx(5.7 * rife["baseline"] / 47.6)
    assert rife["scaled_inside"] == "no" and np.isfinite(rife["n_for_power"])
    t3 = frame[frame["family"] == "Table 3 · vr_market1501"]
    assert "VR-Market1501" in t3.loc["FFSR+RIFE beats ResNet", "paper"]
    assert t3.loc["FFSR+RIFE beats ResNet", "paper_gain"] == pytest.approx(66.9 - 57.0)
    # Table 2's RIFE and Table 3's FFSR+RIFE vs RIFE read the same RIFE run
    assert "Table 3: FFSR+RIFE vs RIFE" in rife["shared_runs"]
    assert "Table 2: RIFE vs ResNet50" in t3.loc["FFSR+RIFE beats RIFE", "shared_runs"]
    markdown = claims.to_markdown(frame.reset_index())
    assert f"{rife['baseline']:.1f}" in markdown and f"{rife['difference']:+.2f}" in markdown


def test_mlr_rows_compare_with_an_mlr_column_and_overlapping_trials_widen():
    paper = tables.paper_numbers()
    records = _records({"FFSR+RIFE": 0.02, "FFSR": 0.01, "RIFE": 0.01})
    mlr = claims.row_claims(records, 3, dataset="mlr_synthetic", protocol="market", paper=paper)
    assert all("MLR-CUHK03" in r["paper"] for r in mlr)
    plain = claims.row_claims(records, 3, dataset="caviar", protocol="single_shot", paper=paper)
    corrected = claims.row_claims(records, 3, dataset="caviar", protocol="single_shot",
                                  paper=paper, overlap=(25, 25))  # fmt: skip
    for p, c in list(zip(plain, corrected, strict=True))[2:]:  # FFSR+RIFE vs ResNet: sd > 0
        assert c["ci_high"] - c["ci_low"] > 1.5 * (p["ci_high"] - p["ci_low"])
        assert c["p_value"] > p["p_value"] and "CAVIAR" in c["paper"]
    market_mlr = claims.row_claims(records, 3, dataset="mlr_market1501", protocol="market",
                                   paper=paper)  # fmt: skip
    assert all(np.isnan(r["paper_gain"]) for r in market_mlr)


def test_market_claims_read_the_per_seed_file_in_percent(tmp_path):
    paper = tables.paper_numbers()
    assert claims.market_claims(tmp_path, paper) == []
    rows = [
        {"table": 3, "dataset": "vr_market1501", "method": m, "seed": s, "rank1": v + s}
        for m, v in (("ResNet50", 50.0), ("RIFE", 51.0)) for s in range(3)
    ]  # fmt: skip
    rows[4]["rank1"] += 0.5  # RIFE, seed 1
    pd.DataFrame(rows).to_csv(tmp_path / claims.MARKET_SEEDS, index=False)
    found = claims.market_claims(tmp_path, paper)
    assert [r["claim"] for r in found] == []  # Table 3 has no "RIFE beats ResNet" claim
    rows += [{**r, "method": "FFSR+RIFE", "rank1": r["rank1"] + 2} for r in rows[:3]]
    pd.DataFrame(rows).to_csv(tmp_path / claims.MARKET_SEEDS, index=False)
    found = {r["claim"]: r for r in claims.market_claims(tmp_path, paper)}
    assert set(found) == {"FFSR+RIFE beats RIFE", "FFSR+RIFE beats ResNet"}
    assert found["FFSR+RIFE beats ResNet"]["difference"] == pytest.approx(2.0)
    assert found["FFSR+RIFE beats ResNet"]["paper_gain"] == pytest.approx(66.9 - 57.0)
    # Figs. 2 and 4 from the grids: HR-trained baseline (dataset market1501) -> Fig. 2 rows only
    cells = [{"dataset": d, "network": n, "seed": s, "r1": r1, "r2": r2,
              "O": 0.2 + (1 - r1) * (0.3 if n == "ResNet" else 0.2) + (1 - r2) * 0.1 + 0.01 * s}
             for d, nets in (("market1501", ["ResNet"]), ("vr_market1501", ["ResNet", "RIFE"]))
             for n in nets for s in range(3) for r1 in (0.25, 1.0) for r2 in (0.25, 1.0)]  # fmt: skip
    pd.DataFrame(cells).to_csv(tmp_path / claims.MARKET_FIG4, index=False)
    found = claims.market_claims(tmp_path, paper)
    hr = [r for r in found if r["dataset"] == "market1501"]
    vr = [r for r in found if r["dataset"] == "vr_market1501" and r["source"] != "Table 3"]
    assert len(hr) == 3 and all(r["source"].startswith("Fig. 2") for r in hr)
    assert len(vr) == 2 and all(r["source"] == "Fig. 4" for r in vr)
    # Sec. 4.2 from RIFE's fusion weights per seed: w_H rises and w_L falls with r
    weights = [{"dataset": "vr_market1501", "network": net, "seed": s, "r": r, "block": b,
                "w_low": 1 - r * 0.8 - 0.01 * s, "w_high": r * 0.8 + 0.01 * s}
               for net in ("RIFE", "FFSR+RIFE") for s in range(3) for r in (0.25, 1.0)
               for b in (1, 2)]  # fmt: skip
    pd.DataFrame(weights).to_csv(tmp_path / claims.MARKET_FUSION, index=False)
    sec42 = [r for r in claims.market_claims(tmp_path, paper) if r["source"] == "Sec. 4.2"]
    assert [r["claim"] for r in sec42] == ["RIFE's w_H rises with r", "RIFE's w_L falls with r"]
    assert all(r["n"] == 3 and r["difference"] == pytest.approx(0.6) for r in sec42[:1])


def test_markdown_rounds_by_metric_and_names_unreachable_power():
    frame = pd.DataFrame(
        [{"metric": "rank1 (%)", "ours": 14.947, "baseline": 14.89, "difference": 0.0572,
          "ci_low": -0.819, "ci_high": 0.934, "paper_gain": 1.8, "paper_gain_scaled": 0.563,
          "p_value": 0.80536, "p_holm": 1.0, "n_for_power": np.inf},
         {"metric": "O", "ours": 0.8461, "baseline": 0.2571, "difference": 0.5893,
          "ci_low": 0.4891, "ci_high": 0.6901, "paper_gain": np.nan,
          "paper_gain_scaled": np.nan, "p_value": 0.00156, "p_holm": 0.00468,
          "n_for_power": np.nan}]
    )  # fmt: skip
    text = claims.to_markdown(frame, ["ours", "baseline", "difference", "interval", "p_holm",
                                      "n_for_power"])  # fmt: skip
    rank1, o = text.splitlines()[2:4]
    assert "14.9" in rank1 and "+0.06" in rank1 and "[-0.82, +0.93]" in rank1 and "never" in rank1
    assert "0.846" in o and "0.257" in o and "[+0.489, +0.69]" in o and "0.00468" in o
    one_pair = frame.iloc[:1].assign(ci_low=np.nan, ci_high=np.nan)
    assert "none (n < 2)" in claims.to_markdown(one_pair, ["difference", "interval"])


def test_markdown_tells_one_claim_on_two_datasets_apart():
    """README's claims tables leave out ``family``: the dataset column, by its reader's name,
    is what tells the VR- and MLR-Market1501 rows of one claim apart."""
    row = {"claim": "FFSR beats bilinear up-sampling", "metric": "rank1 (%)", "ours": 61.1,
           "baseline": 62.1, "difference": -1.03, "ci_low": -2.62, "ci_high": 0.56,
           "paper_gain": 1.8, "paper_gain_scaled": np.nan, "p_value": 0.3, "p_holm": 0.5,
           "n_for_power": 4.0}  # fmt: skip
    frame = pd.DataFrame([{**row, "dataset": d} for d in ("vr_market1501", "mlr_market1501",
                                                          "market1501", "some_new_set")])  # fmt: skip
    lines = claims.to_markdown(frame, ["claim", "dataset", "difference"]).splitlines()[2:]
    shown = [line.split("|")[2].strip() for line in lines]
    assert shown == ["VR-Market1501", "MLR-Market1501", "Market-1501 (HR)", "some_new_set"]
    assert len(set(lines)) == 4
    assert list(frame["dataset"]) == [
        "vr_market1501",
        "mlr_market1501",
        "market1501",
        "some_new_set",
    ]  # the caller's frame is left as it was
