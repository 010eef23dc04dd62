"""The batched data path: small uint8 images from the workers, model input on the device.

Workers (:class:`lib.data.loader.ReIDDataset` with ``raw=True``) only decode: each item holds
the LR image at its own size, its HR source and the dataset's mask where it has one, as
uint8 tensors. :func:`collate` pads them into one uint8 canvas per key, packed into one
buffer with each image's size, so a batch of 32 crosses worker IPC as three tensors of about
1.2 MB in all (VR-Synthetic, 128x64 sources) instead of seven holding 44 MB of float32 at
384x128. :func:`to_model_batch` then does, on the training device and for the whole batch,
what the per-item path does per image: bilinear resizing to the input size, the Gaussian
mask where there is no dataset mask, the horizontal flip and random erasing.

Identical results: the resize is Pillow's own 8-bit bilinear resampling (``Image.resize(...,
BILINEAR)``, what :func:`lib.data.loader.to_tensor` calls) re-implemented with integer tensor
ops: the same filter taps and 22-bit fixed-point coefficients, two passes in Pillow's order
with the first one's result rounded to uint8. Integer sums are exact on every device, so the
output equals Pillow's byte for byte; the conversion to [0, 1] gives the float32 values
``k / 255`` of the per-item path. Flip and erasing draw their random numbers item by item
from the same generator, in the same order and with the same calls as the per-item path
(torchvision's ``RandomErasing``), so for the same generator state they flip and erase the
same items in the same places. Tested in tests/test_batch_path.py; a smoke training through
either path ends with bit-identical weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, default_collate

__all__ = [
    "DeviceBatches",
    "collate",
    "draw_augmentation",
    "pil_bilinear_taps",
    "resize_pillow",
    "resize_uint8",
    "to_model_batch",
    "unpack",
    "vertical_first",
]

PRECISION_BITS = 22  # Pillow's fixed-point precision for 8-bit resampling (32 - 8 - 2)
IMAGE_KEYS = ("img", "hr", "mask")
ERASE_SCALE, ERASE_RATIO = (0.02, 0.33), (0.3, 3.3)  # torchvision RandomErasing defaults
_TO_UNIT = torch.arange(256, dtype=torch.float32) / 255.0  # uint8 k -> float32 k / 255


@lru_cache(maxsize=4096)
def pil_bilinear_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's bilinear resampling of a line of ``in_size`` pixels to ``out_size``: for each
    output pixel, the input indices (int64, (out_size, K)) and 22-bit fixed-point weights
    (int32, same shape; unused taps have weight 0 and index 0). Antialiased when shrinking:
    the filter then spans ``in_size / out_size`` pixels (Resample.c, precompute_coeffs and
    normalize_coeffs_8bpc, replicated in double precision)."""
    if in_size < 1 or out_size < 1:
        raise ValueError(f"sizes must be positive, got {in_size} -> {out_size}")
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    ss = 1.0 / filterscale
    index = np.zeros((out_size, ksize), dtype=np.int64)
    weight = np.zeros((out_size, ksize), dtype=np.int32)
    for xx in range(out_size):
        center = 0.0 + (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)  # int(): C's truncation towards zero
        xmax = min(int(center + support + 0.5), in_size) - xmin
        taps = []
        for x in range(xmax):
            t = abs((x + xmin - center + 0.5) * ss)
            taps.append(1.0 - t if t < 1.0 else 0.0)
        total = 0.0
        for w in taps:
            total += w
        for x, w in enumerate(taps):
            w = w / total if total != 0.0 else w
            index[xx, x] = xmin + x
            weight[xx, x] = int(0.5 + w * (1 << PRECISION_BITS))  # w >= 0 for bilinear
    return index, weight


def _taps(in_sizes: Sequence[int], out_size: int) -> tuple[Tensor, Tensor]:
    """Stacked taps of :func:`pil_bilinear_taps` for each input size, (B, out, K), K the
    most taps any of them uses (trailing taps that are 0 everywhere are dropped)."""
    per_item = [pil_bilinear_taps(int(n), out_size) for n in in_sizes]
    k = max(int((w != 0).any(0).nonzero()[0].max()) + 1 for _, w in per_item)
    index = np.zeros((len(per_item), out_size, k), dtype=np.int64)
    weight = np.zeros((len(per_item), out_size, k), dtype=np.int32)
    for b, (i, w) in enumerate(per_item):
        used = min(k, i.shape[1])
        index[b, :, :used], weight[b, :, :used] = i[:, :used], w[:, :used]
    return torch.from_numpy(index), torch.from_numpy(weight)


def _round(acc: Tensor) -> Tensor:
    """Pillow's clip8: add half, shift out the fraction, clamp to [0, 255]."""
    return ((acc + (1 << (PRECISION_BITS - 1))) >> PRECISION_BITS).clamp_(0, 255)


def _pass(x: Tensor, index: Tensor, weight: Tensor, dim: int) -> Tensor:
    """One separable pass over ``dim`` (2: rows, 3: columns) of an int32 (B, C, H, W) batch;
    ``index``/``weight`` are (B, out, K) on x's device. Sums of at most K products of a
    uint8 value and a 22-bit weight: exact in int32."""
    b, c, h, w = x.shape
    out = index.shape[1]
    acc = None
    for k in range(index.shape[2]):
        if dim == 3:
            shape, view = (b, c, h, out), (b, 1, 1, out)
        else:
            shape, view = (b, c, out, w), (b, 1, out, 1)
        term = torch.gather(x, dim, index[:, :, k].reshape(view).expand(shape))
        term.mul_(weight[:, :, k].reshape(view))
        acc = term if acc is None else acc.add_(term)
    return _round(acc)


def _two_passes(x: Tensor, sizes: Sequence[tuple[int, int]], size, vertical_first: bool) -> Tensor:
    """Both passes over an int32 (B, C, Hmax, Wmax) batch, in Pillow's order; a pass that
    leaves every image's size unchanged is skipped (Pillow skips it; its taps would be the
    identity)."""
    height, width = size
    device = x.device

    def horizontal(x: Tensor) -> Tensor:
        if all(w == width for _, w in sizes):
            return x[..., :width]
        index, weight = _taps([w for _, w in sizes], width)
        return _pass(x, index.to(device), weight.to(device), 3)

    def vertical(x: Tensor) -> Tensor:
        if all(h == height for h, _ in sizes):
            return x[:, :, :height]
        index, weight = _taps([h for h, _ in sizes], height)
        return _pass(x, index.to(device), weight.to(device), 2)

    return horizontal(vertical(x)) if vertical_first else vertical(horizontal(x))


def _one_pillow(image: np.ndarray, size: tuple[int, int], vertical_first: bool) -> np.ndarray:
    """One (h, w, 3) uint8 image through :func:`_two_passes` (for :func:`vertical_first`)."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].to(torch.int32)
    out = _two_passes(x, [image.shape[:2]], size, vertical_first)
    return out[0].permute(1, 2, 0).to(torch.uint8).numpy()


@lru_cache(maxsize=65536)
def vertical_first(in_size: tuple[int, int], out_size: tuple[int, int]) -> bool:
    """Whether Pillow resizes an image of ``in_size`` = (h, w) to ``out_size`` = (H, W) with
    the vertical pass first. Its two passes round to uint8 in between, so the order changes
    some pixels by one level; Pillow 13 runs the vertical pass first when the height shrinks
    much more than the width (earlier versions never do). Read off Pillow itself: a noise
    image of that size is resized by Pillow and by both orders here; an order that does not
    reproduce Pillow byte for byte is never used (an error names the sizes)."""
    (h, w), (height, width) = in_size, out_size
    if h == height or w == width:
        return False  # one pass only: no order
    from PIL import Image

    seed = [h, w, height, width]
    probe = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(probe).resize((width, height), Image.BILINEAR))
    for order in (False, True):
        if np.array_equal(_one_pillow(probe, out_size, order), expected):
            return order
    raise RuntimeError(
        f"Pillow's bilinear resize of {w}x{h} to {width}x{height} is not reproduced by "
        "either pass order: its resampling has changed; lib.data.batch must follow it"
    )


def resize_uint8(canvas: Tensor, sizes: Tensor, size: tuple[int, int]) -> Tensor:
    """Images of different sizes, each resized to ``size`` = (H, W) exactly as Pillow's
    ``Image.resize((W, H), Image.BILINEAR)`` resizes an 8-bit image.

    ``canvas`` (B, C, Hmax, Wmax) uint8 holds image b in its top-left ``sizes[b]`` = (h, w)
    corner (the rest is ignored). Returns (B, C, H, W) uint8 on ``canvas``'s device.
    """
    size = (int(size[0]), int(size[1]))
    pairs = [(int(h), int(w)) for h, w in sizes.tolist()]
    orders = [vertical_first(p, size) for p in pairs]
    x = canvas.to(torch.int32)
    if len(set(orders)) <= 1:
        return _two_passes(x, pairs, size, bool(orders and orders[0])).to(torch.uint8)
    out = torch.empty((len(pairs), canvas.shape[1], *size), dtype=torch.uint8, device=x.device)
    for order in (False, True):
        rows = [b for b, o in enumerate(orders) if o == order]
        chosen = torch.tensor(rows, device=x.device)
        group = _two_passes(x[chosen], [pairs[b] for b in rows], size, order)
        out[chosen] = group.to(torch.uint8)
    return out


def resize_pillow(canvas: Tensor, sizes: Tensor, size: tuple[int, int]) -> Tensor:
    """:func:`resize_uint8` done by Pillow itself, image by image (CPU tensors only): the
    same bytes by construction, and on a CPU faster than the tensor ops (Pillow's C loops),
    so the CPU device uses it. Each image is handed to Pillow without a copy of its own
    (rows of the canvas in HWC order, read with their stride)."""
    from PIL import Image

    height, width = int(size[0]), int(size[1])
    count, channels, _, canvas_width = canvas.shape
    mode = {1: "L", 3: "RGB"}[channels]
    hwc = canvas.permute(0, 2, 3, 1).contiguous().numpy()
    out = np.empty((count, height, width, channels), dtype=np.uint8)
    for b, (h, w) in enumerate(sizes.tolist()):
        if (h, w) == (height, width):
            out[b] = hwc[b, :h, :w]
            continue
        stride = canvas_width * channels
        image = Image.frombuffer(mode, (w, h), hwc[b], "raw", mode, stride, 1)
        out[b] = np.asarray(image.resize((width, height), Image.BILINEAR)).reshape(
            height, width, channels
        )
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


META_KEYS = ("pid", "camid", "index")  # int keys packed beside the image sizes


def collate(items: Sequence[dict]) -> dict:
    """A batch of raw items (uint8 images as stored, :class:`ReIDDataset` with ``raw=True``),
    packed so that it crosses worker IPC as three tensors (each costs a shared-memory
    segment): ``pixels``, one uint8 buffer holding a zero-padded canvas (B, C, hmax, wmax)
    per image key (``img``, ``hr``, ``mask``); ``meta``, int64 (B, 9): each image's (h, w),
    (0, 0) where an item has none (no HR source, no dataset mask), then ``pid``, ``camid``,
    ``index``; and ``r``. :func:`unpack` reads it back. Items of the per-item path (float
    images at the input size) are collated as usual."""
    if not items or items[0]["img"].dtype != torch.uint8:
        return default_collate(list(items))
    count = len(items)
    sizes = [[int(d) for k in IMAGE_KEYS for d in i[k].shape[-2:]] for i in items]
    shapes = _canvas_shapes([items[0][k].shape[0] for k in IMAGE_KEYS], sizes)
    pixels = torch.zeros(sum(math.prod(shape) for shape in shapes), dtype=torch.uint8)
    offset = 0
    for key, shape in zip(IMAGE_KEYS, shapes, strict=True):
        canvas = pixels[offset : offset + math.prod(shape)].view(shape)
        for b, item in enumerate(items):
            image = item[key]
            canvas[b, :, : image.shape[-2], : image.shape[-1]] = image
        offset += math.prod(shape)
    meta = [row + [int(i[k]) for k in META_KEYS] for row, i in zip(sizes, items, strict=True)]
    batch = {"pixels": pixels, "meta": torch.tensor(meta, dtype=torch.int64).reshape(count, 9)}
    batch["r"] = torch.tensor([float(i["r"]) for i in items], dtype=torch.float32)
    return batch


def _canvas_shapes(channels: Sequence[int], sizes: list[list[int]]) -> list[tuple[int, ...]]:
    """(B, C, hmax, wmax) of each image key's canvas (at least 1x1); ``sizes``: per item,
    (h, w) of each image key in turn."""
    count = len(sizes)
    maxima = [max(column) for column in zip(*sizes, strict=True)] if count else [0] * 6
    return [
        (count, channels[n], max(maxima[2 * n], 1), max(maxima[2 * n + 1], 1))
        for n in range(len(IMAGE_KEYS))
    ]


def unpack(raw: dict) -> dict[str, tuple[Tensor, Tensor]]:
    """Each image key of a :func:`collate` batch as (canvas (B, C, hmax, wmax) uint8, sizes
    (B, 2) int64 (h, w)), on the device ``raw["pixels"]`` is on."""
    meta = raw["meta"].cpu()
    sizes = meta[:, :6]
    shapes = _canvas_shapes([3, 3, 1], sizes.tolist())
    out, offset = {}, 0
    for n, (key, shape) in enumerate(zip(IMAGE_KEYS, shapes, strict=True)):
        canvas = raw["pixels"][offset : offset + math.prod(shape)].view(shape)
        out[key] = (canvas, sizes[:, 2 * n : 2 * n + 2])
        offset += math.prod(shape)
    return out


def draw_augmentation(
    count: int,
    input_size: tuple[int, int],
    *,
    flip: float = 0.5,
    random_erasing: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[list[bool], list[tuple[int, int, int, int] | None]]:
    """Flips and erased boxes (i, j, h, w) of ``count`` training items, drawn item by item
    from ``generator`` (None: torch's default generator) with exactly the calls of the
    per-item path: ``torch.rand(())`` for the flip where ``flip > 0``, then torchvision's
    ``RandomErasing(p=random_erasing)`` (``torch.rand(1)``, then up to 10 tries of an area
    fraction in [0.02, 0.33) and a log aspect ratio in [log 0.3, log 3.3), then the corner)."""
    height, width = input_size
    area = height * width
    log_ratio = torch.log(torch.tensor(ERASE_RATIO))
    flips: list[bool] = []
    boxes: list[tuple[int, int, int, int] | None] = []
    for _ in range(count):
        flips.append(bool(flip > 0 and torch.rand((), generator=generator) < flip))
        box = None
        if random_erasing > 0 and torch.rand(1, generator=generator) < random_erasing:
            for _ in range(10):
                fraction = torch.empty(1).uniform_(*ERASE_SCALE, generator=generator).item()
                erase_area = area * fraction
                ratio = torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=generator)
                aspect_ratio = torch.exp(ratio).item()
                h = int(round(math.sqrt(erase_area * aspect_ratio)))
                w = int(round(math.sqrt(erase_area / aspect_ratio)))
                if not (h < height and w < width):
                    continue
                i = torch.randint(0, height - h + 1, size=(1,), generator=generator).item()
                j = torch.randint(0, width - w + 1, size=(1,), generator=generator).item()
                box = (int(i), int(j), h, w)
                break
        boxes.append(box)
    return flips, boxes


def _to_unit(images: Tensor) -> Tensor:
    """uint8 images as float32 in [0, 1]: exactly ``np.float32(k) / 255`` for each k (the
    per-item path's values). On the CPU a true division; elsewhere a 256-entry table, since
    CUDA divides by a scalar as a multiplication by its reciprocal (1 ulp off at times)."""
    if images.device.type == "cpu":
        return images.float().div_(255.0)
    return _TO_UNIT.to(images.device)[images.long()]


def _resized(
    canvas: Tensor, sizes: Tensor, size: tuple[int, int], method: str
) -> tuple[Tensor | None, Tensor]:
    """(the images of a canvas resized to ``size``, uint8, or None where no item has one;
    which items have one). ``method``: "tensor" (:func:`resize_uint8`) or "pillow"
    (:func:`resize_pillow`)."""
    present = (sizes > 0).all(1)
    if not bool(present.any()):
        return None, present
    sizes = torch.where(present[:, None], sizes, torch.ones_like(sizes))  # absent: 1x1 dummy
    resize = resize_pillow if method == "pillow" else resize_uint8
    return resize(canvas, sizes, size), present


def to_model_batch(
    raw: dict,
    input_size: tuple[int, int],
    device: torch.device | str = "cpu",
    train: bool = False,
    generator: torch.Generator | None = None,
    *,
    flip: float = 0.5,
    random_erasing: float = 0.0,
    resize: str = "auto",
) -> dict:
    """The model's batch on ``device`` from a batch of :func:`collate`: the keys of the
    per-item path (``img``, ``hr``, ``mask`` float32 at ``input_size``; ``pid``, ``camid``,
    ``r``, ``index``), equal to what the per-item path's items would collate to.

    ``img`` and ``hr`` are resized as Pillow resizes them; ``hr`` is ``img`` where an item has
    no HR source; ``mask`` is the dataset mask (resized likewise) or the Gaussian of Sec. 4.1.
    With ``train``, flips (all three images) and random erasing (``img`` only) are drawn by
    :func:`draw_augmentation` from ``generator``. A batch that is already at the input size
    (the per-item path, :class:`lib.data.folder.DegradedFolder`) is only moved to ``device``.

    ``resize``: "tensor" (:func:`resize_uint8`, integer tensor ops on ``device``), "pillow"
    (:func:`resize_pillow`, CPU only) or "auto": Pillow on the CPU, where it is faster,
    tensor ops elsewhere. Both give Pillow's bytes.
    """
    device = torch.device(device)
    if resize not in ("auto", "tensor", "pillow"):
        raise ValueError(f"resize must be 'auto', 'tensor' or 'pillow', got {resize!r}")
    method = resize if resize != "auto" else "pillow" if device.type == "cpu" else "tensor"
    if method == "pillow" and device.type != "cpu":
        raise ValueError(f"resize='pillow' works on the CPU, not on {device}")
    if "pixels" not in raw:
        return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v
                for k, v in raw.items()}  # fmt: skip
    with _one_thread(device):
        return _model_batch(raw, tuple(input_size), device, train, generator, flip,
                            random_erasing, method)  # fmt: skip


@contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """torch's CPU ops on one thread meanwhile: the batch's ops are small, and spreading
    each over the intra-op pool cost more than it gained here (8.4 ms per image against
    1.0 on this shared 2-core machine, a smoke training's loader, measured)."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _model_batch(raw, size, device, train, generator, flip, random_erasing, method) -> dict:
    """:func:`to_model_batch` of a packed batch."""
    from lib.data.loader import gaussian_mask_tensor

    meta = raw["meta"]
    count = meta.shape[0]
    images = unpack({"pixels": raw["pixels"].to(device, non_blocking=True), "meta": meta})
    img, _ = _resized(*images["img"], size, method)
    hr, has_hr = _resized(*images["hr"], size, method)
    hr = img if hr is None else torch.where(has_hr.to(device).view(-1, 1, 1, 1), hr, img)
    mask, has_mask = _resized(*images["mask"], size, method)
    gaussian = gaussian_mask_tensor(size).to(device).expand(count, 1, *size)
    out = {"img": _to_unit(img), "hr": _to_unit(hr)}
    if mask is None:
        out["mask"] = gaussian.contiguous()
    else:
        present = has_mask.to(device).view(-1, 1, 1, 1)
        out["mask"] = torch.where(present, _to_unit(mask), gaussian)
    if train:
        flips, boxes = draw_augmentation(
            count, size, flip=flip, random_erasing=random_erasing, generator=generator
        )
        if any(flips):
            chosen = torch.tensor(flips, device=device).view(-1, 1, 1, 1)
            for key in IMAGE_KEYS:
                out[key] = torch.where(chosen, out[key].flip(-1), out[key])
        if any(b is not None for b in boxes):
            out["img"] = out["img"].masked_fill(_box_mask(boxes, size, device), 0.0)
    meta = meta.to(device, non_blocking=True)
    for n, key in enumerate(META_KEYS):
        out[key] = meta[:, 6 + n].contiguous()
    out["r"] = raw["r"].to(device, non_blocking=True)
    return out


def _box_mask(boxes: Sequence, size: tuple[int, int], device) -> Tensor:
    """(B, 1, H, W) bool: True inside each item's erased box (none where the box is None)."""
    corners = torch.tensor(
        [b if b is not None else (0, 0, 0, 0) for b in boxes], dtype=torch.int64
    ).to(device)
    i, j, h, w = (corners[:, k].view(-1, 1, 1, 1) for k in range(4))
    rows = torch.arange(size[0], device=device).view(1, 1, -1, 1)
    cols = torch.arange(size[1], device=device).view(1, 1, 1, -1)
    return (rows >= i) & (rows < i + h) & (cols >= j) & (cols < j + w)


class DeviceBatches:
    """A DataLoader whose batches come out as :func:`to_model_batch` makes them on
    ``device``, with the augmentation settings of its dataset (``input_size``, ``train``,
    ``flip``, ``random_erasing``): the one place where the training loop and the evaluation
    get their model input. ``generator``: the flips' and erasing's random numbers (None:
    torch's default generator, as the per-item path with ``workers=0``)."""

    def __init__(
        self,
        loader: DataLoader,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> None:
        self.loader, self.device, self.generator = loader, torch.device(device), generator
        self.dataset = loader.dataset

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict]:
        ds = self.dataset
        size = getattr(ds, "input_size", None)
        batches = iter(self.loader)
        while True:
            with _one_thread(self.device):  # workers=0 decodes and collates here too
                raw = next(batches, None)
                if raw is None:
                    return
                batch = to_model_batch(
                    raw,
                    size,
                    self.device,
                    getattr(ds, "train", False),
                    self.generator,
                    flip=getattr(ds, "flip", 0.0),
                    random_erasing=getattr(ds, "random_erasing", 0.0),
                )
            yield batch
