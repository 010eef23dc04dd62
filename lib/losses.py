"""The losses of Sec. 3-4 as pure functions: Eq. 4, 5, 7, 8 and 9.

``L = L_FFSR + alpha * L_RIFE`` (Eq. 4, alpha = 1), ``L_RIFE = L_X + beta * sum_t L_R_t``
(Eq. 9, beta = 0.1). Every loss is averaged over the images of the batch (the paper writes
per-image losses summed over the training set, Eq. 4; the mean over a batch is the usual
stochastic estimate and keeps learning rates independent of the batch size).

Normalisation of Eq. 5: ``||M . (I^{r'} - I^h)||_2^2`` is a squared L2 norm, a SUM over the
channels and pixels of one image. ``reduction="sum"`` is Eq. 5 as written (then averaged
over the batch, like every loss here); ``reduction="mean"`` is the per-element mean, which
is ``sum / (C * H * W)``. The choice decides how much L_FFSR weighs against the
cross-entropy in Eq. 4: with the mean, at 256x128 its gradient on the SR module is about a
thousandth of the cross-entropy's, and joint training trains FFSR from the ReID loss alone.

Three forms of the joint loss (:data:`LOSS_FORMS`, a run's ``loss_form``):

- ``"paper"``: Eq. 4 with Eq. 5 summed, ``L_FFSR + alpha (L_X + beta sum_t L_R_t)``.
- ``"paper_mean"``: the same with Eq. 5 as a per-element mean.
- ``"code"``: the weighting of the authors' public code (RIPR.py),
  ``L_X + 0.1 MSE(M . (I^{r'} - I^h)) + 0.01 sum_t L_R_t`` with a per-element mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lib.masks import as_batch_mask, gaussian_mask

__all__ = [
    "LOSS_FORMS",
    "LossForm",
    "ffsr_loss",
    "gaussian_mask",
    "loss_form",
    "reid_loss",
    "resolution_weight_loss",
    "rife_loss",
    "total_loss",
]


REDUCTIONS = ("sum", "mean")


@dataclass(frozen=True)
class LossForm:
    """How Eq. 4 weighs its terms: ``sr_weight * L_FFSR + alpha (L_X + beta sum_t L_R_t)``
    with L_FFSR reduced by ``reduction``. ``alpha``/``beta`` of None take the run's own
    (the paper's alpha = 1, beta = 0.1)."""

    reduction: str
    sr_weight: float = 1.0
    alpha: float | None = None
    beta: float | None = None


LOSS_FORMS: dict[str, LossForm] = {
    "paper": LossForm("sum"),
    "paper_mean": LossForm("mean"),
    "code": LossForm("mean", sr_weight=0.1, alpha=1.0, beta=0.01),
}


def loss_form(name: str) -> LossForm:
    """The :class:`LossForm` called ``name`` (``paper``, ``paper_mean``, ``code``)."""
    if name not in LOSS_FORMS:
        raise ValueError(f"unknown loss form {name!r}; valid: {', '.join(LOSS_FORMS)}")
    return LOSS_FORMS[name]


def ffsr_loss(sr: Tensor, hr: Tensor, mask: Tensor | None = None, reduction: str = "sum") -> Tensor:
    """Eq. 5, the foreground-focus SR loss ``||M . (sr - hr)||_2^2``, averaged over the batch.

    ``sr`` and ``hr`` are (B, C, H, W); ``mask`` is (H, W), (B, H, W), (B or 1, 1, H, W) or
    None (all ones: the plain MSE of the "AE" baseline). ``reduction="sum"`` (Eq. 5 as
    written) sums ``(M * (sr - hr))**2`` over C, H, W of each image and averages over the
    batch; ``"mean"`` averages over all B*C*H*W elements (see the module docstring).
    """
    if sr.shape != hr.shape:
        raise ValueError(f"sr {tuple(sr.shape)} and hr {tuple(hr.shape)} differ in shape")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    m = as_batch_mask(mask, sr)
    squared = (m * (sr - hr)) ** 2
    if reduction == "mean":
        return squared.mean()
    return squared.flatten(1).sum(dim=1).mean()


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
    form: str = "paper",
) -> dict[str, Tensor]:
    """Eq. 4, ``L_FFSR + alpha * L_RIFE``, from a network's output dict (``sr``, ``logits``,
    ``weights``), weighted as loss form ``form`` says (:data:`LOSS_FORMS`; ``alpha`` and
    ``beta`` apply to the paper's forms). Returns the terms as a dict: ``total`` (to
    back-propagate), ``ffsr`` (Eq. 5, reduced as the form says), ``reid`` (Eq. 8) and
    ``resolution`` (sum over DSBs of Eq. 7, before beta)."""
    spec = loss_form(form)
    alpha = spec.alpha if spec.alpha is not None else alpha
    beta = spec.beta if spec.beta is not None else beta
    l_ffsr = ffsr_loss(out["sr"], hr, mask, spec.reduction)
    l_reid = reid_loss(out["logits"], pids)
    l_res = sum(
        (resolution_weight_loss(wl, wh, r) for wl, wh in out["weights"]),
        start=torch.zeros((), device=l_reid.device),
    )
    total = spec.sr_weight * l_ffsr + alpha * (l_reid + beta * l_res)
    return {"total": total, "ffsr": l_ffsr, "reid": l_reid, "resolution": l_res}
