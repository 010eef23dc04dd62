"""The VR-/MLR- variant builders: sizes, resolutions, determinism, reuse, originals intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from lib.data import variants
from lib.report import tables
from tests.layouts import caviar_tree, cuhk03_mat, market_tree, viper_tree, write_image


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_vr_market1501(tmp_path: Path) -> None:
    market_tree(tmp_path / "data")
    before = _digest(tmp_path / "data")
    split = variants.build("vr_market1501", tmp_path / "data", tmp_path / "out", seed=3)
    assert _digest(tmp_path / "data") == before  # the user's originals are never written
    every = split.train + split.query + split.gallery
    assert len(split.train) == 5 and len(split.query) == 2 and len(split.gallery) == 4
    for s in every:
        width, height = Image.open(s.path).size
        assert 8 <= width < 32
        assert abs(height - 128 * width / 64) <= 0.5  # aspect kept
        assert s.r == pytest.approx(width / 64)  # Sec. 3: width / width_max, Market's is 64
        assert s.source is not None and Image.open(s.source).size == (64, 128)
        assert str(tmp_path / "out") in s.path
    assert sorted(s.pid for s in split.train) == [0, 0, 1, 1, 2]
    assert split.protocol == "market" and split.meta["width_max"] == 64
    frame = variants.read_manifest(split)
    assert list(frame.columns) == variants.MANIFEST_FIELDS
    assert len(frame) == 11


def test_same_seed_same_images_other_seed_differs(tmp_path: Path) -> None:
    market_tree(tmp_path / "data")
    a = variants.build("vr_market1501", tmp_path / "data", tmp_path / "a", seed=0)
    b = variants.build("vr_market1501", tmp_path / "data", tmp_path / "b", seed=0)
    c = variants.build("vr_market1501", tmp_path / "data", tmp_path / "c", seed=1)
    assert [Path(s.path).read_bytes() for s in a.gallery] == [
        Path(s.path).read_bytes() for s in b.gallery
    ]
    assert [s.r for s in a.train + a.gallery] != [s.r for s in c.train + c.gallery]


def test_reuse_does_not_rewrite(tmp_path: Path) -> None:
    market_tree(tmp_path / "data")
    first = variants.build("vr_market1501", tmp_path / "data", tmp_path / "out")
    stamps = {s.path: Path(s.path).stat().st_mtime_ns for s in first.gallery}
    Path(first.gallery[0].path).unlink()  # a reused variant is read from its manifest only
    again = variants.build("vr_market1501", tmp_path / "data", tmp_path / "out")
    assert [s.path for s in again.gallery] == list(stamps)
    assert all(Path(p).stat().st_mtime_ns == t for p, t in list(stamps.items())[1:])


def test_mlr_market1501(tmp_path: Path) -> None:
    market_tree(tmp_path / "data")
    split = variants.build("mlr_market1501", tmp_path / "data", tmp_path / "out")
    assert [s.camid for s in split.query] == [0]  # LR queries from camera 1 only
    assert split.gallery and all(s.camid != 0 for s in split.gallery)  # HR gallery: the rest
    for s in split.query + split.train:
        width = Image.open(s.path).size[0]
        if s.camid == 0:
            assert width in (32, 21, 16) and s.source  # 64 / {2, 3, 4}
            assert s.r == pytest.approx(width / 64)
        else:
            assert width == 64 and s.source is None and s.r == 1.0


def test_mlr_market1501_vpfa_downsamples_one_camera_per_identity_everywhere(
    tmp_path: Path,
) -> None:
    """VPFA's construction: per identity one of its cameras, drawn from the seed, is
    down-sampled by {2, 3, 4} in every subset; queries and gallery keep every camera."""
    market_tree(tmp_path / "data")
    split = variants.build("mlr_market1501_vpfa", tmp_path / "data", tmp_path / "out", seed=3)
    samples = split.train + split.query + split.gallery
    assert {s.camid for s in split.query} == {0, 1}  # queries from every camera
    lr = variants.lr_cameras(variants.VARIANTS["mlr_market1501_vpfa"], samples, 3)
    assert set(lr) == {s.pid for s in samples}
    for s in samples:
        width = Image.open(s.path).size[0]
        if s.camid == lr[s.pid]:
            assert width in (32, 21, 16) and s.source
        else:
            assert width == 64 and s.source is None
    assert any(s.source for s in split.train) and any(s.source is None for s in split.train)
    cams = {}
    for s in samples:
        cams.setdefault(s.pid, set()).add(s.camid)
    draws = [
        variants.lr_cameras(variants.VARIANTS["mlr_market1501_vpfa"], samples, k) for k in range(20)
    ]
    multi = [pid for pid, c in cams.items() if len(c) > 1]
    assert any(len({d[pid] for d in draws}) > 1 for pid in multi)  # the seed draws the camera
    assert tables.dataset_column("mlr_market1501_vpfa") is None  # never MLR-Market1501's column


def test_mlr_viper_trials_share_images(tmp_path: Path) -> None:
    viper_tree(tmp_path / "data", n=6)
    t0 = variants.build("mlr_viper", tmp_path / "data", tmp_path / "out", trial=0)
    t1 = variants.build("mlr_viper", tmp_path / "data", tmp_path / "out", trial=1)
    assert t0.protocol == "single_shot" and t0.trials == 10
    width = {s.source: Image.open(s.path).size[0] for s in t0.train + t0.query if s.source}
    for s in t1.train + t1.query:
        if s.source in width:  # the same image is down-sampled the same way in every trial
            assert Image.open(s.path).size[0] == width[s.source]
    assert all(Image.open(s.path).size[0] in (24, 16, 12) for s in t0.query)  # 48 / {2, 3, 4}
    assert all(s.r == 1.0 and s.source is None for s in t0.gallery)


def test_caviar_is_not_downsampled(tmp_path: Path) -> None:
    caviar_tree(tmp_path / "data")
    split = variants.build("caviar", tmp_path / "data", tmp_path / "out")
    assert all(s.source is None for s in split.query + split.gallery)
    assert {s.r for s in split.query} == {0.5} and {s.r for s in split.gallery} == {1.0}


def test_parallel_equals_serial(tmp_path: Path) -> None:
    market_tree(tmp_path / "data")
    kind, data = "vr_market1501", tmp_path / "data"
    spec = variants.VARIANTS[kind]
    jobs = [
        (str(p), str(tmp_path / "p" / p.name), 0, p.name, 0) for p in sorted(data.rglob("*.jpg"))
    ]
    (tmp_path / "p").mkdir()
    serial = variants._run(spec, 0, jobs, 1, kind)
    for j in jobs:
        Path(j[1]).unlink(missing_ok=True)
    jobs2 = jobs * 200  # enough to use the pool; the same files are written once
    parallel = variants._run(spec, 0, jobs2, 2, kind)[: len(jobs)]
    assert [r[1:] for r in serial] == [r[1:] for r in parallel]


def test_unknown_variant(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid: vr_market1501"):
        variants.build("vr_duke", tmp_path, tmp_path)


def test_images_narrower_than_the_drawn_width_are_never_enlarged(tmp_path: Path) -> None:
    names = market_tree(tmp_path / "data")
    base = tmp_path / "data" / "market1501" / "Market-1501-v15.09.15"
    narrow = {str(base / sub / n) for sub in ("bounding_box_train", "query") for n in names[sub]}
    for path in narrow:  # 20-px originals: VR-Market1501 draws widths in [8, 32)
        write_image(Path(path), 20, 40)
    split = variants.build("vr_market1501", tmp_path / "data", tmp_path / "out", seed=0)
    assert split.meta["width_max"] == 64  # the gallery keeps 64-px images
    kept = shrunk = 0
    for s in split.train + split.query + split.gallery:
        width, height = Image.open(s.path).size
        original = Image.open(s.hr_path).size
        assert width <= original[0] and height <= original[1]
        assert s.r == pytest.approx(width / 64)
        if s.source is None:  # kept: the original itself, at its own (true) r
            assert s.path in narrow and (width, height) == (20, 40)
            kept += 1
        else:
            assert width < original[0]
            shrunk += s.hr_path in narrow
    assert kept > 0 and shrunk > 0  # seed 0 draws both for the 20-px images
    assert max(s.r for s in split.train + split.query + split.gallery) < 0.5


def test_mlr_widths_round_half_up() -> None:
    spec = variants.VariantSpec("x", factors=(2,))
    assert variants.target_width(spec, 45, 0, 0, "a.jpg") == 23  # 22.5 -> 23 (round() gave 22)
    assert variants.target_width(spec, 45, 1, 0, "a.jpg") is None  # not the LR camera


def test_cache_is_keyed_by_load_options_and_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    cuhk03_mat(tmp_path / "data")
    out = tmp_path / "out"
    labeled = variants.build("mlr_cuhk03", tmp_path / "data", out, variant="labeled")
    detected = variants.build("mlr_cuhk03", tmp_path / "data", out, variant="detected")
    folder = Path(labeled.meta["manifest"]).parent
    assert Path(detected.meta["manifest"]).parent != folder
    assert all("/detected-" in s.hr_path for s in detected.train + detected.query)
    assert all("/labeled-" in s.hr_path for s in labeled.train + labeled.query)
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["load_options"] == {"variant": "labeled"}
    again = variants.build("mlr_cuhk03", tmp_path / "data", out, variant="labeled")
    assert again.meta["manifest"] == labeled.meta["manifest"]  # still reused

    market_tree(tmp_path / "data")
    first = variants.build("vr_market1501", tmp_path / "data", out)
    monkeypatch.setitem(
        variants.VARIANTS, "vr_market1501", variants.VariantSpec("market1501", widths=(8, 16))
    )
    other = variants.build("vr_market1501", tmp_path / "data", out)
    assert Path(other.meta["manifest"]).parent != Path(first.meta["manifest"]).parent
    assert all(Image.open(s.path).size[0] < 16 for s in other.train)
