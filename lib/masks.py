"""Foreground masks M for the foreground-focus SR loss (Eq. 5, Sec. 4.1): tensors only, below
the data, the losses and the models alike (each of them uses a mask; none owns it).

Sources, as Sec. 4.1 allows ("compatible with different mask generation strategies"):

- :func:`gaussian_mask`: the centred Gaussian kernel of Sec. 4.1 (the default).
- a mask supplied by the dataset or computed once by a person segmenter or parser
  (:mod:`lib.data.person_masks`; the embedded dataset's exact person masks, Market-1501's
  parsing labels): the loader reads it, :func:`as_batch_mask` checks its shape and
  broadcasts it against the SR image, nothing else is done to it.

:func:`authors_code_mask` reproduces the mask of the authors' public code (repository
maosnhehe/RIPR), which halves per image-height vertically and, because of an index slip,
does not fall off horizontally at all.
"""

from __future__ import annotations

import torch
from torch import Tensor


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
