"""The embedded dataset: layout, determinism, reuse, masks, and the paper's phenomenon."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib.data import synthetic
from lib.data.synthetic import (
    LOWERS,
    UPPERS,
    generate,
    make_cameras,
    render,
    sample_identities,
    twin,
)

MARKET_NAME = re.compile(r"^(\d{4})_c([1-6])s1_(\d{6})_(\d{2})\.jpg$")
SUBSETS = ("bounding_box_train", "bounding_box_test", "query")
TINY = dict(num_train_ids=5, num_test_ids=5, images_per_id_cam=(2, 3), cameras=6)
FINE = ("logo", "lower_pattern", "lower_period", "hair_style")
MID = ("hair_color", "hair_length", "cap_color", "sleeves", "shoes_color", "bag", "bag_color",
       "bag_side", "upper_pattern", "upper_period")  # fmt: skip
COARSE = ("height", "build", "skin", "upper_color", "lower_color", "lower_type")


TWIN_FIELDS = {
    "stripes": {"lower_pattern", "lower_period"},
    "hair": {"hair_style"},
    "logo": {"logo"},
    "upper": {"upper_pattern", "upper_period"},
}


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("a"), seed=0, workers=1, progress=False, **TINY)


def parse(folder: Path) -> list[tuple[int, int, str]]:
    out = []
    for path in sorted(folder.glob("*.jpg")):
        match = MARKET_NAME.match(path.name)
        assert match, f"not a Market-1501 name: {path.name}"
        out.append((int(match.group(1)), int(match.group(2)), path.stem))
    return out


def test_same_seed_is_byte_identical_whatever_the_workers(tiny, tmp_path):
    again = generate(tmp_path / "b", seed=0, workers=2, progress=False, **TINY)
    other = generate(tmp_path / "c", seed=1, workers=1, progress=False, **TINY)
    reference = hashes(tiny)
    assert len(reference) > 100
    assert hashes(again) == reference
    assert hashes(other) != reference


def test_market1501_layout(tiny):
    rows = {s: parse(tiny / s) for s in SUBSETS}
    train_pids = {pid for pid, _, _ in rows["bounding_box_train"]}
    test_pids = {pid for pid, _, _ in rows["bounding_box_test"] + rows["query"]}
    assert train_pids == set(range(1, 6)) and test_pids == set(range(6, 11))
    gallery_cams = {}
    for pid, cam, _ in rows["bounding_box_test"]:
        gallery_cams.setdefault(pid, set()).add(cam)
    query_keys = [(pid, cam) for pid, cam, _ in rows["query"]]
    assert len(query_keys) == len(set(query_keys)), "one query per identity and camera"
    for pid, cam in query_keys:
        assert gallery_cams[pid] - {cam}, f"query {pid} c{cam} has no cross-camera match"
        assert cam in gallery_cams[pid], "the other images of the query camera are gallery"
    for subset, items in rows.items():
        for _, _, stem in items:
            with (
                Image.open(tiny / subset / f"{stem}.jpg") as im,
                Image.open(tiny / "masks" / subset / f"{stem}.png") as mk,
            ):
                assert im.size == mk.size == (64, 128) and mk.mode == "L"
                mask = np.asarray(mk)
            assert set(np.unique(mask)) == {0, 255}
            assert 300 < (mask > 0).sum() < 0.5 * mask.size


def test_identities_json_families_share_coarse_cues(tiny):
    records = json.loads((tiny / "identities.json").read_text())
    settings = json.loads((tiny / "settings.json").read_text())
    assert settings["format_version"] == synthetic.FORMAT_VERSION and settings["seed"] == 0
    assert [r["pid"] for r in records] == list(range(1, 11))
    by_family = {}
    for r in records:
        assert 2 <= len(r["cameras"]) <= 6
        by_family.setdefault(r["family"], []).append(r)
    for members in by_family.values():
        assert len({r["subset"] for r in members}) == 1, "a family lies in one subset"
        assert len({r["clan"] for r in members}) == 1, "a family lies in one clan"
        for a in members:
            for b in members:
                if a is not b:
                    assert all(a[k] == b[k] for k in COARSE + MID)
                    assert sum(a[k] != b[k] for k in FINE) >= 1


def test_clans_families_and_graded_cues_in_sample_identities():
    """A clan shares the coarse cues, a family also the mid-scale ones; families of one clan
    differ in a mid-scale cue, members of a family in at least two fine cues."""
    ids = sample_identities(60, seed=3)
    assert [i.pid for i in ids] == list(range(1, 61))
    sizes = np.bincount([i.family for i in ids])
    assert set(sizes[:-1]) <= {3, 4}
    clans = {}
    for i in ids:
        clans.setdefault(i.clan, {}).setdefault(i.family, []).append(i)
    assert all(3 <= len(f) <= 4 for f in list(clans.values())[:-1])
    for families in clans.values():
        assert (
            len({tuple(getattr(i, k) for k in COARSE) for f in families.values() for i in f}) == 1
        )
        looks = [{tuple(getattr(i, k) for k in MID) for i in f} for f in families.values()]
        assert all(len(look) == 1 for look in looks)
        assert len(set().union(*looks)) == len(looks), "families of a clan differ in a mid cue"
        for members in families.values():
            for a in members:
                for b in members:
                    if a is not b:
                        strap = a.bag == "shoulder" and a.strap != b.strap
                        assert sum(getattr(a, k) != getattr(b, k) for k in FINE) + strap >= 2


def test_reuse_and_regeneration(tiny, tmp_path, monkeypatch):
    marker = (tiny / ".complete").stat().st_mtime_ns
    monkeypatch.setattr(synthetic, "_write_image", lambda job: pytest.fail("regenerated"))
    assert generate(tiny.parent, seed=0, workers=1, progress=False, **TINY) == tiny
    assert (tiny / ".complete").stat().st_mtime_ns == marker
    monkeypatch.undo()
    small = dict(TINY, num_test_ids=3)
    out = generate(tmp_path, seed=0, workers=1, progress=False, **TINY)
    generate(tmp_path, seed=0, workers=1, progress=False, **small)
    assert json.loads((out / "settings.json").read_text())["num_test_ids"] == 3
    assert max(pid for pid, _, _ in parse(out / "query")) == 8


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing(job):
        calls.append(job)
        if len(calls) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, "_write_image", failing)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path, seed=0, workers=1, progress=False, **TINY)
    assert list(tmp_path.iterdir()) == []


def test_refuses_foreign_folder_and_bad_settings(tmp_path):
    (tmp_path / "synthetic").mkdir()
    with pytest.raises(FileExistsError, match="not written by lib.data.synthetic"):
        generate(tmp_path, progress=False, **TINY)
    with pytest.raises(ValueError, match="images_per_id_cam must be >= 2"):
        generate(tmp_path, images_per_id_cam=1, progress=False)
    with pytest.raises(ValueError, match="min_cameras"):
        generate(tmp_path, cameras=6, min_cameras=1, progress=False)


def test_read_by_the_market_parser(tiny):
    from lib.data.datasets import load

    split = load("synthetic", tiny.parent)
    files = {s: sorted((tiny / s).glob("*.jpg")) for s in SUBSETS}
    assert len(split.train) == len(files["bounding_box_train"])
    assert len(split.query) == len(files["query"])
    assert len(split.gallery) == len(files["bounding_box_test"])
    assert sorted({s.pid for s in split.train}) == list(range(5))
    assert {s.pid for s in split.query} == set(range(6, 11))
    assert all(0 <= s.camid <= 5 for s in split.train + split.query + split.gallery)
    for s in split.train + split.query + split.gallery:
        assert s.mask == str(tiny / "masks" / Path(s.path).parent.name / f"{Path(s.path).stem}.png")


def test_render_shapes_determinism_and_errors():
    cam = make_cameras(1, height=96, width=48)[0]
    ident = sample_identities(1, seed=0)[0]
    img, mask = render(ident, cam, view="left", seed=4, height=96, width=48, jpeg=True)
    again, _ = render(ident, cam, view="left", seed=4, height=96, width=48, jpeg=True)
    assert img.shape == (96, 48, 3) and img.dtype == np.uint8 and mask.shape == (96, 48)
    assert np.array_equal(img, again)
    with pytest.raises(ValueError, match="unknown view 'up'"):
        render(ident, cam, view="up")
    with pytest.raises(ValueError, match="smaller than 64x128"):
        render(ident, cam)
    with pytest.raises(ValueError, match="unknown cue"):
        twin(ident, "shoes")


def test_twin_changes_one_fine_cue_only():
    for ident in sample_identities(8, seed=1):
        for cue, fields in TWIN_FIELDS.items():
            a, b = asdict(ident), asdict(twin(ident, cue, seed=2))
            changed = {k for k in a if a[k] != b[k]}
            assert changed and changed <= fields


def test_mask_is_exactly_the_visible_person():
    """Recolouring every part of the person changes pixels only inside the mask or on its
    anti-aliased rim (coverage < 1/2); an occluder removes pixels from the mask."""
    cam = make_cameras(3)[2]
    ident = replace(sample_identities(1, seed=5)[0], bag="shoulder")
    recoloured = dict(skin=(20, 200, 20), hair_color=(20, 200, 200), upper_color=(250, 20, 250),
                      lower_color=(250, 250, 20), shoes_color=(0, 0, 250), bag_color=(250, 0, 0),
                      cap_color=(0, 250, 0))  # fmt: skip
    other = replace(ident, **recoloured)
    kw = dict(view="front", pose_phase=0.3, seed=2, noise=False)
    (a, mask), (b, mask_b) = render(ident, cam, **kw), render(other, cam, **kw)
    assert np.array_equal(mask, mask_b)
    changed = np.abs(a.astype(int) - b).sum(-1) > 0
    inside = mask > 0
    grown = inside.copy()  # the mask dilated by one pixel
    grown[1:] |= inside[:-1]
    grown[:-1] |= inside[1:]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    assert changed[inside].mean() > 0.99 and not (changed & ~grown).any()
    smaller = 0
    for seed in range(5):
        _, occluded = render(ident, cam, **dict(kw, seed=seed), occlusion="object")
        _, free = render(ident, cam, **dict(kw, seed=seed))
        assert not (occluded & ~free).any()
        smaller += int((occluded > 0).sum() < (free > 0).sum())
    assert smaller >= 1


def down(img: np.ndarray, width: int) -> np.ndarray:
    height = img.shape[0] * width // img.shape[1]
    return np.asarray(Image.fromarray(img).resize((width, height), Image.BOX), np.float32)


def distance(a, b, mask_a, mask_b, width: int) -> float:
    """Mean absolute difference (summed over RGB) over the pixels of either foreground,
    after box down-sampling to ``width`` (width 64 = r 1, width 16 = r 0.25)."""
    union = np.where((mask_a > 0) | (mask_b > 0), 255, 0).astype(np.uint8)
    sel = down(union, width) > 0
    return float(np.abs(down(a, width) - down(b, width)).sum(-1)[sel].mean())


def _cue_distances(cue: str, widths: tuple[int, ...], seed: int):
    """Distances (see :func:`distance`) between a person and its ``cue`` twin, and between
    the person and one with other garment colours, at each width, rendered at the cpu
    profile's 64x32 (width 32 = r 1)."""
    cams = make_cameras(6, height=64, width=32)
    a = next(i for i in sample_identities(12, seed=seed) if i.hair_length != "cap")
    b = twin(a, cue, seed=seed)
    upper = next(c for c in UPPERS if np.abs(np.subtract(c, a.upper_color)).sum() > 120)
    lower = next(c for c in LOWERS if np.abs(np.subtract(c, a.lower_color)).sum() > 120)
    c = replace(a, upper_color=upper, lower_color=lower)
    kw = dict(view="front", pose_phase=0.25, seed=seed, noise=False, height=64, width=32)
    (ia, ma), (ib, mb), (ic, mc) = (render(x, cams[seed], **kw) for x in (a, b, c))
    twin_d = [distance(ia, ib, ma, mb, w) for w in widths]
    coarse_d = [distance(ia, ic, ma, mc, w) for w in widths]
    return twin_d, coarse_d


@pytest.mark.parametrize("cue", ["stripes", "hair", "logo"])
def test_fine_cues_vanish_at_half_resolution_coarse_cues_do_not(cue):
    """Fig. 1 / Sec. 3, at the cpu profile's 64x32: two persons who differ only in a fine
    cue are apart at r = 1 and nearly identical at r = 0.5; persons with other garment
    colours stay apart down to r = 0.25. Measured over seeds 0-4: d(0.5)/d(1) of fine twins
    at most 0.36 (stripes), 0.48 (hair), 0.43 (logo); coarse-different d(0.25) at least 87."""
    for seed in range(5):
        (fine_hr, fine_half, _), (_, _, coarse_q) = _cue_distances(cue, (32, 16, 8), seed)
        assert fine_hr > 1.0, (seed, fine_hr)
        assert fine_half < 0.55 * fine_hr, (seed, fine_half, fine_hr)
        assert coarse_q > 30, (seed, coarse_q)


def test_mid_scale_cue_survives_half_resolution_and_fades_at_a_quarter():
    """The wide pattern of the upper garment (a family's cue) is still there at r = 0.5,
    where the fine cues are gone, and fades at r = 0.25: each halving of r removes some
    identity information but not all. Measured over seeds 0-5: d(0.5)/d(1) median 0.79
    (0.50-0.87), d(0.25)/d(1) median 0.44 (0.40-0.71)."""
    kept, faded = [], []
    for seed in range(6):
        (hr, half, quarter), _ = _cue_distances("upper", (32, 16, 8), seed)
        kept.append(half / hr)
        faded.append(quarter / hr)
    assert np.median(kept) > 0.5, kept
    assert np.median(faded) < np.median(kept), (faded, kept)
