"""Foreground masks M for the foreground-focus SR loss (Eq. 5, Sec. 4.1).

Three sources, as Sec. 4.1 allows ("compatible with different mask generation strategies"):

- :func:`gaussian_mask`: the centred Gaussian kernel of Sec. 4.1 (the default).
- a mask supplied by the dataset (the embedded dataset's exact person masks stand in for
  the paper's DeeperCut masks); the loader reads it, :func:`as_batch_mask` checks its shape
  and broadcasts it against the SR image, nothing else is done to it.
- :func:`person_mask`: a person segmentation from a torchvision segmentation model
  (COCO/VOC "person" class), only when its weights are in the local torch hub cache: there
  is no download; a missing file raises an error that says which file to put where.

:func:`authors_code_mask` reproduces the mask of the authors' public code (repository
maosnhehe/RIPR), which halves per image-height vertically and, because of an index slip,
does not fall off horizontally at all.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PERSON_CLASS = 15  # index of "person" in torchvision's COCO_WITH_VOC_LABELS categories

SEGMENTERS = ("deeplabv3_resnet50", "fcn_resnet50", "lraspp_mobilenet_v3_large")


def gaussian_mask(
    height: int, width: int, *, sigma_y: float = 0.5, sigma_x: float = 0.25
) -> Tensor:
    """The centred Gaussian foreground mask M of Sec. 4.1 (used in Eq. 5).

    ``M[i, j] = exp(-((y_i - c_y)^2 / (2 (sigma_y H)^2) + (x_j - c_x)^2 / (2 (sigma_x W)^2)))``
    with pixel centres ``y_i = i + 0.5``, image centre ``(c_y, c_x) = (H/2, W/2)``, so the mask
    is symmetric, 1 at the centre and ``exp(-1/8) = 0.88`` at a distance of half a sigma.
    The widths are fractions of the image height and width: the defaults (0.5, 0.25) keep
    the mask above 0.6 over the full height of a pedestrian bounding box (its top and bottom
    rows) and let it fall to 0.14 at the left and right borders, where background dominates.
    Returns a float32 tensor of shape (height, width).
    """
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be positive, got {height}x{width}")
    if sigma_y <= 0 or sigma_x <= 0:
        raise ValueError(f"sigmas must be positive, got sigma_y={sigma_y}, sigma_x={sigma_x}")
    y = (torch.arange(height, dtype=torch.float64) + 0.5 - height / 2) / (sigma_y * height)
    x = (torch.arange(width, dtype=torch.float64) + 0.5 - width / 2) / (sigma_x * width)
    mask = torch.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return mask.float()


def authors_code_mask(height: int, width: int) -> Tensor:
    """The mask of the authors' code, for comparison with :func:`gaussian_mask` (Sec. 4.1).

    The code builds ``2**(-|i - c_y| / H) * 2**(-|i - c_x| / W)`` with the row index ``i`` in
    both factors (``c_y = (H-1)/2``, ``c_x = (W-1)/2``): an exponential fall-off to about
    0.71 at the top and bottom rows and no horizontal fall-off. Reproduced as written.
    Returns a float32 tensor of shape (height, width).
    """
    i = torch.arange(height, dtype=torch.float64)
    rows = 2.0 ** (-(i - (height - 1) / 2).abs() / height) * 2.0 ** (
        -(i - (width - 1) / 2).abs() / width
    )
    return rows[:, None].expand(height, width).float().contiguous()


def as_batch_mask(mask: Tensor | None, like: Tensor) -> Tensor:
    """Broadcastable (B or 1, 1, H, W) view of a mask for an image batch ``like`` (B, C, H, W).

    Accepts (H, W) (one mask for all images), (B, H, W), (B, 1, H, W) or (1, 1, H, W);
    ``None`` means all ones (plain MSE, the "AE" row of Table 1). A dataset-supplied mask
    passes through unchanged apart from this reshape. Used by the loss of Eq. 5.
    """
    if mask is None:
        return like.new_ones(1, 1, *like.shape[-2:])
    if mask.dim() == 2:
        mask = mask[None, None]
    elif mask.dim() == 3:
        mask = mask[:, None]
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[-2:] != like.shape[-2:]:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not fit images of shape {tuple(like.shape)}"
        )
    if mask.shape[0] not in (1, like.shape[0]):
        raise ValueError(f"mask batch {mask.shape[0]} does not match image batch {like.shape[0]}")
    return mask.to(dtype=like.dtype, device=like.device)


def _segmenter_weights(arch: str):
    from torchvision.models import segmentation

    if arch not in SEGMENTERS:
        raise ValueError(f"unknown segmentation model {arch!r}; valid: {', '.join(SEGMENTERS)}")
    enum_name = {
        "deeplabv3_resnet50": "DeepLabV3_ResNet50_Weights",
        "fcn_resnet50": "FCN_ResNet50_Weights",
        "lraspp_mobilenet_v3_large": "LRASPP_MobileNet_V3_Large_Weights",
    }[arch]
    return getattr(segmentation, enum_name).COCO_WITH_VOC_LABELS_V1


def load_person_segmenter(arch: str = "deeplabv3_resnet50") -> nn.Module:
    """A torchvision segmentation model in eval mode, from the local torch hub cache only.

    Stands in for the DeeperCut masks of Table 1 (Sec. 5.3). Nothing is downloaded: when
    ``torch.hub.get_dir()/checkpoints/<file>`` is absent, a ``FileNotFoundError`` names the
    file, where to get it and the folder to put it in.
    """
    from torchvision.models import segmentation

    weights = _segmenter_weights(arch)
    filename = weights.url.rsplit("/", 1)[-1]
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    if not (folder / filename).is_file():
        raise FileNotFoundError(
            f"segmentation weights for {arch} are not in the local cache: put {filename} "
            f"(download it on a connected machine from {weights.url}) into {folder} "
            "(set TORCH_HOME to use another cache), or use the Gaussian or the dataset's masks"
        )
    model = getattr(segmentation, arch)(weights=weights, weights_backbone=None, progress=False)
    return model.eval()


@torch.no_grad()
def person_mask(segmenter: nn.Module, images: Tensor, *, soft: bool = False) -> Tensor:
    """Person foreground mask M (Eq. 5) of images in [0, 1], shape (B, 3, H, W) -> (B, 1, H, W).

    Binary (``argmax == person``) by default, like the segmentation masks of Sec. 4.1; with
    ``soft=True`` the softmax probability of the person class. ImageNet normalisation is
    applied here, so pass the images as the loader yields them.
    """
    mean = images.new_tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = images.new_tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    logits = segmenter((images - mean) / std)["out"]
    if logits.shape[-2:] != images.shape[-2:]:
        logits = F.interpolate(logits, size=images.shape[-2:], mode="bilinear")
    if soft:
        return logits.softmax(1)[:, PERSON_CLASS : PERSON_CLASS + 1]
    return (logits.argmax(1, keepdim=True) == PERSON_CLASS).to(images.dtype)
