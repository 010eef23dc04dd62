"""Parameters and GMACs of SR modules and networks: the FLOPs column of Table 1.

Counted with ``torch.utils.flop_counter`` on one image of 3 x H x W (default 384 x 128, the
paper's input), in eval mode. flop_counter counts 2 FLOPs per multiply-add of convolutions
and matrix products (biases, activations, pooling and additions are not counted), so
GMACs = FLOPs / 2 / 1e9. This is the convention that gives VDSR its 32.79 (32.785) and the
authors' code SR net its 7.62.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from lib.models.modes import evaluating


def count_macs(module: nn.Module, input_size: tuple[int, int] = (384, 128)) -> int:
    """Multiply-accumulates of one forward pass of ``module`` on a 1 x 3 x H x W input, in
    eval mode without autograd (the module's modes restored after)."""
    x = torch.rand(1, 3, *input_size, generator=torch.Generator().manual_seed(0))
    counter = FlopCounterMode(display=False)
    with evaluating(module), counter:
        module(x)
    flops = counter.get_total_flops()
    if flops % 2:
        raise RuntimeError(f"odd FLOP count {flops}: not a sum of multiply-adds")
    return flops // 2


def complexity(
    names: Iterable[str],
    input_size: tuple[int, int] = (384, 128),
    *,
    num_classes: int = 1041,
    sr_options: dict[str, dict] | None = None,
    **options,
) -> pd.DataFrame:
    """Table of ``params`` and ``gmacs`` (Table 1's FLOPs column) indexed by name.

    ``names`` mixes SR names (``lib.models.SR_MODELS``) and network names
    (``lib.models.MODELS``); networks are built with ``num_classes`` identities (default
    1041, the VR-MSMT17 training identities of Tables 1-2) and ``options`` (e.g.
    ``backbone="resnet18"``); ``sr_options`` maps SR names to their constructor options
    (a profile's reduced widths), for SR modules alone and inside networks.
    """
    from lib.models import MODELS, SR_MODELS, build_model, build_sr

    rows = []
    for name in names:
        if name in SR_MODELS:
            module = build_sr(name, **(sr_options or {}).get(name, {}))
        elif name in MODELS:
            module = build_model(name, num_classes, sr_options=sr_options, **options)
        else:
            valid = ", ".join([*SR_MODELS, *MODELS])
            raise ValueError(f"unknown model {name!r}; valid names: {valid}")
        params = sum(p.numel() for p in module.parameters())
        rows.append({"name": name, "params": params, "gmacs": count_macs(module, input_size) / 1e9})
    return pd.DataFrame(rows, columns=["name", "params", "gmacs"]).set_index("name")
