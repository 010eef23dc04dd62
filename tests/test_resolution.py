"""Resolution r of Sec. 3 (lib.data.resolution): one rounding rule, PIL and tensor paths of
the same sizes, never enlarged, and the figures' r equal to the variants' manifest r."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from lib.data import resolution, variants
from lib.data.resolution import (
    degrade_batch,
    degraded_sizes,
    downsample,
    downsample_tensor,
    round_half_up,
    size_at,
    source_geometry,
    width_max_of,
)
from lib.data.samples import Sample
from lib.eval import analysis
from tests.layouts import market_tree, write_image


def _pil(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def test_rounding_rule_is_half_up_with_at_least_one_pixel():
    assert [round_half_up(x) for x in (2.5, 3.5, 12.5, 2.4999, 0.2, 0.0, 7.0)] == [
        3,
        4,
        13,
        2,
        1,
        1,
        7,
    ]
    assert round(2.5) == 2  # Python's round-half-even: what the rule is not
    assert round_half_up(0.3 * 5) == 2  # 1.4999999999999998 in floating point, a half


def test_size_at_hand_cases():
    # Sec. 3's example: width_max 96, a 48 x 128 image (r = 0.5) resized to r = 0.25: 24 x 64
    assert size_at((48, 128), 0.25, 96) == (24, 64)
    # width 8 at r = 0.3125 is 2.5 px -> 3 px; height 12 * 3 / 8 = 4.5 -> 5 px
    assert size_at((8, 12), 0.3125, 8) == (3, 5)
    assert size_at((64, 128), 0.125, 64) == (8, 16)  # VR-Market1501's narrowest width
    assert size_at((128, 384), 0.001, 128) == (1, 3)  # at least one pixel
    assert size_at((64, 128), 0.25, 128) == (32, 64)  # r * width_max, not r * width
    # never enlarged: 0.5 * 100 = 50 px is wider than the 40-px image, which keeps its size
    assert size_at((40, 90), 0.5, 100) == (40, 90)
    assert size_at((50, 90), 0.5, 100) == (50, 90)  # the same width: unchanged
    with pytest.raises(ValueError, match="resolution r"):
        size_at((8, 8), 0.0, 8)
    with pytest.raises(ValueError, match="width_max"):
        size_at((8, 8), 0.5, 0)


def test_manifest_r_gives_the_stored_width_back():
    # a variant stores width w and r = w / width_max; r * width_max must round to w again
    for width_max in range(1, 300):
        for w in range(1, width_max):
            assert size_at((width_max, 2 * width_max), w / width_max, width_max)[0] == w


def test_pil_and_tensor_paths_give_the_same_sizes():
    rng = np.random.default_rng(0)
    rs = [0.05, 0.1, 0.125, 0.2, 0.25, 0.3, 0.3125, 0.33, 0.375, 0.5, 0.6, 0.75, 0.9, 1.0]
    checked = 0
    for _ in range(60):
        width, height = int(rng.integers(1, 150)), int(rng.integers(1, 300))
        width_max = width + int(rng.integers(0, 2 * width + 1))
        image, tensor = _pil(width, height), torch.rand(3, height, width)
        for r in rs:
            expected = size_at((width, height), r, width_max)
            assert downsample(image, r, width_max).size == expected
            assert tuple(downsample_tensor(tensor, r, width_max).shape) == (
                3,
                expected[1],
                expected[0],
            )
            batch = downsample_tensor(tensor[None].expand(2, -1, -1, -1), r, width_max)
            assert tuple(batch.shape[-2:]) == (expected[1], expected[0])
            plan = degraded_sizes(tensor[None], r, width_max)
            assert plan == [None if expected == (width, height) else expected]
            assert expected[0] <= width and expected[1] <= height or expected == (width, height)
            checked += 1
    assert checked == 60 * len(rs)


def test_never_enlarged_returns_the_image_itself():
    image, tensor = _pil(20, 40), torch.rand(3, 40, 20)
    assert downsample(image, 0.5, 64) is image  # 32 px would be wider than 20
    assert downsample_tensor(tensor, 0.5, 64) is tensor
    assert resolution.at_resolution(image, 1.0) is image
    small = resolution.at_resolution(image, 0.25)  # width_max: its own width, 5 px
    assert small.size == image.size and small.tobytes() != image.tobytes()
    expected = image.resize((5, 10), Image.BILINEAR).resize((20, 40), Image.BILINEAR)
    assert small.tobytes() == expected.tobytes()


def test_degrade_batch_uses_the_source_size_not_the_input_size():
    # Market on the paper profile: 64 x 128 sources stored at the input size 128 x 256
    x = torch.rand(2, 3, 256, 128)
    sources = [(64, 128), (64, 128)]
    assert degraded_sizes(x, 0.25, 64, sources) == [(16, 32), (16, 32)]  # r = 0.25: 16 px
    assert degraded_sizes(x, 0.25) == [(32, 64), (32, 64)]  # no sources: r of the tensor
    assert degraded_sizes(x, 1.0, 64, sources) == [None, None]
    out = degrade_batch(x, 0.25, 64, source_sizes=sources)
    small = F.interpolate(x, size=(32, 16), mode="bilinear", antialias=True)
    torch.testing.assert_close(out, F.interpolate(small, size=(256, 128), mode="bilinear"))
    # rows narrower than the target (cpu profile: 64-px sources at a 32-px input) are kept
    narrow = torch.rand(1, 3, 64, 32)
    assert degraded_sizes(narrow, 0.75, 64, [(64, 128)]) == [None]
    assert torch.equal(degrade_batch(narrow, 0.75, 64, source_sizes=[(64, 128)]), narrow)
    with pytest.raises(ValueError, match="one source size per image"):
        degraded_sizes(x, 0.5, 64, [(64, 128)])


def test_degrade_batch_rows_of_mixed_sources_equal_one_at_a_time():
    x = torch.rand(4, 3, 32, 16)  # rows 16 px wide at the input size
    sources = [(40, 100), (24, 50), (40, 100), (10, 30)]  # width_max 40: r = 0.25 is 10 px
    together = degrade_batch(x, 0.25, 40, source_sizes=sources, size=(24, 12))
    # 50 * 10 / 24 = 20.8 -> 21 px high; the 10-px source is not made narrower: kept
    assert degraded_sizes(x, 0.25, 40, sources) == [(10, 25), (10, 21), (10, 25), None]
    for i in range(4):
        alone = degrade_batch(
            x[i : i + 1], 0.25, 40, source_sizes=sources[i : i + 1], size=(24, 12)
        )
        torch.testing.assert_close(together[i : i + 1], alone)
    small = F.interpolate(x[1:2], size=(21, 10), mode="bilinear", antialias=True)
    torch.testing.assert_close(together[1:2], F.interpolate(small, size=(24, 12), mode="bilinear"))
    kept = F.interpolate(x[3:4], size=(24, 12), mode="bilinear", antialias=True)
    torch.testing.assert_close(together[3:4], kept)


def test_width_max_and_source_geometry_from_samples(tmp_path: Path):
    write_image(tmp_path / "hr.png", 64, 128)
    write_image(tmp_path / "lr.png", 16, 32)
    write_image(tmp_path / "narrow.png", 20, 40)
    samples = [
        Sample(str(tmp_path / "lr.png"), 1, 0, r=0.25, source=str(tmp_path / "hr.png")),
        Sample(str(tmp_path / "narrow.png"), 2, 0, r=20 / 64),  # kept, its own r
    ]
    assert width_max_of(samples) == 64
    assert source_geometry(samples) == ([(64, 128), (20, 40)], 64)
    assert width_max_of([Sample(str(tmp_path / "narrow.png"), 2, 0)]) == 20  # r never set: 1
    with pytest.raises(OSError, match=r"cannot read image .*missing\.png"):
        width_max_of([Sample(str(tmp_path / "missing.png"), 1, 0)])


@pytest.fixture()
def vr_split(tmp_path: Path):
    """VR-Market1501 of a tiny Market tree with three images narrower than the drawn widths
    can be (20 px: kept when the draw is 20 or more)."""
    market_tree(tmp_path / "data")
    base = tmp_path / "data" / "market1501" / "Market-1501-v15.09.15"
    for name in ("bounding_box_train/0007_c1s1_000100_01.jpg", "query/0003_c2s1_000201_00.jpg"):
        write_image(base / name, 20, 40, value=7)
    return variants.build("vr_market1501", tmp_path / "data", tmp_path / "out", seed=1)


def test_the_figures_r_is_the_manifest_r(vr_split):
    samples = vr_split.train + vr_split.query + vr_split.gallery
    width_max = vr_split.meta["width_max"]
    assert width_max == 64 == width_max_of(samples)
    for s in samples:  # the image a variant stores at r is downsample(HR, r, width_max)
        with Image.open(s.path) as stored, Image.open(s.hr_path) as hr:
            assert stored.size == downsample(hr.convert("RGB"), s.r, width_max).size
    # the figures' tensors (HR sources at the input size) degraded to each sample's r
    sizes, wm = source_geometry(samples)
    row = torch.rand(1, 3, 256, 128)
    for s, source in zip(samples, sizes, strict=True):
        plan = degraded_sizes(row, s.r, wm, [source])[0]
        assert (plan or source) == Image.open(s.path).size


class MeanColour(nn.Module):
    def forward(self, x):
        return {"f": x.mean(dim=(2, 3))}


def test_objective_for_model_degrades_to_width_max_not_the_input_width(vr_split, monkeypatch):
    seen = []
    resize = resolution._resize

    def spy(images, size):
        seen.append(tuple(size))
        return resize(images, size)

    monkeypatch.setattr(resolution, "_resize", spy)
    samples = vr_split.query + vr_split.gallery
    grid = analysis.objective_for_model(MeanColour(), samples, (256, 128), [0.25, 1.0])
    assert list(grid.index) == [0.25, 1.0] and np.isfinite(grid.to_numpy()).all()
    # r = 0.25 of width_max 64 is 16 x 32 px for the 64 x 128 and the 20 x 40 sources alike;
    # the old rule (r * input width) made 32 x 64
    assert {size for size in seen if size[0] < 256} == {(32, 16)}


def test_figure_functions_take_the_samples_geometry(vr_split, monkeypatch):
    samples = vr_split.query[:1] + vr_split.gallery[:2]
    images, masks = analysis.hr_batch(samples, (256, 128))
    seen = []
    resize = resolution._resize

    def spy(x, size):
        seen.append(tuple(size))
        return resize(x, size)

    monkeypatch.setattr(resolution, "_resize", spy)
    frame = analysis.sr_psnr_by_resolution({}, images, masks, [0.125], samples=samples)
    assert set(frame["model"]) == {"bilinear"}
    assert (16, 8) in seen and (32, 16) not in seen  # 0.125 * 64 = 8 px wide
    seen.clear()
    analysis.sr_psnr_by_resolution({}, images, masks, [0.125])  # no samples: r of the input
    assert (32, 16) in seen
    with pytest.raises(ValueError, match="one sample per image"):
        analysis.sr_psnr_by_resolution({}, images, masks, [0.5], samples=samples[:1])
