"""How much each term of Eq. 4 pulls on the SR module: gradient norms per loss form.

Eq. 4 trains FFSR with ``L_FFSR + alpha * L_RIFE``. Whether the foreground-focus loss
matters in joint training depends on the size of its gradient on the SR parameters next to
the cross-entropy's, and that depends on how Eq. 5 is normalised (a sum over pixels as
written, or a per-element mean: a factor C*H*W apart). :func:`sr_gradient_norms` measures
both gradients at one batch, for each loss form of :data:`lib.losses.LOSS_FORMS`, each term
weighted as it enters the total loss.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import torch
from torch import nn

from lib import losses


def _grad_norm(loss: torch.Tensor, params: list[nn.Parameter]) -> float:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    squares = [g.double().pow(2).sum() for g in grads if g is not None]
    return float(torch.stack(squares).sum().sqrt()) if squares else 0.0


def sr_gradient_norms(
    model: nn.Module,
    batch: dict,
    *,
    mask: torch.Tensor | None,
    forms: Iterable[str] = tuple(losses.LOSS_FORMS),
    alpha: float = 1.0,
) -> pd.DataFrame:
    """One row per loss form: the norms of the gradients of its weighted SR term
    (``sr_weight * L_FFSR``, Eq. 5) and of its weighted cross-entropy (``alpha * L_X``,
    Eq. 8) with respect to the SR module's parameters (``model.sr``), and their ratio, at
    ``batch`` (``img``, ``hr``, ``pid``; ``mask`` as :func:`lib.losses.ffsr_loss` takes it).
    The model is run in training mode, as at a training step; no parameter is changed."""
    params = [p for p in model.sr.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model's SR module has no trainable parameters")
    was_training = model.training
    model.train()
    try:
        out = model(batch["img"])
        reid = losses.reid_loss(out["logits"], batch["pid"])
        rows = []
        for name in forms:
            form = losses.loss_form(name)
            a = form.alpha if form.alpha is not None else alpha
            sr_term = form.sr_weight * losses.ffsr_loss(
                out["sr"], batch["hr"], mask, form.reduction
            )
            g_sr, g_x = _grad_norm(sr_term, params), _grad_norm(a * reid, params)
            rows.append(
                {
                    "loss_form": name,
                    "grad_sr_loss": g_sr,
                    "grad_reid_loss": g_x,
                    "ratio": g_sr / g_x if g_x > 0 else float("inf"),
                    "sr_loss": float(sr_term.detach()),
                    "reid_loss": float(a * reid.detach()),
                }
            )
    finally:
        model.train(was_training)
    return pd.DataFrame(rows)
