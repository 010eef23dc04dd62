"""The reported numbers shipped with lib, and our numbers set beside them (lib.report.tables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import reference, report
from lib.experiments import TABLE1
from lib.reference import FILES, read_csv, read_text
from lib.report import tables

SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SHIPPED = Path(reference.__file__).parent


@pytest.mark.parametrize("name", [*FILES, "README.md"])
def test_shipped_copies_equal_shared_files_byte_for_byte(name):
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(f"no shared reference folder at {SHARED_REFERENCE} (a user's clone)")
    assert (SHIPPED / name).read_bytes() == (SHARED_REFERENCE / name).read_bytes()


def test_reference_files_read_through_the_package():
    assert read_text("paper_tables.csv") == (SHIPPED / "paper_tables.csv").read_text()
    frame = read_csv("paper_tables.csv")
    assert len(frame) == 59 and frame["gmacs_384x128"].isna().sum() == 53
    with pytest.raises(ValueError, match="unknown reference file"):
        read_text("secret.csv")


def test_paper_numbers_labels_and_sources():
    t1 = tables.paper_numbers(1)
    assert list(t1["label"]) == list(TABLE1)  # the rows we train carry the paper's labels
    assert t1.set_index("label").loc["VDSR", "gmacs_384x128"] == 32.79
    assert set(t1["source"]) == {"paper (reported)"}
    assert tables.paper_rows(2) == [
        "ResNet50",
        "two ResNet50",
        "two ResNet50 (learned weights)",
        "RIFE",
    ]
    t3 = tables.paper_numbers(3).set_index(["label", "dataset"])
    assert t3.loc[("SDF", "MLR-VIPeR"), "rank1"] == 9.52
    assert t3.loc[("SING", "CAVIAR"), "source"] == "reported by SING's authors, cited in the paper"
    assert "ran SING's code" in t3.loc[("SING", "VR-MSMT17"), "source"]
    assert t3.loc[("FFSR+RIFE", "VR-MSMT17"), "source"] == "paper (reported)"
    assert len(tables.paper_numbers()) == 59
    with pytest.raises(ValueError, match="Tables 1, 2 and 3"):
        tables.paper_numbers(4)


def test_dataset_names():
    assert tables.dataset_column("vr_msmt17") == "VR-MSMT17"
    assert tables.dataset_column("mlr_market1501") == "MLR-Market1501"
    assert tables.dataset_column("CAVIAR") == "CAVIAR"
    assert tables.dataset_column("vr_synthetic") is None
    assert tables.dataset_column("synthetic") is None


def _ours() -> pd.DataFrame:
    return pd.DataFrame(
        {"rank1": [50.0, 30.0], "rank1_std": [1.0, 2.0], "rank5": [70.0, 60.0], "n": [3, 3]},
        index=["Bilinear", "Our extra row"],
    )


def test_compare_values_diffs_and_missing_rows():
    out = tables.compare(_ours(), 1, dataset="vr_msmt17")
    assert list(out.index) == [*tables.paper_rows(1), "Our extra row"]
    assert out.loc["Bilinear", "rank1"] == 50.0
    assert out.loc["Bilinear", "rank1_paper"] == 47.6
    assert out.loc["Bilinear", "rank1_diff"] == pytest.approx(50.0 - 47.6)
    assert out.loc["Bilinear", "rank5_diff"] == pytest.approx(70.0 - 66.4)
    assert out.loc["Bilinear", "rank1_std"] == 1.0 and np.isnan(out.loc["Bilinear", "rank5_std"])
    assert out.loc["Bilinear", "n"] == 3
    # a paper row we did not reproduce: the paper's number, nothing of ours
    assert out.loc["VDSR", "rank1_paper"] == 48.5
    assert out.loc[["VDSR"], ["rank1", "rank1_diff"]].isna().all(axis=None)
    assert pd.isna(out.loc["VDSR", "n"])
    # our row without a paper counterpart: never a paper number
    extra = out.loc["Our extra row"]
    assert extra["rank1"] == 30.0
    assert extra[["rank1_paper", "rank1_diff", "paper_source"]].isna().all()
    assert out["note"].isna().all()
    assert out.loc["Bilinear", "paper_source"] == "paper (reported)"


def test_compare_metric_the_paper_does_not_report_and_gmacs():
    ours = _ours().assign(mAP=[20.0, 10.0], gmacs=[0.0, 1.0])
    out = tables.compare(ours, 1, dataset="vr_msmt17", columns=("mAP", "gmacs"))
    assert out["mAP_paper"].isna().all() and out["mAP_diff"].isna().all()
    assert out.loc["SRCNN", "gmacs_paper"] == 2.53
    with pytest.raises(ValueError, match="no column"):
        tables.compare(_ours(), 1, dataset="vr_msmt17", columns=("mAP",))


def test_compare_on_other_data_shows_paper_numbers_without_diff():
    out = tables.compare(_ours(), 2, dataset="vr_synthetic")
    assert out.loc["ResNet50", "rank1_paper"] == 47.6
    assert out["rank1_diff"].isna().all()
    assert out.loc["ResNet50", "note"] == "paper on VR-MSMT17, ours on vr_synthetic: not compared"
    assert pd.isna(out.loc["Bilinear", "note"])  # no paper number there


def test_compare_absent_dataset_gets_paper_numbers_and_a_note():
    out = tables.compare(None, 3, dataset="caviar", data_root="/data")
    assert list(out.index) == tables.paper_rows(3)
    assert out.loc["FFSR+RIFE", "rank1_paper"] == 36.4
    assert out["rank1"].isna().all()
    assert set(out["note"]) == {"not run: put CAVIAR4REID at /data/caviar/CAVIARa"}
    empty = tables.compare(pd.DataFrame(columns=["rank1", "rank5"]), 3, dataset="mlr_viper")
    assert empty["note"].str.contains("<data_root>/viper/VIPeR").all()
    with pytest.raises(ValueError, match="no paper numbers"):
        tables.compare(None, 3, dataset="vr_synthetic")


def test_a_data_root_inside_the_project_is_shown_relative_to_it():
    """A committed table names no machine's folders: the clone's own data/ shows as data/."""
    from lib.settings import PROJECT_ROOT

    out = tables.compare(None, 3, dataset="caviar", data_root=str(PROJECT_ROOT / "data"))
    assert set(out["note"]) == {"not run: put CAVIAR4REID at data/caviar/CAVIARa"}


def test_summarise_means_in_percent_sample_std_and_count():
    records = [
        {"method": "ResNet50", "rank1": 0.5, "mAP": 0.2, "seed": 0},
        {"method": "ResNet50", "rank1": 0.6, "mAP": 0.4, "seed": 1},
        {"method": "RIFE", "rank1": 0.7, "mAP": 0.3, "seed": 0},
    ]
    out = tables.summarise(records)
    assert list(out.index) == ["ResNet50", "RIFE"]
    assert out.loc["ResNet50", "rank1"] == pytest.approx(55.0)
    assert out.loc["ResNet50", "mAP_std"] == pytest.approx(np.std([20.0, 40.0], ddof=1))
    assert out.loc["ResNet50", "seed"] == 0.5  # not a fraction: not scaled
    assert list(out["n"]) == [2, 1] and np.isnan(out.loc["RIFE", "rank1_std"])


def test_table3_shape_reported_rows_and_absent_datasets():
    ours = {
        "vr_market1501": _ours().rename(index={"Bilinear": "ResNet50"}),
        "vr_synthetic": _ours(),
    }
    out = tables.table3(ours, data_root="/d")
    rows = tables.paper_rows(3)
    assert list(out.index) == [*rows, "Our extra row", "Bilinear"]
    datasets = list(dict.fromkeys(out.columns.get_level_values("dataset")))
    assert datasets == [*tables.TABLE3_DATASETS, "vr_synthetic", "reported by"]
    # 6 datasets x 2 metrics x (ours, std, paper, diff) + n each + 4 notes + reported by
    assert out.shape == (len(rows) + 2, 6 * 9 + 4 + 1)
    assert out[("VR-Market1501", "rank1", "ours")]["ResNet50"] == 50.0
    assert out[("VR-Market1501", "rank1", "diff")]["ResNet50"] == pytest.approx(50.0 - 57.0)
    assert ("VR-Market1501", "note", "") not in out.columns
    assert out[("CAVIAR", "note", "")].eq("not run: put CAVIAR4REID at /d/caviar/CAVIARa").all()
    for method in tables.CITED_ROWS:
        assert method in out.index
    assert out.loc["JUDEA", ("CAVIAR", "rank1", "paper")] == 20.0
    assert np.isnan(out.loc["JUDEA", ("VR-MSMT17", "rank1", "paper")])  # the paper has "-"
    assert out.loc["SLD2L", ("reported by", "", "")] == (
        "reported by SLD2L's authors, cited in the paper"
    )
    sing = out.loc["SING", ("reported by", "", "")]
    assert "cited in the paper (CAVIAR, MLR-VIPeR, MLR-CUHK03)" in sing
    assert "ran SING's code (VR-Market1501, VR-MSMT17)" in sing
    assert out.loc["ResNet50", ("reported by", "", "")] == "paper (reported)"
    assert pd.isna(out.loc["Our extra row", ("reported by", "", "")])
    assert out[("vr_synthetic", "rank1", "paper")].isna().all()


def test_later_methods_are_labelled_and_never_in_a_vr_column():
    later = tables.later_methods()
    assert later["source"].str.endswith("collected in PS-HRNet's README").all()
    assert not later["dataset"].str.startswith("VR-").any()
    assert not later["method"].isin(tables.paper_numbers()["method"]).any()
    wide = tables.later_methods_table(["caviar", "vr_market1501", "mlr_market1501"])
    datasets = set(wide.columns.get_level_values("dataset"))
    assert datasets == {"CAVIAR", "MLR-Market1501", "reported by"}
    assert wide.loc["INTACT (CVPR 2020)", ("MLR-Market1501", "rank1")] == 88.1
    assert np.isnan(wide.loc["RAIN (AAAI 2020)", ("MLR-Market1501", "rank1")])
    t3_datasets = set(tables.table3({}).columns.get_level_values("dataset"))
    all_later = set(tables.later_methods_table().columns.get_level_values("dataset"))
    assert not {d for d in t3_datasets if d.startswith("VR-")} & all_later
    assert "MLR-DukeMTMC-reID" in all_later


def test_caption_names_dataset_protocol_profile_size_and_trials():
    text = tables.caption("vr_msmt17", "market", "cpu", (384, 128), 3, table=1)
    assert text.startswith("Table 1: VR-MSMT17 (vr_msmt17); market-style")
    assert "profile cpu" in text and "input 384x128" in text and "over 3 trials" in text
    assert "as reported" in text
    assert "(not in the paper)" in tables.caption("vr_synthetic", "market", "smoke", (64, 32), 1)


def test_save_table_formats_multiindex_and_missing_values(tmp_path):
    frame = tables.table3({}).iloc[:2, :10]
    paths = report.save_table(frame, "t3", tmp_path, caption="CAVIAR, 10% of a_b")
    markdown = paths[1].read_text()
    assert markdown.startswith("CAVIAR, 10% of a_b\n\n| method ")
    assert "CAVIAR rank1 paper" in markdown and "nan" not in markdown
    assert "| DenseNet121 | –" in markdown
    latex = paths[2].read_text()
    assert r"\caption{CAVIAR, 10\% of a\_b}" in latex and r"\multicolumn{4}{c}{rank1}" in latex
    assert "& -- &" in latex and "nan" not in latex and r"<data\_root>" in latex
    back = pd.read_csv(paths[0], header=[0, 1, 2], index_col=0)
    assert back.shape == frame.shape
    assert back.iloc[0, 2] == 31.1 and np.isnan(back.iloc[0, 0])
