"""The batched data path (lib.data.batch) gives exactly the per-item path's batches.

The per-item path resizes with Pillow (``Image.resize(..., BILINEAR)`` on 8-bit images);
the batched path re-implements that resampling with integer tensor ops, so the images are
compared byte for byte (``torch.equal``), not to a tolerance. Flips and random erasing are
drawn with the same calls from the same generator, so they match for the same seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from lib.data.batch import (
    DeviceBatches,
    collate,
    resize_uint8,
    to_model_batch,
    unpack,
    vertical_first,
)
from lib.data.loader import ReIDDataset
from lib.data.samples import Sample

INPUT_SIZES = [(384, 128), (256, 128), (64, 32)]


def _pil_resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(array if array.shape[2] == 3 else array[..., 0])
    out = np.array(image.resize((size[1], size[0]), Image.BILINEAR))
    return out if out.ndim == 3 else out[..., None]


@pytest.mark.parametrize("channels", [1, 3])
def test_resize_equals_pillow_byte_for_byte(channels: int) -> None:
    """Random sizes up and down (both pass orders of Pillow), in one padded batch."""
    rng = np.random.default_rng(channels)
    for size in [(384, 128), (64, 32), (37, 90)]:
        images = [
            rng.integers(0, 256, (int(h), int(w), channels), dtype=np.uint8)
            for h, w in rng.integers(1, 200, (24, 2))
        ]
        images.append(rng.integers(0, 256, (*size, channels), dtype=np.uint8))  # same size
        canvas = torch.zeros((len(images), channels, 400, 200), dtype=torch.uint8)
        for b, im in enumerate(images):
            canvas[b, :, : im.shape[0], : im.shape[1]] = torch.from_numpy(im).permute(2, 0, 1)
        sizes = torch.tensor([im.shape[:2] for im in images])
        out = resize_uint8(canvas, sizes, size)
        assert out.dtype == torch.uint8 and out.shape == (len(images), channels, *size)
        for b, im in enumerate(images):
            expected = torch.from_numpy(_pil_resize(im, size)).permute(2, 0, 1)
            assert torch.equal(out[b], expected), (im.shape, size)


def test_both_pass_orders_occur_and_match() -> None:
    """Shrinking the height much more than the width is where Pillow 13 runs the vertical
    pass first; the cases here cover whichever order the installed Pillow uses."""
    cases = [((120, 40), (12, 38)), ((40, 120), (38, 12)), ((16, 8), (384, 128))]
    rng = np.random.default_rng(7)
    for in_size, out_size in cases:
        image = rng.integers(0, 256, (*in_size, 3), dtype=np.uint8)
        canvas = torch.from_numpy(image).permute(2, 0, 1)[None]
        out = resize_uint8(canvas, torch.tensor([in_size]), out_size)[0]
        assert torch.equal(out, torch.from_numpy(_pil_resize(image, out_size)).permute(2, 0, 1))
    assert vertical_first((16, 8), (384, 128)) is False  # up-sampling: horizontal first


def _image(path: Path, array: np.ndarray) -> str:
    Image.fromarray(array).save(path, quality=90) if path.suffix == ".jpg" else Image.fromarray(
        array
    ).save(path)
    return str(path)


@pytest.fixture
def samples(tmp_path: Path) -> list[Sample]:
    """LR images of several sizes with JPEG HR sources and PNG masks, plus images that are
    their own source and have no mask (the Gaussian), as a VR variant has them."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(10):
        hr_h, hr_w = (128, 64) if i % 3 else (150, 70)
        hr = rng.integers(0, 256, (hr_h, hr_w, 3), dtype=np.uint8)
        width = int(rng.integers(8, 32))
        lr = np.asarray(
            Image.fromarray(hr).resize((width, round(hr_h * width / hr_w)), Image.BILINEAR)
        )
        mask = np.zeros((hr_h, hr_w), dtype=np.uint8)
        mask[10:-10, hr_w // 4 : -hr_w // 4] = 255
        if i < 7:
            out.append(
                Sample(
                    _image(tmp_path / f"lr{i}.png", lr),
                    i % 4,
                    i % 2,
                    r=width / 64,
                    source=_image(tmp_path / f"hr{i}.jpg", hr),
                    mask=_image(tmp_path / f"m{i}.png", mask) if i % 2 == 0 else None,
                )
            )
        else:
            out.append(Sample(_image(tmp_path / f"hr{i}.jpg", hr), i % 4, 0))
    return out


@pytest.mark.parametrize("size", INPUT_SIZES)
@pytest.mark.parametrize("mask", ["auto", "gaussian"])
@pytest.mark.parametrize("resize", ["tensor", "pillow"])
def test_batched_path_equals_per_item_path(
    samples: list[Sample], size, mask: str, resize: str
) -> None:
    """Both resizers of the batched path: integer tensor ops (what a GPU runs) and Pillow
    image by image (what the CPU device runs, "auto")."""
    per_item = ReIDDataset(samples, size, mask=mask, raw=False)
    raw = ReIDDataset(samples, size, mask=mask, raw=True)
    expected = collate([per_item[i] for i in range(len(samples))])
    batch = to_model_batch(collate([raw[i] for i in range(len(samples))]), size, resize=resize)
    assert set(batch) == set(expected)
    for key, value in expected.items():
        assert batch[key].dtype == value.dtype and torch.equal(batch[key], value), key


@pytest.mark.parametrize("size", INPUT_SIZES)
@pytest.mark.parametrize("resize", ["tensor", "pillow"])
def test_flips_and_erasing_match_for_the_same_seed(
    samples: list[Sample], size, resize: str
) -> None:
    options = {"train": True, "flip": 0.5, "random_erasing": 0.7}
    per_item = ReIDDataset(samples, size, **options, raw=False)
    raw = ReIDDataset(samples, size, raw=True, **options)
    torch.manual_seed(11)
    expected = collate([per_item[i] for i in range(len(samples))])
    after_per_item = torch.rand(4)
    torch.manual_seed(11)
    batch = to_model_batch(
        collate([raw[i] for i in range(len(samples))]), size, train=True, flip=0.5,
        random_erasing=0.7, resize=resize,
    )  # fmt: skip
    assert torch.equal(torch.rand(4), after_per_item)  # the same random numbers were drawn
    plain = to_model_batch(collate([raw[i] for i in range(len(samples))]), size, resize=resize)
    flipped = [not torch.equal(batch["hr"][b], plain["hr"][b]) for b in range(len(samples))]
    erased = (batch["img"] == 0).flatten(1).sum(1) > (plain["img"] == 0).flatten(1).sum(1)
    assert any(flipped) and not all(flipped) and erased.any()  # the seed exercises both
    for key in ("img", "hr", "mask"):
        assert torch.equal(batch[key], expected[key]), key


@pytest.mark.parametrize("raw", [True, False])
def test_without_targets_the_same_image_and_draws_and_no_target_file_is_read(
    samples: list[Sample], raw: bool, monkeypatch
) -> None:
    """targets=False (features, Eq. 9's extractor step): img and the augmentation drawn are
    those of the full item; hr is img and mask the Gaussian; no HR source or mask is read."""
    import lib.data.loader

    options = {"train": True, "flip": 0.5, "random_erasing": 0.7, "raw": raw}
    full = ReIDDataset(samples, (64, 32), **options)
    opened: list[str] = []
    for name in ("read_image", "decode"):
        original = getattr(lib.data.loader, name)

        def spy(path, *args, _original=original):
            opened.append(str(path))
            return _original(path, *args)

        monkeypatch.setattr(lib.data.loader, name, spy)
    lean = ReIDDataset(samples, (64, 32), **options, targets=False)
    batches = []
    for dataset in (full, lean):
        opened.clear()
        torch.manual_seed(5)
        items = collate([dataset[i] for i in range(len(samples))])
        batches.append(to_model_batch(items, (64, 32), train=True, flip=0.5, random_erasing=0.7))
        batches[-1]["after"] = torch.rand(3)
    assert sorted(set(opened)) == sorted(s.path for s in samples)  # the images, nothing else
    expected, got = batches
    for key in ("img", "pid", "camid", "r", "index", "after"):
        assert torch.equal(got[key], expected[key]), key
    # hr is img before random erasing (which zeroes img alone)
    assert torch.equal(got["hr"].masked_fill(got["img"] == 0, 0), got["img"])
    gaussian = to_model_batch(
        collate([ReIDDataset(samples, (64, 32), mask="gaussian", raw=True)[i]
                 for i in range(len(samples))]), (64, 32)
    )["mask"]  # fmt: skip
    assert torch.equal(got["mask"][0], gaussian[0]) and torch.equal(got["mask"], got["mask"][:1]
                                                                    .expand_as(got["mask"]))  # fmt: skip


def test_an_explicit_generator_decides_the_augmentation(samples: list[Sample]) -> None:
    raw = ReIDDataset(samples, (64, 32), raw=True, train=True, random_erasing=0.5)
    items = collate([raw[i] for i in range(len(samples))])

    def run(seed: int) -> dict:
        g = torch.Generator().manual_seed(seed)
        return to_model_batch(items, (64, 32), "cpu", True, g, random_erasing=0.5)

    a, b, c = run(1), run(1), run(2)
    assert torch.equal(a["img"], b["img"]) and not torch.equal(a["img"], c["img"])


def test_workers_return_small_uint8_images(samples: list[Sample]) -> None:
    raw = ReIDDataset(samples, (384, 128), raw=True)
    item = raw[0]
    assert item["img"].dtype == item["hr"].dtype == item["mask"].dtype == torch.uint8
    assert item["img"].shape[1:] == Image.open(samples[0].path).size[::-1]
    assert raw[7]["hr"].shape == (3, 0, 0) and raw[7]["mask"].shape == (1, 0, 0)
    batch = collate([raw[i] for i in range(len(samples))])
    assert set(batch) == {"pixels", "meta", "r"}  # three tensors cross the worker IPC
    images = unpack(batch)
    canvas, sizes = images["img"]
    assert canvas.dtype == torch.uint8 and sizes.shape == (len(samples), 2)
    assert torch.equal(canvas[0, :, : sizes[0, 0], : sizes[0, 1]], item["img"])
    assert images["hr"][1][7].tolist() == [0, 0]
    per_item_bytes = 3 * 3 * 384 * 128 * 4 * len(samples)
    assert batch["pixels"].numel() * 20 < per_item_bytes


def test_device_batches_equal_the_per_item_loader(samples: list[Sample]) -> None:
    """The training loop's loader (workers=0): same order, same draws, same batches."""
    options = {"train": True, "random_erasing": 0.5}

    def batches(raw: bool) -> list[dict]:
        dataset = ReIDDataset(samples, (64, 32), raw=raw, **options)
        torch.manual_seed(5)
        loader = DataLoader(
            dataset, batch_size=4, shuffle=True, collate_fn=collate,
            generator=torch.Generator().manual_seed(5),
        )  # fmt: skip
        return list(DeviceBatches(loader, "cpu"))

    for a, b in zip(batches(False), batches(True), strict=True):
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_worker_processes_change_nothing(samples: list[Sample]) -> None:
    """Packed batches cross real worker IPC intact, and the augmentation is drawn in the
    training process, so the batches do not depend on the number of workers."""
    dataset = ReIDDataset(samples, (64, 32), raw=True, train=True, random_erasing=0.5)

    def batches(workers: int) -> list[dict]:
        torch.manual_seed(9)
        loader = DataLoader(dataset, batch_size=4, num_workers=workers, collate_fn=collate)
        return list(DeviceBatches(loader, "cpu"))

    for a, b in zip(batches(0), batches(2), strict=True):
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_resize_option_is_checked(samples: list[Sample]) -> None:
    raw = ReIDDataset(samples, (64, 32), raw=True)
    batch = collate([raw[i] for i in range(2)])
    with pytest.raises(ValueError, match="resize must be"):
        to_model_batch(batch, (64, 32), resize="pil")
    with pytest.raises(ValueError, match="works on the CPU"):
        to_model_batch(batch, (64, 32), "meta", resize="pillow")
