"""Person masks for Table 1's segmentation row (lib.data.person_masks; Sec. 4.1, Eq. 5).

The caching, manifest, split and loader logic run on hand-made images with a stub segmenter
(bright pixels are the person); one test runs the real mediapipe model on CAVIAR images and
skips where mediapipe (the optional extra ``masks``) or the shared data is absent."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib.data import person_masks as pm
from lib.data.datasets import load
from lib.data.paths import PROJECT_ROOT
from tests.layouts import market_tree

SHARED = PROJECT_ROOT.parent / "shared" / "datasets"
EXACT = pm.MaskOptions(height=0, pad=0.0)  # no resizing: the stub's mask comes back exactly


class Stub:
    """Person = pixels brighter than mid-grey; no person where nothing is bright."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls, self.fail_after = 0, fail_after

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("interrupted")
        self.calls += 1
        prob = rgb.astype(np.float32).mean(-1) / 255.0
        return None if prob.max() < 0.5 else prob


def _person(width: int, height: int, box: tuple[int, int, int, int] | None) -> Image.Image:
    """A dark image with a white rectangle ``box`` = (x0, y0, x1, y1), or none."""
    array = np.full((height, width, 3), 30, np.uint8)
    if box is not None:
        x0, y0, x1, y1 = box
        array[y0:y1, x0:x1] = 230
    return Image.fromarray(array)


@pytest.fixture
def caviar_root(tmp_path: Path) -> Path:
    """A CAVIAR4REID layout: 4 identities, images 001-002 (camera A) and 011-012 (camera B);
    person 0004's camera-B image 012 shows nobody."""
    folder = tmp_path / "data" / "caviar" / "CAVIARa"
    folder.mkdir(parents=True)
    for pid in range(1, 5):
        for number in (1, 2, 11, 12):
            width, height = (20, 40) if number <= 10 else (10, 24)
            box = (width // 4, height // 8, 3 * width // 4, 7 * height // 8)
            empty = pid == 4 and number == 12
            _person(width, height, None if empty else box).save(
                folder / f"{pid:04d}{number:03d}.jpg", quality=100
            )
    return tmp_path / "data"


def test_segment_image_returns_the_mask_at_the_image_size():
    image = _person(12, 30, (3, 5, 9, 25))
    exact = pm.segment_image(image, Stub(), EXACT)
    expected = np.zeros((30, 12), np.uint8)
    expected[5:25, 3:9] = 255
    assert exact.dtype == np.uint8 and np.array_equal(exact, expected)
    # up-sampled to 96 px and padded: the mask comes back at 30x12, the interior unchanged
    resized = pm.segment_image(image, Stub(), pm.MaskOptions(height=96, pad=0.5))
    assert resized.shape == (30, 12)
    assert (resized[7:23, 4:8] == 255).all() and (resized[:, :2] == 0).all()
    assert abs((resized > 127).mean() - (expected > 127).mean()) < 0.05


def test_segment_image_says_no_person_when_none_or_too_small():
    assert pm.segment_image(_person(12, 30, None), Stub(), EXACT) is None
    tiny = _person(12, 30, (5, 5, 6, 6))  # 1 pixel of 360: below min_foreground
    assert pm.segment_image(tiny, Stub(), EXACT) is None
    assert pm.segment_image(tiny, Stub(), pm.MaskOptions(0, 0.0, 0.5, 0.0)) is not None


def test_compute_writes_masks_manifest_and_settings(caviar_root, tmp_path):
    out, stub = tmp_path / "derived", Stub()
    manifest = pm.compute(
        "caviar", caviar_root, options=EXACT, segmenter=stub, out_dir=out, progress=False
    )
    folder = manifest.parent
    assert folder.parent == out / "caviar" and folder == pm.masks_dir(
        "caviar", caviar_root, options=EXACT, out_dir=out
    )
    rows = pm.read_manifest(manifest)
    assert len(rows) == 16 and stub.calls == 16
    with open(manifest, newline="") as f:
        assert next(csv.reader(f)) == pm.MANIFEST_FIELDS
    missed = [r for r in rows if not r["found"]]
    assert [Path(r["path"]).name for r in missed] == ["0004012.jpg"]
    assert missed[0]["mask"] == "" and math.isnan(missed[0]["foreground"])
    for row in rows:
        if row["found"]:
            mask = np.asarray(Image.open(row["mask"]))
            assert mask.shape == (row["height"], row["width"]) and set(np.unique(mask)) <= {0, 255}
            assert row["foreground"] == pytest.approx((mask == 255).mean(), abs=1e-4)
            assert Path(row["mask"]).is_relative_to(folder / "masks")
    assert len(list((folder / "masks").rglob("*.png"))) == 15
    settings = (folder / "settings.json").read_text()
    assert '"source": "mediapipe_selfie"' in settings and '"height": 0' in settings
    assert not list(folder.rglob("*.tmp"))
    # reused as it is: nothing segmented again; other options, another folder
    again = Stub()
    assert (
        pm.compute("caviar", caviar_root, options=EXACT, segmenter=again, out_dir=out) == manifest
    )
    assert again.calls == 0
    other = pm.compute("caviar", caviar_root, segmenter=Stub(), out_dir=out, progress=False)
    assert other.parent != folder and other.parent.parent == folder.parent


def test_an_interrupted_compute_leaves_no_partial_file_and_resumes(caviar_root, tmp_path):
    out = tmp_path / "derived"
    with pytest.raises(KeyboardInterrupt):
        pm.compute(
            "caviar",
            caviar_root,
            options=EXACT,
            segmenter=Stub(fail_after=5),
            out_dir=out,
            progress=False,
        )
    folder = pm.masks_dir("caviar", caviar_root, options=EXACT, out_dir=out)
    assert not (folder / "manifest.csv").exists() and not list(folder.rglob("*.tmp"))
    written = list((folder / "masks").rglob("*.png"))
    assert len(written) == 5
    for png in written:
        Image.open(png).load()  # complete files
    rest = Stub()
    manifest = pm.compute(
        "caviar", caviar_root, options=EXACT, segmenter=rest, out_dir=out, progress=False
    )
    assert rest.calls == 11  # the 5 masks already written are read back
    rows = pm.read_manifest(manifest)
    assert sum(r["found"] for r in rows) == 15


def test_person_mask_split_carries_masks_that_the_loader_reads(caviar_root, tmp_path):
    torch = pytest.importorskip("torch", reason="the loader needs torch")
    from lib.data.loader import ReIDDataset, gaussian_mask_tensor

    out = tmp_path / "derived"
    split = pm.person_mask_split(
        "caviar", caviar_root, 1, options=EXACT, segmenter=Stub(), out_dir=out, progress=False
    )
    plain = load("caviar", caviar_root, 1)
    assert [s.path for s in split.train] == [s.path for s in plain.train]  # same split, masks added
    every = split.train + split.query + split.gallery
    without = [s for s in every if s.mask is None]
    assert [Path(s.path).name for s in without] == ["0004012.jpg"]
    counts = split.meta["person_masks"]
    assert sum(counts[k]["without_mask"] for k in ("train", "query", "gallery")) == 1
    assert sum(counts[k]["with_mask"] for k in ("train", "query", "gallery")) == len(every) - 1
    size = (48, 24)
    items = ReIDDataset(every, size, mask="auto", raw=False)
    for i, s in enumerate(every):
        mask = items[i]["mask"]
        if s.mask is None:  # no person found: the Gaussian of Sec. 4.1 for this image alone
            assert torch.equal(mask, gaussian_mask_tensor(size))
        else:  # round trip: the loader's mask is the PNG's person at the input size
            png = np.asarray(Image.open(s.mask)) == 255
            assert mask.shape == (1, *size) and 0.0 <= mask.min() and mask.max() <= 1.0
            assert mask[0, size[0] // 2, size[1] // 2] == 1.0 and mask[0, :, 0].max() == 0.0
            assert mask.mean().item() == pytest.approx(png.mean(), abs=0.05)


def test_hit_rates_per_camera(caviar_root, tmp_path):
    manifest = pm.compute(
        "caviar",
        caviar_root,
        options=EXACT,
        segmenter=Stub(),
        out_dir=tmp_path / "d",
        progress=False,
    )
    rates = {r["camera"]: r for r in pm.hit_rates(pm.read_manifest(manifest))}
    assert (rates["camera 0"]["images"], rates["camera 0"]["found"]) == (8, 8)
    assert (rates["camera 1"]["images"], rates["camera 1"]["found"]) == (8, 7)
    assert rates["all"]["hit_rate"] == pytest.approx(15 / 16)
    assert rates["camera 0"]["fg_mean"] == pytest.approx(0.5 * 0.75, abs=0.01)  # 10x30 of 20x40


def test_errors_name_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope" / "manifest.csv")):
        pm.read_manifest(tmp_path / "nope" / "manifest.csv")
    with pytest.raises(ValueError, match="unknown person-mask source"):
        pm.load_segmenter("deepercut")


@pytest.mark.skipif(pm.mediapipe_available(), reason="mediapipe is installed")
def test_without_mediapipe_the_error_says_how_to_install():
    with pytest.raises(ImportError, match=r"\.\[masks\]"):
        pm.load_segmenter()


def test_table1_deepercut_row_is_not_run_without_person_masks(caviar_root, tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="lib.experiments needs torch")
    from lib import experiments, profiles
    from lib.report import tables
    from lib.train import Run, pipeline
    from lib.train.pipeline import Data

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    configs = []

    def fake_fit(config, *, device=None, progress=True):
        configs.append(config)
        return Run(Path("runs") / config.name, dict.fromkeys(experiments.METRICS, 0.5), config)

    monkeypatch.setattr(pipeline, "fit", fake_fit)
    assert pm.missing_masks_note("vr_synthetic") is None  # exact masks: the row runs there
    records = experiments.table1_records(
        profiles.get("smoke"), Data("caviar", str(caviar_root)), progress=False
    )
    row = records[-1]
    assert row["method"] == "FFSR (DeeperCut, JL)" and row["note"] == "not run: no person masks"
    assert all(math.isnan(row[m]) for m in experiments.METRICS)
    joint = [
        c for c in configs if c.stage == "joint" and c.model == "ffsr_resnet" and c.optim.epochs > 0
    ]
    assert [c.mask for c in joint] == ["gaussian"]  # no second Gaussian run under another name
    assert not any(c.mask == "auto" for c in configs)
    table = tables.compare(tables.summarise(records), 1, dataset="caviar", columns=("rank1", "mAP"))
    assert table.loc["FFSR (DeeperCut, JL)", "note"] == "not run: no person masks"
    assert math.isnan(table.loc["FFSR (DeeperCut, JL)", "rank1"])
    assert table.loc["FFSR (Gaussian, JL)", "rank1"] == 50.0
    # masks computed but not read by training: still not run, and the note says where they are
    pm.compute("caviar", caviar_root, options=EXACT, segmenter=Stub(), progress=False)
    note = pm.missing_masks_note("caviar", str(caviar_root))
    assert note.startswith("not run: no person masks") and "person_masks/caviar" in note


@pytest.mark.skipif(
    not pm.mediapipe_available(), reason="mediapipe not installed (pip install -e '.[masks]')"
)
@pytest.mark.skipif(not (SHARED / "caviar" / "CAVIARa").is_dir(), reason=f"no CAVIAR at {SHARED}")
def test_mediapipe_finds_the_person_on_caviar_crops():
    segmenter = pm.load_segmenter("mediapipe_selfie")
    for name in ("0024003.jpg", "0022019.jpg"):  # camera A (~37 px wide), camera B (~26 px)
        with Image.open(SHARED / "caviar" / "CAVIARa" / name) as image:
            mask = pm.segment_image(image, segmenter)
            assert mask is not None and mask.shape == image.size[::-1]
        person = mask > 127
        assert 0.2 < person.mean() < 0.8
        height, width = person.shape
        centre = person[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3].mean()
        assert centre > 0.8 and centre > person[:, : max(1, width // 8)].mean()


def test_table1_deepercut_row_trains_with_computed_person_masks(caviar_root, tmp_path, monkeypatch):
    """Once person masks are computed (or a segmenter is installed), the row trains with
    ``mask="person"``: a run of its own (not the Gaussian's), whose split carries the masks."""
    pytest.importorskip("torch", reason="lib.experiments needs torch")
    from lib import experiments, profiles
    from lib.data.prepare import prepare
    from lib.train import Run, pipeline
    from lib.train.pipeline import Data

    monkeypatch.setenv("RIPR_DERIVED", str(tmp_path / "derived"))
    monkeypatch.setattr(pm, "mediapipe_available", lambda: False)
    assert pm.person_mask_mode("vr_synthetic") == "auto"
    assert pm.person_mask_mode("caviar", str(caviar_root)) is None
    pm.compute("caviar", caviar_root, segmenter=Stub(), progress=False)  # default options
    assert pm.person_mask_mode("caviar", str(caviar_root)) == "person"

    configs = []

    def fake_fit(config, *, device=None, progress=True):
        configs.append(config)
        return Run(Path("runs") / config.name, dict.fromkeys(experiments.METRICS, 0.5), config)

    monkeypatch.setattr(pipeline, "fit", fake_fit)
    records = experiments.table1_records(
        profiles.get("smoke"), Data("caviar", str(caviar_root)), progress=False
    )
    assert records[-1]["method"] == "FFSR (DeeperCut, JL)" and "note" not in records[-1]
    joint = [
        c for c in configs if c.stage == "joint" and c.model == "ffsr_resnet" and c.optim.epochs > 0
    ]
    assert [c.mask for c in joint] == ["gaussian", "person"]
    assert len({c.name for c in joint}) == 2
    split = pm.with_person_masks(prepare("caviar", data_root=caviar_root), "caviar", caviar_root)
    with_mask = [s for s in split.train + split.query + split.gallery if s.mask]
    assert with_mask and all(Path(s.mask).is_file() for s in with_mask)
    assert split.meta["person_masks"]["train"]["with_mask"] > 0


def test_market_parsing_labels_are_person_masks_for_training_images(tmp_path: Path) -> None:
    """market1501_parsing: label > 0 is the person; an image without labels keeps the
    Gaussian (counted); a label map of another size is brought to the image's size."""
    from lib.data.person_masks import PARSING, compute, mask_source, read_manifest
    from lib.data.prepare import prepare

    names = market_tree(tmp_path)
    labels = np.zeros((128, 64), dtype=np.uint8)
    labels[20:100, 16:48] = 7  # a body part
    labels[100:120, 20:44] = 13
    folder = tmp_path / PARSING / "bounding_box_train"
    folder.mkdir(parents=True)
    with_labels = names["bounding_box_train"][:-1]  # the last training image has none
    for name in with_labels[:-1]:
        Image.fromarray(labels).save(folder / f"{Path(name).stem}.png")
    small = Image.fromarray(labels).resize((32, 64), Image.NEAREST)
    small.save(folder / f"{Path(with_labels[-1]).stem}.png")
    assert mask_source("vr_market1501", tmp_path) == PARSING
    assert mask_source("vr_market1501", tmp_path / "elsewhere") == "mediapipe_selfie"
    rows = read_manifest(compute("market1501", tmp_path, source=PARSING, progress=False))
    found = {Path(r["path"]).name for r in rows if r["found"]}
    assert found == set(with_labels)
    row = next(r for r in rows if Path(r["path"]).name == with_labels[0])
    mask = np.asarray(Image.open(row["mask"]))
    assert mask.shape == (128, 64) and set(np.unique(mask)) == {0, 255}
    assert (mask == 255).sum() == (labels > 0).sum()
    assert row["foreground"] == pytest.approx((labels > 0).mean(), abs=1e-4)
    split = pm.with_person_masks(
        prepare("vr_market1501", data_root=tmp_path), "vr_market1501", tmp_path
    )
    counts = split.meta["person_masks"]["train"]
    assert counts == {"with_mask": len(with_labels), "without_mask": 1}
