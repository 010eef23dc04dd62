"""Running modules for evaluation without changing the mode they are left in.

:func:`evaluating` is the one way ``lib`` runs a module in eval mode (evaluation, SR
quality, the analysis curves, the widgets, the FLOP count): eval mode and no autograd for
the block, and every submodule's own ``training`` flag put back afterwards, so a network in
the middle of training (say the extractor stage of :mod:`lib.train`, whose SR module is
frozen in eval mode) comes back exactly as it was.

It uses :func:`torch.no_grad` rather than :func:`torch.inference_mode`: the outputs outlive
the block (cached gallery features, feature grids, images for plots) and inference tensors
cannot be updated in place or saved for backward outside inference mode, while no caller
needs the small extra speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Eval mode (and no autograd) for the block; each module's own training flag (and its
    submodules') restored after, also on an exception.

    Every flag of every submodule is saved before any mode changes and written back as it
    was (not ``module.train(flag)``, which would set one flag on the whole tree), so mixed
    modes survive. Shared submodules and repeated modules are fine; with no modules the
    block only runs without autograd.
    """
    saved = {sub: sub.training for module in modules for sub in module.modules()}
    for module in modules:
        module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for sub, training in saved.items():
            sub.training = training
