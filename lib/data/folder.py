"""Any folder of images as SR training pairs (the paper pre-trains FFSR on ImageNet, Sec. 5.2).

Each image is resized to the model input size (the HR target I^h, taken as r = 1: the
folder has no width_max of its own), down-sampled to a resolution r drawn uniformly from
``r_range`` (Sec. 3: width r * W with W the input width,
:func:`lib.data.resolution.downsample`) and up-sampled back bilinearly (the input I^r).
Items have the keys of :class:`lib.data.loader.ReIDDataset` (``pid`` is -1: there are no
identities; ``mask`` is the Gaussian of Sec. 4.1).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from lib.data.loader import IMAGE_SUFFIXES, gaussian_mask_tensor, read_image, to_tensor
from lib.data.resolution import at_resolution


class DegradedFolder(Dataset):
    """Images found recursively under ``root`` (or a list of image paths) as (LR input, HR
    target) pairs. Also used for datasets without LR/HR pairs (CAVIAR): their training
    images, degraded here, teach the SR module."""

    def __init__(
        self,
        root: str | Path | list[str],
        input_size: tuple[int, int],
        *,
        r_range: tuple[float, float] = (0.125, 1.0),
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
        self.input_size, self.r_range = tuple(input_size), r_range
        self.mask = gaussian_mask_tensor(self.input_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        height, width = self.input_size
        hr_image = read_image(str(self.paths[index])).resize((width, height))
        r = float(torch.empty(()).uniform_(*self.r_range))  # torch's RNG: reseeded per epoch
        return {
            "img": to_tensor(at_resolution(hr_image, r, width), self.input_size),
            "hr": to_tensor(hr_image, self.input_size),
            "mask": self.mask,
            "pid": -1,
            "camid": -1,
            "r": torch.tensor(r, dtype=torch.float32),
            "index": index,
        }
