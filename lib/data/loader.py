"""The torch Dataset of the pipeline: a split's samples as training and evaluation items.

Each item is a dict: ``img`` (the image, up-sampled bilinearly to the model
input size: the input of FFSR, Eq. 3), ``hr`` (its high-resolution source at the same size:
I^h of Eq. 4-5), ``pid``, ``camid``, ``r`` (the resolution of Sec. 3) and ``mask`` (the
foreground weight map M of Eq. 5: the dataset's exact mask where it has one, else the
centred Gaussian of Sec. 4.1). Images are float tensors in [0, 1]; normalisation belongs to
the feature extractor, so that the SR output and its target stay in image space.

Training and evaluation build these items a batch at a time (``raw=True``, the default:
workers only decode; :func:`lib.data.batch.to_model_batch` resizes and augments on the
training device). ``raw=False`` builds each item here, one by one: kept as the independent
reference the batched path is tested against, bit for bit (``tests/test_batch_path.py``), and
as the baseline of ``benchmarks/bench_loader.py``; no training or evaluation uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from lib.data import resolution
from lib.data.samples import IMAGE_SUFFIXES, ImageError, Sample

__all__ = [
    "IMAGE_SUFFIXES",
    "ReIDDataset",
    "at_resolution",
    "decode",
    "read_image",
    "to_tensor",
]


def read_image(path: str, mode: str = "RGB") -> Image.Image:
    """Open an image fully (so a truncated file fails here), naming the file on error."""
    try:
        with Image.open(path) as im:
            return im.convert(mode)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise ImageError(path, error) from None


def to_tensor(image: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """Resize a PIL image to ``size`` = (height, width) with Pillow's bilinear filter
    (antialiased when shrinking) and return a float tensor in [0, 1], (C, H, W)."""
    height, width = size
    if image.size != (width, height):
        image = image.resize((width, height), Image.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def at_resolution(image: Image.Image, r: float, width_max: float | None = None) -> Image.Image:
    """``image`` down-sampled to resolution ``r`` of Sec. 3 (width ``r * width_max``, aspect
    kept, never enlarged; ``width_max`` defaults to the image's width) and up-sampled back
    bilinearly: see :func:`lib.data.resolution.at_resolution`."""
    return resolution.at_resolution(image, r, width_max)


def gaussian_mask_tensor(size: tuple[int, int]) -> torch.Tensor:
    """The centred Gaussian mask of Sec. 4.1 as a (1, H, W) tensor."""
    from lib.masks import gaussian_mask

    return torch.as_tensor(gaussian_mask(*size), dtype=torch.float32).reshape(1, *size)


class ReIDDataset(Dataset):
    """Samples of a split as training/evaluation items.

    ``train=True`` adds the usual augmentation: a horizontal flip (applied to ``img``,
    ``hr`` and ``mask`` alike) and, if ``random_erasing > 0``, random erasing of ``img``
    only. ``mask="auto"`` uses a dataset mask where the sample has one and the Gaussian
    otherwise; ``"gaussian"`` always the Gaussian. ``targets=False``: neither the HR source
    nor the dataset mask is read (``hr`` is then ``img`` and ``mask`` the Gaussian), for
    work that reads ``img`` alone (features, Eq. 9's extractor step): no file decoded twice.

    ``raw=True`` (the batched path, :mod:`lib.data.batch`): an item holds only what is
    stored, decoded: ``img`` (the image at its own size), ``hr`` (its HR source; (3, 0, 0)
    where there is none) and ``mask`` (the dataset mask; (1, 0, 0) where there is none or
    ``mask="gaussian"``) as uint8 tensors, and ``pid``, ``camid``, ``r``, ``index``.
    Resizing and the augmentation above are then done for a whole batch by
    :func:`lib.data.batch.to_model_batch`, with the same result.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        input_size: tuple[int, int] = (256, 128),
        *,
        train: bool = False,
        flip: float = 0.5,
        random_erasing: float = 0.0,
        mask: str = "auto",
        raw: bool = True,
        targets: bool = True,
    ) -> None:
        if mask not in ("auto", "gaussian"):
            raise ValueError(f"mask must be 'auto' or 'gaussian', got {mask!r}")
        self.samples = list(samples)
        self.input_size = tuple(input_size)
        self.train, self.flip, self.mask_mode, self.raw = train, flip, mask, raw
        self.targets = targets
        self.random_erasing = random_erasing if train else 0.0
        self.erase = None
        if train and random_erasing > 0:
            from torchvision.transforms import RandomErasing

            self.erase = RandomErasing(p=random_erasing, value=0.0)
        self._gaussian = gaussian_mask_tensor(self.input_size)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        if self.raw:
            return self.raw_item(index)
        s = self.samples[index]
        img = to_tensor(read_image(s.path), self.input_size)
        source = s.source if self.targets else ""
        hr = to_tensor(read_image(source), self.input_size) if source else img.clone()
        if s.mask and self.mask_mode == "auto" and self.targets:
            mask = to_tensor(read_image(s.mask, "L"), self.input_size)
        else:
            mask = self._gaussian
        if self.train and self.flip > 0 and torch.rand(()) < self.flip:
            img, hr, mask = img.flip(-1), hr.flip(-1), mask.flip(-1)
        if self.erase is not None:
            img = self.erase(img)
        return {
            "img": img,
            "hr": hr,
            "mask": mask,
            "pid": s.pid,
            "camid": s.camid,
            "r": torch.tensor(s.r, dtype=torch.float32),
            "index": index,
        }

    def raw_item(self, index: int) -> dict:
        """The item of the batched path (see the class doc): decoding only."""
        s = self.samples[index]
        mask = s.mask if s.mask and self.mask_mode == "auto" and self.targets else None
        source = s.source if self.targets else ""
        return {
            "img": decode(s.path),
            "hr": decode(source) if source else torch.empty((3, 0, 0), dtype=torch.uint8),
            "mask": decode(mask, "L") if mask else torch.empty((1, 0, 0), dtype=torch.uint8),
            "pid": s.pid,
            "camid": s.camid,
            "r": torch.tensor(s.r, dtype=torch.float32),
            "index": index,
        }


def decode(path: str, mode: str = "RGB") -> torch.Tensor:
    """An image file as stored, as a uint8 (C, H, W) tensor (C = 3 for RGB, 1 for L)."""
    array = np.array(read_image(path, mode))  # writable: torch shares it
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array).permute(2, 0, 1)
