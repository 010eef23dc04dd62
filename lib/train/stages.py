"""The training stages of Sec. 5.2, one object each.

A stage says what a run builds (an SR module alone, or the network of Eq. 3), which of the
profile's optimisation settings it takes, which run settings it fixes, which parts it freezes,
the loss of each step and whether the finished run is evaluated on ReID. A run names its stage
(``lib.train.runs.RunConfig.stage``); ``lib.train`` looks the object up once and never branches on
the name, so a new stage is one entry of :data:`STAGES`.

=============  ===========  ==========  ==============================================  =========
stage          builds       freezes     loss of a step                                  evaluated
=============  ===========  ==========  ==============================================  =========
sr_pretrain    SR module    nothing     squared error, per-pixel mean (no mask)         PSNR
sr_finetune    SR module    nothing     Eq. 5 (L_FFSR) under the run's mask; the plain  PSNR
                                        squared error where ``sr_loss`` is "mse" (AE)
extractor      network      SR module   Eq. 9 (L_RIFE; cross-entropy alone where the    ReID
                                        extractor has no fusion weights)
joint          network      nothing     Eq. 4 (alpha, beta of the run)                  ReID, PSNR
compose        network      (0 epochs)  none: the SR module of one run in front of the  ReID, PSNR
                                        extractor of another, evaluated as they are
=============  ===========  ==========  ==============================================  =========

How a stage is initialised is the run's ``init`` (``lib.train.runs.init_model``): an SR run fills the
SR module, a network run the network; which kind a run is, is its stage's :attr:`Stage.builds`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from lib import losses
from lib.train.precision import autocast

if TYPE_CHECKING:
    from lib.train.runs import RunConfig

Terms = dict[str, Tensor]
LossFn = Callable[[nn.Module, dict, "RunConfig", torch.device, bool], Terms]


def _to(batch: dict, key: str, device: torch.device) -> Tensor:
    return batch[key].to(device, non_blocking=True)


def sr_terms(model: nn.Module, batch: dict, config: RunConfig, device, amp: bool) -> Terms:
    """An SR module's step: Eq. 5 under ``batch["mask"]`` where ``config.sr_loss`` is "ffsr",
    else the plain squared error; reduced as ``config.loss_form`` says."""
    img, hr = _to(batch, "img", device), _to(batch, "hr", device)
    mask = _to(batch, "mask", device) if config.sr_loss == "ffsr" else None
    reduction = losses.loss_form(config.loss_form).reduction
    with autocast(device, amp):
        return {"total": losses.ffsr_loss(model(img).float(), hr, mask, reduction)}


def _fusion_weights(out: dict) -> list[tuple[Tensor, Tensor]]:
    return [(wl.float(), wh.float()) for wl, wh in out["weights"]]


def extractor_terms(model: nn.Module, batch: dict, config: RunConfig, device, amp: bool) -> Terms:
    """A feature extractor's step behind a frozen SR module: L_RIFE (Eq. 9)."""
    img, pids, r = (_to(batch, k, device) for k in ("img", "pid", "r"))
    with autocast(device, amp):
        out = model(img)
        weights = _fusion_weights(out)
        return {"total": losses.rife_loss(out["logits"].float(), pids, weights, r, config.beta)}


def joint_terms(model: nn.Module, batch: dict, config: RunConfig, device, amp: bool) -> Terms:
    """The whole network's step: Eq. 4, the SR term as ``config.sr_loss`` says (Eq. 5 under
    the mask for FFSR, the plain squared error for the SR baselines and SING)."""
    img, hr, pids, r = (_to(batch, k, device) for k in ("img", "hr", "pid", "r"))
    mask = _to(batch, "mask", device) if config.sr_loss == "ffsr" else None
    with autocast(device, amp):
        out = model(img)
        out = {
            **out,
            "sr": out["sr"].float(),
            "logits": out["logits"].float(),
            "weights": _fusion_weights(out),
        }
        return losses.total_loss(
            out, hr, mask, pids, r, alpha=config.alpha, beta=config.beta, form=config.loss_form
        )


@dataclass(frozen=True)
class Stage:
    """One training stage: see the module's table."""

    name: str
    builds: str  # "sr": an SR module alone; "network": SR module + feature extractor (Eq. 3)
    loss: LossFn | None  # the terms of one step ("total" is minimised); None: never trained
    optim: str | None  # which of the profile's optimisation settings; None: NO_TRAINING
    frozen: tuple[str, ...] = ()  # the network's parts kept fixed, and in eval mode
    fixed: Mapping[str, object] = field(default_factory=dict)  # run settings it decides
    evaluates_reid: bool = True
    reads_targets: bool = True  # its step reads the HR source and the mask, not only img

    def trainable(self, model: nn.Module) -> list[nn.Parameter]:
        """The parameters this stage updates; the frozen parts stop asking for gradients."""
        for part in self.frozen:
            getattr(model, part).requires_grad_(False)
        return [p for p in model.parameters() if p.requires_grad]

    def train_mode(self, model: nn.Module) -> None:
        """Training mode for what this stage trains; its frozen parts stay in eval mode."""
        model.train()
        for part in self.frozen:
            getattr(model, part).eval()


STAGES: Mapping[str, Stage] = MappingProxyType(
    {
        s.name: s
        for s in (
            Stage(
                "sr_pretrain",
                builds="sr",
                loss=sr_terms,
                optim="sr_pretrain",
                # a per-pixel mean squared error, whatever the profile's Eq. 5 form
                fixed={"sr_loss": "mse", "loss_form": "paper_mean"},
                evaluates_reid=False,
            ),
            Stage(
                "sr_finetune",
                builds="sr",
                loss=sr_terms,
                optim="sr_finetune",
                evaluates_reid=False,
            ),
            Stage(
                "extractor",
                builds="network",
                loss=extractor_terms,
                optim="extractor",
                frozen=("sr",),
                # Eq. 9 alone has no SR term, so every loss form shares one extractor run
                fixed={"loss_form": "paper"},
                reads_targets=False,  # Eq. 9 reads img, pid and r: no HR source decoded
            ),
            Stage("joint", builds="network", loss=joint_terms, optim="joint"),
            Stage("compose", builds="network", loss=None, optim=None),
        )
    }
)


def get(name: str) -> Stage:
    """The stage ``name`` of :data:`STAGES`."""
    if name not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {name!r}")
    return STAGES[name]
