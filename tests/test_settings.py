"""lib.settings: the folders' defaults, each environment variable moving its folder (read when
asked, not at import), and asking for a folder never creating it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from lib import report, settings
from lib.data import paths, splits
from lib.settings import PROJECT_ROOT, Settings, from_environment

FIELDS = {
    "RIPR_RUNS": "runs",
    "RIPR_OUTPUT": "output",
    "RIPR_DERIVED": "derived",
    "RIPR_DATA": "data",
    "RIPR_SPLITS": "splits",
}
VARIABLES = tuple(FIELDS)


@pytest.fixture
def clean_env(monkeypatch):
    """No RIPR_* folder variable set (conftest sets RIPR_SPLITS for most tests)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_in_the_checkout():
    got = from_environment({})
    assert got == Settings(
        runs=PROJECT_ROOT / "runs",
        output=PROJECT_ROOT,
        derived=PROJECT_ROOT / "data" / "derived",
        data=PROJECT_ROOT / "data",
        splits=PROJECT_ROOT / "data" / "splits",
    )
    assert (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "lib").is_dir()
    assert got.splits == splits.SPLITS_DIR


def test_defaults_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    got = from_environment({}, project=tmp_path / "site-packages")
    cache = tmp_path / "home" / ".cache" / "ripr"
    assert got.derived == cache / "derived" and got.data == cache / "data"
    assert got.runs == tmp_path / "site-packages" / "runs"
    assert got.splits == tmp_path / "site-packages" / "data" / "splits"


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        from_environment({}).runs = Path("elsewhere")


@pytest.mark.parametrize("variable", VARIABLES)
def test_each_variable_moves_its_folder_only(variable, tmp_path, clean_env):
    default = from_environment()
    clean_env.setenv(variable, str(tmp_path / variable))
    got = from_environment()  # read now, not at import
    field = FIELDS[variable]
    assert getattr(got, field) == tmp_path / variable
    assert dataclasses.replace(got, **{field: getattr(default, field)}) == default


def test_the_library_reads_the_environment_when_asked(tmp_path, clean_env):
    clean_env.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    clean_env.setenv("RIPR_DATA", str(tmp_path / "data"))
    clean_env.setenv("RIPR_SPLITS", str(tmp_path / "splits"))
    clean_env.setenv("RIPR_OUTPUT", str(tmp_path / "output"))
    assert paths.derived_root() == tmp_path / "derived"
    assert paths.default_data_root() == tmp_path / "data"
    assert splits.split_path("viper") == tmp_path / "splits" / "viper.json"
    assert splits.split_path("viper", tmp_path / "given") == tmp_path / "given" / "viper.json"
    assert report.figures_dir("cpu") == tmp_path / "output" / "figures"
    assert report.figures_dir("smoke") == tmp_path / "output" / "runs" / "smoke" / "figures"


def test_home_is_expanded_in_data_and_derived(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    got = from_environment({"RIPR_DATA": "~/d", "RIPR_DERIVED": "~/x"})
    assert got.data == tmp_path / "d" and got.derived == tmp_path / "x"


def test_an_empty_splits_variable_means_the_default():
    assert from_environment({"RIPR_SPLITS": ""}).splits == settings.PROJECT_ROOT / "data" / "splits"


def test_asking_for_a_folder_creates_nothing(tmp_path, clean_env):
    for variable in VARIABLES:
        clean_env.setenv(variable, str(tmp_path / variable))
    from_environment()
    paths.derived_root()
    paths.default_data_root()
    splits.split_path("caviar")
    report.figures_dir("smoke")
    report.figures_dir("paper")
    assert list(tmp_path.iterdir()) == []


def test_writers_create_their_folder(tmp_path, clean_env):
    clean_env.setenv("RIPR_OUTPUT", str(tmp_path / "output"))
    out = report.figures_dir("smoke")
    table = pd.DataFrame({"a": [1.0]})
    assert report.save_records(table, "records", out).is_file()
    assert all(p.is_file() for p in report.save_table(table, "table", out / "t"))
    figure = pytest.importorskip("matplotlib.figure").Figure()  # no pyplot, no backend
    assert all(p.is_file() for p in report.save_figure(figure, "figure", out / "f"))


def test_one_settings_key_keeps_every_cache_key_as_it_was():
    """The four caches keyed by their settings share one recipe; each key below was computed
    with the recipe each module had of its own before, so no cache is invalidated."""
    from dataclasses import asdict

    from lib.data import person_masks, variants
    from lib.profiles import Synthetic
    from lib.settings import settings_key
    from lib.train.runs import RunConfig

    assert RunConfig(stage="extractor", model="resnet", dataset="vr_synthetic").key == "a8c99536fa"
    assert settings_key([asdict(Synthetic()), 3]) == "71e29d6043"  # lib.data.prepare
    folder = variants._variant_dir("vr_market1501", Path("/data/root"), Path("/out"), 2, {})
    assert folder.name == "eca83003f6"
    assert person_masks.masks_dir("caviar", "/data/root").name == "15062b90dc"
    assert settings_key({"b": 1, "a": Path("/x")}) == settings_key({"a": "/x", "b": 1})
