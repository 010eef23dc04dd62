"""The losses of Sec. 3-4 as pure functions: Eq. 4, 5, 7, 8 and 9.

``L = L_FFSR + alpha * L_RIFE`` (Eq. 4, alpha = 1), ``L_RIFE = L_X + beta * sum_t L_R_t``
(Eq. 9, beta = 0.1). Every loss is averaged over the images of the batch (the paper writes
per-image losses summed over the training set, Eq. 4; the mean over a batch is the usual
stochastic estimate and keeps learning rates independent of the batch size).

Normalisation of Eq. 5: ``||M . (I^{r'} - I^h)||_2^2`` is written as a sum over pixels; here
it is the MEAN over images, channels and pixels (with M = 1 it is exactly the MSE of the
"AE" row of Table 1 and of the pre-training stage, and it keeps the learning rate portable
across input sizes). The sum as written is ``ffsr_loss(...) * C * H * W`` per image.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from lib.models.masks import as_batch_mask, gaussian_mask

__all__ = [
    "ffsr_loss",
    "gaussian_mask",
    "reid_loss",
    "resolution_weight_loss",
    "rife_loss",
    "total_loss",
]


def ffsr_loss(sr: Tensor, hr: Tensor, mask: Tensor | None = None) -> Tensor:
    """Eq. 5, the foreground-focus SR loss: mean of ``(M * (sr - hr))**2``.

    ``sr`` and ``hr`` are (B, C, H, W); ``mask`` is (H, W), (B, H, W), (B or 1, 1, H, W) or
    None (all ones: the plain MSE of the "AE" baseline). Mean over all B*C*H*W elements
    (see the module docstring for the choice).
    """
    if sr.shape != hr.shape:
        raise ValueError(f"sr {tuple(sr.shape)} and hr {tuple(hr.shape)} differ in shape")
    m = as_batch_mask(mask, sr)
    return ((m * (sr - hr)) ** 2).mean()


def resolution_weight_loss(w_low: Tensor, w_high: Tensor, r: Tensor) -> Tensor:
    """Eq. 7, the resolution weighting loss of one DSB, averaged over the batch:
    ``(w_L - (1 - r))**2 + (w_H - r)**2``. Weights and ``r`` of shape (B,) or (B, 1)."""
    w_low, w_high = w_low.reshape(-1), w_high.reshape(-1)
    r = r.reshape(-1).to(w_low.dtype)
    if not (w_low.shape == w_high.shape == r.shape):
        raise ValueError(
            f"w_low {tuple(w_low.shape)}, w_high {tuple(w_high.shape)} and r {tuple(r.shape)} "
            "must have one value per image"
        )
    return ((w_low - (1 - r)) ** 2 + (w_high - r) ** 2).mean()


def reid_loss(logits: Tensor, pids: Tensor) -> Tensor:
    """Eq. 8, the person ReID loss: cross-entropy of the identity logits, batch mean."""
    return F.cross_entropy(logits, pids)


def rife_loss(
    logits: Tensor,
    pids: Tensor,
    weights: Sequence[tuple[Tensor, Tensor]],
    r: Tensor,
    beta: float = 0.1,
) -> Tensor:
    """Eq. 9, ``L_X + beta * sum_t L_R_t`` over the DSBs' (w_L, w_H) pairs (Eq. 7); with no
    pairs (a model without learned fusion) it is L_X alone."""
    loss = reid_loss(logits, pids)
    for w_low, w_high in weights:
        loss = loss + beta * resolution_weight_loss(w_low, w_high, r)
    return loss


def total_loss(
    out: dict,
    hr: Tensor,
    mask: Tensor | None,
    pids: Tensor,
    r: Tensor,
    *,
    alpha: float = 1.0,
    beta: float = 0.1,
) -> dict[str, Tensor]:
    """Eq. 4, ``L_FFSR + alpha * L_RIFE``, from a network's output dict (``sr``, ``logits``,
    ``weights``). Returns the terms as a dict: ``total`` (to back-propagate), ``ffsr``
    (Eq. 5), ``reid`` (Eq. 8) and ``resolution`` (sum over DSBs of Eq. 7, before beta)."""
    l_ffsr = ffsr_loss(out["sr"], hr, mask)
    l_reid = reid_loss(out["logits"], pids)
    l_res = sum(
        (resolution_weight_loss(wl, wh, r) for wl, wh in out["weights"]),
        start=torch.zeros((), device=l_reid.device),
    )
    total = l_ffsr + alpha * (l_reid + beta * l_res)
    return {"total": total, "ffsr": l_ffsr, "reid": l_reid, "resolution": l_res}
