"""Resolution r (Sec. 3) and down-sampling to it: the one place that defines both.

Sec. 3: an image's resolution is ``r = width / width_max``, ``width_max`` the largest image
width of its dataset (e.g. width_max = 96: a 48-px wide image has r = 0.5, resized to 24 px
it has r = 0.25). Enlarging by interpolation does not raise r. So an image brought to
resolution r has width ``round_half_up(r * width_max)`` (at least 1 px), its height scaled by
the same factor (aspect kept), and it is never enlarged: where that width is not below the
image's own, the image keeps its size (and its own r). Shrinking is antialiased bilinear
(Pillow's BILINEAR, torch's ``antialias=True``); what a model sees of a low-resolution image
is then up-sampled bilinearly to its input size.

Two paths share :func:`size_at`, hence one rounding rule (:func:`round_half_up`):

- PIL images: :func:`downsample` (what the VR/MLR builders store, lib.data.variants),
  :func:`at_resolution` (down, then back up to the image's size);
- tensors: :func:`downsample_tensor` (an image at its own size, the twin of
  :func:`downsample`) and :func:`degrade_batch` (rows stored at a model's input size that
  render HR images of known size, as the figures of Sec. 3 and Sec. 5 need).

``width_max`` of a dataset: ``split.meta["width_max"]`` of a built variant, or
:func:`width_max_of` for its samples (``image width / r``, exact for a variant's samples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from lib.data.samples import Sample

Size = tuple[int, int]  # (width, height), as PIL writes sizes

TIE_TOLERANCE = 1e-9  # r = width / width_max read back from a manifest gives width again


def round_half_up(x: float) -> int:
    """The rounding rule of every size here: to the nearest integer, halves up (not Python's
    round-half-even), values within 1e-9 of a half counted as the half, at least 1."""
    return max(1, math.floor(x + 0.5 + TIE_TOLERANCE))


def size_at(size: Size, r: float, width_max: float) -> Size:
    """The (width, height) of an image of ``size`` = (width, height) at resolution ``r``
    (Sec. 3): width ``round_half_up(r * width_max)``, height ``round_half_up(height *
    new_width / width)``; ``size`` itself where that width is not below the image's width."""
    if not (r > 0 and math.isfinite(r)):
        raise ValueError(f"resolution r must be a positive number, got {r}")
    if not width_max > 0:
        raise ValueError(f"width_max must be positive, got {width_max}")
    width, height = size
    new_width = round_half_up(r * width_max)
    if new_width >= width:
        return (width, height)
    return (new_width, round_half_up(height * new_width / width))


def downsample(image: Image.Image, r: float, width_max: float) -> Image.Image:
    """``image`` at resolution ``r`` of a dataset whose widest image is ``width_max`` px
    (Sec. 3): resized with Pillow's antialiased bilinear filter to :func:`size_at`; returned
    unchanged (the same object) where that would not make it narrower."""
    size = size_at(image.size, r, width_max)
    return image if size == image.size else image.resize(size, Image.BILINEAR)


def at_resolution(image: Image.Image, r: float, width_max: float | None = None) -> Image.Image:
    """``image`` down-sampled to resolution ``r`` (:func:`downsample`) and up-sampled back to
    its size bilinearly: what a model sees of it (Sec. 3: interpolation does not restore
    resolution). ``width_max`` defaults to the image's width (the image is taken as r = 1)."""
    small = downsample(image, r, image.width if width_max is None else width_max)
    return small if small.size == image.size else small.resize(image.size, Image.BILINEAR)


def _resize(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of (N, C, H, W) to ``size`` = (H, W), antialiased where it shrinks."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    shrink = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    return F.interpolate(images, size=size, mode="bilinear", antialias=shrink)


def downsample_tensor(images: Tensor, r: float, width_max: float) -> Tensor:
    """Images (C, H, W) or (N, C, H, W) at their own size, brought to resolution ``r``: the
    tensor twin of :func:`downsample` (same size, antialiased bilinear; returned as they are
    where that would not make them narrower)."""
    height, width = images.shape[-2:]
    new_width, new_height = size_at((width, height), r, width_max)
    if (new_width, new_height) == (width, height):
        return images
    batch = images if images.ndim == 4 else images[None]
    small = _resize(batch, (new_height, new_width))
    return small if images.ndim == 4 else small[0]


def degraded_sizes(
    images: Tensor,
    r: float,
    width_max: float | None = None,
    source_sizes: Sequence[Size] | None = None,
) -> list[Size | None]:
    """For each row of ``images`` (N, C, H, W), the (width, height) :func:`degrade_batch`
    down-samples it to, or None where the row is kept (not narrower than the source or the
    row). Row i renders an HR image of ``source_sizes[i]`` pixels (default: the row itself);
    the size is :func:`size_at` of that source, the size :func:`downsample` gives it."""
    height, width = images.shape[-2:]
    if source_sizes is None:
        source_sizes = [(width, height)] * len(images)
    elif len(source_sizes) != len(images):
        raise ValueError(
            f"one source size per image is needed: {len(source_sizes)} for {len(images)}"
        )
    width_max = width if width_max is None else width_max
    sizes: list[Size | None] = []
    for source in source_sizes:
        small = size_at((int(source[0]), int(source[1])), r, width_max)
        sizes.append(None if small[0] >= min(int(source[0]), width) else small)
    return sizes


def degrade_batch(
    images: Tensor,
    r: float,
    width_max: float | None = None,
    *,
    source_sizes: Sequence[Size] | None = None,
    size: tuple[int, int] | None = None,
) -> Tensor:
    """Images (N, C, H, W) brought to resolution ``r`` (Sec. 3) and up-sampled bilinearly to
    ``size`` = (H, W) (default: their own): what a model sees of them at r.

    The rows are images stored at a model's input size, each rendering an HR image of
    ``source_sizes[i]`` = (width, height) pixels (default: the row is its own source), and
    ``width_max`` is the dataset's widest width in those pixels (default: the rows' width W,
    i.e. every row taken as r = 1). Each row is down-sampled to the size :func:`downsample`
    gives its source (:func:`degraded_sizes`), so r means the same as in the manifests of
    lib.data.variants; rows it would not make narrower are only resized to ``size``.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
    out_size = tuple(size) if size is not None else tuple(images.shape[-2:])
    plan = degraded_sizes(images, r, width_max, source_sizes)
    groups: dict[Size | None, list[int]] = {}
    for index, small in enumerate(plan):
        groups.setdefault(small, []).append(index)
    result = images.new_empty((len(images), images.shape[1], *out_size))
    for small, rows in groups.items():
        x = images[rows] if len(rows) < len(images) else images
        if small is not None:
            x = _resize(x, (small[1], small[0]))
        result[rows] = _resize(x, out_size)
    return result


def image_size(path: str) -> Size:
    """(width, height) of an image file, read from its header; the error names the file."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise OSError(f"cannot read image {path}: {error}") from None


def width_max_of(samples: Sequence[Sample]) -> int:
    """Sec. 3's width_max of the dataset ``samples`` come from: each sample's image width over
    its r (exact for a built variant, whose r are width / width_max), the largest of them, in
    whole pixels. Samples whose r was never set (1.0) give their own width."""
    if not samples:
        raise ValueError("width_max_of needs at least one sample")
    return max(round_half_up(image_size(s.path)[0] / s.r) for s in samples)


def source_geometry(samples: Sequence[Sample]) -> tuple[list[Size], int]:
    """The (width, height) of each sample's HR source image (``hr_path``) and the dataset's
    width_max: what :func:`degrade_batch` needs for rows rendered from these samples."""
    sizes = {path: image_size(path) for path in dict.fromkeys(s.hr_path for s in samples)}
    return [sizes[s.hr_path] for s in samples], width_max_of(samples)
