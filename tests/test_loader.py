"""The Dataset items (shapes, HR target, masks, augmentation), errors, and the P x K sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lib.data.loader import ReIDDataset
from lib.data.samples import Sample


def _image(path: Path, width: int, height: int, left: int, right: int) -> Path:
    """An image whose left half has value ``left`` and right half ``right``."""
    array = np.full((height, width, 3), left, dtype=np.uint8)
    array[:, width // 2 :] = right
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def samples(tmp_path: Path) -> list[Sample]:
    hr = _image(tmp_path / "hr.png", 32, 64, 200, 50)
    lr = _image(tmp_path / "lr.png", 8, 16, 200, 50)
    mask = np.zeros((64, 32), dtype=np.uint8)
    mask[:, :16] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return [
        Sample(str(lr), 0, 1, r=0.25, source=str(hr), mask=str(tmp_path / "mask.png")),
        Sample(str(hr), 1, 0),
    ]


def test_item_contents(samples: list[Sample]) -> None:
    item = ReIDDataset(samples, (64, 32), raw=False)[0]
    assert item["img"].shape == item["hr"].shape == (3, 64, 32)
    assert item["mask"].shape == (1, 64, 32)
    assert item["img"].dtype == torch.float32 and 0 <= item["img"].min() <= item["img"].max() <= 1
    # The LR image is up-sampled to the input size; the HR target is the source image.
    assert torch.allclose(item["hr"][:, :, :15], torch.tensor(200 / 255), atol=1e-6)
    assert torch.allclose(item["hr"][:, :, 17:], torch.tensor(50 / 255), atol=1e-6)
    assert item["img"][0, 0, 0] == pytest.approx(200 / 255, abs=1e-6)
    assert item["img"][0, 0, 15] != pytest.approx(200 / 255, abs=1e-3)  # blurred edge
    assert item["mask"][0, :, :15].min() == 1 and item["mask"][0, :, 17:].max() == 0
    assert (item["pid"], item["camid"], float(item["r"])) == (0, 1, 0.25)


def test_no_source_means_hr_is_the_image_and_mask_is_gaussian(samples: list[Sample]) -> None:
    item = ReIDDataset(samples, (64, 32), raw=False)[1]
    assert torch.equal(item["img"], item["hr"])
    mask = item["mask"][0]
    centre = mask[32, 16]
    assert centre == mask.max() and mask[0, 0] < centre and mask[32, 0] < centre
    forced = ReIDDataset(samples, (64, 32), mask="gaussian", raw=False)[0]["mask"]
    assert torch.equal(forced, item["mask"])


def test_flip_applies_to_image_target_and_mask(samples: list[Sample]) -> None:
    plain = ReIDDataset(samples, (64, 32), raw=False)[0]
    flipped = ReIDDataset(samples, (64, 32), train=True, flip=1.0, raw=False)[0]
    for key in ("img", "hr", "mask"):
        assert torch.equal(flipped[key], plain[key].flip(-1))


def test_random_erasing_touches_only_the_input(samples: list[Sample]) -> None:
    torch.manual_seed(0)
    item = ReIDDataset(samples, (64, 32), train=True, flip=0.0, random_erasing=1.0, raw=False)[1]
    assert (item["img"] == 0).any() and not (item["hr"] == 0).any()


def test_corrupt_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "0001_c1s1_000001_00.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(OSError, match=r"cannot read image .*0001_c1s1_000001_00\.jpg"):
        ReIDDataset([Sample(str(bad), 0, 0)], (64, 32))[0]


def test_truncated_image_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 32, 3), dtype=np.uint8)).save(
        path
    )
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(OSError, match=r"cut\.jpg"):
        ReIDDataset([Sample(str(path), 0, 0)], (64, 32))[0]


def test_bad_mask_mode() -> None:
    with pytest.raises(ValueError, match="mask must be"):
        ReIDDataset([], (64, 32), mask="deepercut", raw=False)


def test_degraded_folder_pairs(tmp_path: Path) -> None:
    from lib.data.folder import DegradedFolder

    rng = np.random.default_rng(0)
    for i in range(3):
        sub = tmp_path / "imgs" / f"class{i}"
        sub.mkdir(parents=True)
        Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(sub / f"{i}.JPEG")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    torch.manual_seed(0)
    folder = DegradedFolder(tmp_path / "imgs", (64, 32), r_range=(0.125, 0.25), raw=False)
    assert len(folder) == 3
    item = folder[0]
    assert item["img"].shape == item["hr"].shape == (3, 64, 32) and item["pid"] == -1
    assert 0.125 <= float(item["r"]) <= 0.25
    assert (item["img"] - item["hr"]).abs().mean() > 0.05  # degraded: high frequencies lost
    paths = [str(p) for p in sorted((tmp_path / "imgs").rglob("*.JPEG"))]
    listed = DegradedFolder(paths, (64, 32), raw=False)
    assert torch.equal(listed[1]["hr"], folder[1]["hr"])
    with pytest.raises(FileNotFoundError, match=r"no images under .*empty.*ImageNet"):
        DegradedFolder(tmp_path / "empty", (64, 32))


def test_at_resolution_uses_the_one_rounding_rule() -> None:
    from lib.data.loader import at_resolution

    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8))
    # r = 0.3125 of its own 40 px: 12.5 -> 13 px (half up; round() gave 12), 50 * 13 / 40 ->
    # 16 px high, then back to 40 x 50
    expected = image.resize((13, 16), Image.BILINEAR).resize((40, 50), Image.BILINEAR)
    assert at_resolution(image, 0.3125).tobytes() == expected.tobytes()
    # Sec. 3's r is relative to the dataset's width_max: 0.25 of 80 px is 20 px
    expected = image.resize((20, 25), Image.BILINEAR).resize((40, 50), Image.BILINEAR)
    assert at_resolution(image, 0.25, width_max=80).tobytes() == expected.tobytes()
    assert at_resolution(image, 0.5, width_max=100) is image  # 50 px: never enlarged


def test_degraded_folder_input_is_the_target_at_r(tmp_path: Path) -> None:
    from lib.data.folder import DegradedFolder
    from lib.data.loader import to_tensor

    rng = np.random.default_rng(2)
    path = tmp_path / "imgs" / "a.png"
    path.parent.mkdir()
    Image.fromarray(rng.integers(0, 255, (50, 40, 3), dtype=np.uint8)).save(path)
    item = DegradedFolder(tmp_path / "imgs", (64, 32), r_range=(0.25, 0.25), raw=False)[0]
    hr = Image.open(path).convert("RGB").resize((32, 64))  # the target at the input size
    low = hr.resize((8, 16), Image.BILINEAR).resize((32, 64), Image.BILINEAR)  # 0.25 * 32 px
    assert torch.equal(item["hr"], to_tensor(hr, (64, 32)))
    assert torch.equal(item["img"], to_tensor(low, (64, 32)))


@pytest.mark.parametrize("workers", [0, 2])
def test_degraded_folder_batched_path_equals_the_per_item_path(tmp_path: Path, workers) -> None:
    """The raw items, up-sampled per batch by lib.data.batch, give the per-item path's batches
    byte for byte: same r per item (drawn alike in the workers), same images, same mask."""
    from torch.utils.data import DataLoader

    from lib.data.batch import DeviceBatches, collate
    from lib.data.folder import DegradedFolder

    rng = np.random.default_rng(3)
    root = tmp_path / "imgs"
    root.mkdir()
    for i in range(10):
        size = (int(rng.integers(40, 90)), int(rng.integers(20, 50)), 3)
        Image.fromarray(rng.integers(0, 255, size, dtype=np.uint8)).save(root / f"{i}.png")

    def batches(raw: bool) -> list[dict]:
        folder = DegradedFolder(root, (64, 32), raw=raw)
        torch.manual_seed(5)  # workers=0: r from the default generator
        loader = DataLoader(folder, batch_size=4, num_workers=workers, collate_fn=collate,
                            generator=torch.Generator().manual_seed(7))  # fmt: skip
        return list(DeviceBatches(loader))

    raw, per_item = batches(True), batches(False)
    assert len(raw) == len(per_item) == 3
    for a, b in zip(raw, per_item, strict=True):
        assert set(a) == set(b)
        for key in ("img", "hr", "mask", "r", "pid", "index"):
            assert torch.equal(a[key], b[key].to(a[key].dtype)), key
    assert len({float(r) for b in raw for r in b["r"]}) == 10  # one r per image
