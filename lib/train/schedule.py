"""How long a stage trains and at which lr: fixed epochs, or the stopping rule.

Sec. 5.2 trains each stage 60 epochs and divides the lr by 10 at epoch 30, half way. A stage
whose :class:`lib.profiles.Optim` sets ``plateau_fall`` > 0 trains by a rule instead, written
down before the runs it governs (README, "The stopping rule"):

1. at the stage's lr until its training loss has fallen, over the last ``plateau_window``
   epochs, by less than ``plateau_fall`` per epoch on average (relative to the loss
   ``plateau_window`` epochs earlier), or until half of ``epochs`` (the paper's 60: at most 30);
   call that epoch count E;
2. then E more epochs at a tenth of the lr: the lr step stays half way, as the paper's.

So a run trains 2E epochs, E decided by its own losses. The rule reads nothing but the epoch
log (``history``), so a resumed run follows the same schedule as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from lib.profiles import Optim

LOSS = "loss_total"  # the epoch log's training loss (lib.train.engine.train_one_epoch)


def plateau_epoch(losses: Sequence[float], fall: float, window: int, cap: int) -> int | None:
    """E: the first epoch count after which the rule's first phase ends (the mean relative
    fall per epoch over the last ``window`` epochs below ``fall``, or ``cap`` epochs
    reached); None while it goes on."""
    for e in range(1, len(losses) + 1):
        if e >= cap:
            return cap
        if e > window:
            before, now = losses[e - 1 - window], losses[e - 1]
            if (before - now) / abs(before) / window < fall:
                return e
    return None


def _plateau(optim: Optim, history: Sequence[Mapping]) -> int | None:
    losses = [float(row[LOSS]) for row in history]
    return plateau_epoch(losses, optim.plateau_fall, optim.plateau_window, optim.epochs // 2)


def total_epochs(optim: Optim, history: Sequence[Mapping]) -> int:
    """The epochs the run trains, as far as ``history`` decides them: ``optim.epochs`` for a
    fixed schedule; 2E under the rule once E is known, else ``optim.epochs`` (the cap)."""
    if optim.plateau_fall <= 0:
        return optim.epochs
    e = _plateau(optim, history)
    return optim.epochs if e is None else 2 * e


def lr_at(optim: Optim, history: Sequence[Mapping], epoch: int) -> float:
    """The lr of 0-based ``epoch`` given the epochs logged before it: the fixed schedule's
    (:meth:`lib.profiles.Optim.lr_at`), or under the rule the stage's lr until E, a tenth of
    it after."""
    if optim.plateau_fall <= 0:
        return optim.lr_at(epoch)
    e = _plateau(optim, history[:epoch])
    return optim.lr if e is None or epoch < e else optim.lr * 0.1


def fixed_schedule(optim: Optim, history: Sequence[Mapping]) -> Optim:
    """The fixed schedule that a finished run under the rule trained: 2E epochs, the lr step at
    E (what a profile fixes for every seed once seed 0 has measured E)."""
    e = _plateau(optim, history)
    if optim.plateau_fall <= 0 or e is None or len(history) != 2 * e:
        raise ValueError("fixed_schedule needs the history of a finished run under the rule")
    return replace(optim, epochs=2 * e, lr_steps=(e,), plateau_fall=0.0)
