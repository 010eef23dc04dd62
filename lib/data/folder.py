"""Any folder of images as SR training pairs (the paper pre-trains FFSR on ImageNet, Sec. 5.2).

Each image is resized to the model input size (the HR target I^h, taken as r = 1: the
folder has no width_max of its own), down-sampled to a resolution r drawn uniformly from
``r_range`` (Sec. 3: width r * W with W the input width,
:func:`lib.data.resolution.downsample`) and up-sampled back bilinearly (the input I^r).
Items have the keys of :class:`lib.data.loader.ReIDDataset` (``pid`` is -1: there are no
identities; ``mask`` is the Gaussian of Sec. 4.1). With ``raw=True`` (the default, as
ReIDDataset's) an item is the batched path's (:mod:`lib.data.batch`): the HR target and the
down-sampled image at its own small size, uint8; :func:`lib.data.batch.to_model_batch` then
up-samples the batch on the training device, byte for byte as Pillow does here with
``raw=False`` (tests/test_folder.py).

The resolution r is drawn in the worker that reads the image (``draws_in_workers``), from
torch's generator, which DataLoader seeds per worker from the epoch's generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from lib.data.loader import IMAGE_SUFFIXES, gaussian_mask_tensor, read_image, to_tensor
from lib.data.resolution import at_resolution, downsample


class DegradedFolder(Dataset):
    """Images found recursively under ``root`` (or a list of image paths) as (LR input, HR
    target) pairs. Also used for datasets without LR/HR pairs (CAVIAR): their training
    images, degraded here, teach the SR module."""

    draws_in_workers = True  # r: see the module doc (lib.train.loading)

    def __init__(
        self,
        root: str | Path | list[str],
        input_size: tuple[int, int],
        *,
        r_range: tuple[float, float] = (0.125, 1.0),
        raw: bool = True,
    ) -> None:
        if isinstance(root, list):
            self.paths = [Path(p) for p in root]
        else:
            root = Path(root).expanduser()
            self.paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise FileNotFoundError(
                f"no images under {root}: expected a folder (searched recursively) of "
                f"{', '.join(sorted(IMAGE_SUFFIXES))} files, e.g. an ImageNet train folder"
            )
        self.input_size, self.r_range, self.raw = tuple(input_size), r_range, raw
        self.mask = gaussian_mask_tensor(self.input_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        height, width = self.input_size
        hr_image = read_image(str(self.paths[index])).resize((width, height))
        r = float(torch.empty(()).uniform_(*self.r_range))  # torch's RNG: reseeded per epoch
        if self.raw:
            return {
                "img": _uint8(downsample(hr_image, r, width)),
                "hr": _uint8(hr_image),
                "mask": torch.empty((1, 0, 0), dtype=torch.uint8),  # the Gaussian, per batch
                "pid": -1,
                "camid": -1,
                "r": torch.tensor(r, dtype=torch.float32),
                "index": index,
            }
        return {
            "img": to_tensor(at_resolution(hr_image, r, width), self.input_size),
            "hr": to_tensor(hr_image, self.input_size),
            "mask": self.mask,
            "pid": -1,
            "camid": -1,
            "r": torch.tensor(r, dtype=torch.float32),
            "index": index,
        }


def _uint8(image) -> torch.Tensor:
    """A Pillow RGB image as a uint8 (3, H, W) tensor."""
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous()
