"""The float precision of a training step: float32, or bfloat16 autocast where it pays.

A run's ``precision`` (:data:`lib.profiles.PRECISIONS`, part of its key unless "float32"):

- ``"float32"``: no autocast on the CPU (a CUDA run autocasts to bf16 where the GPU has it,
  as it always has: :func:`lib.train.distributed.autocast_dtype`).
- ``"bfloat16"``: the whole forward of a step under bf16 autocast, on the CPU too. It pays for
  dense convolutions (ResNet trunks, the SR modules): 1.4x per step on a CPU with AVX-512
  BF16 (``benchmarks/bench_train.py``).
- ``"bfloat16_sr"``: the SR module's forward alone in bf16, its output cast back to float32
  before the extractor; for depthwise trunks (MobileNetV2), which run slower in bf16.

What stays float32 whatever the setting: the losses (the stages cast every output they
score, :mod:`lib.train.stages`), BatchNorm's running statistics and every parameter (autocast
casts copies for the matrix products), the optimiser's state, and the evaluation
(:func:`lib.train.fit._final_metrics` evaluates on the CPU in float32).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
from torch import nn

from lib.train.distributed import autocast_dtype


def whole_step_autocast(precision: str, device: torch.device | str) -> bool:
    """Whether a step's whole forward runs under bf16 autocast on ``device``: a "bfloat16"
    run, or any run on a CUDA device with bf16 (as before the setting existed)."""
    device = torch.device(device)
    return precision == "bfloat16" or autocast_dtype(device) is not None


def autocast(device: torch.device | str, enabled: bool):
    """bf16 autocast for ``device``'s type (CPU or CUDA), or nothing where not ``enabled``."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=enabled)


@contextmanager
def sr_autocast(sr: nn.Module, device: torch.device | str, enabled: bool) -> Iterator[None]:
    """Meanwhile, ``sr``'s forward runs under bf16 autocast and returns float32 (hooks on the
    module, removed on exit; the state dict is untouched). Nothing where not ``enabled``."""
    if not enabled:
        yield
        return
    stack: list = []

    def enter(_module, _args):
        context = autocast(device, True)
        context.__enter__()
        stack.append(context)

    def leave(_module, _args, output):
        stack.pop().__exit__(None, None, None)
        return output.float()

    handles = [sr.register_forward_pre_hook(enter), sr.register_forward_hook(leave)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def step_precision(config, model: nn.Module, device: torch.device | str):
    """(``amp`` for the stage's loss, the context to train the epochs in) of a run ``config``
    of ``model`` on ``device``: "bfloat16_sr" autocasts the SR module alone (the whole model
    where the run builds an SR module)."""
    amp = whole_step_autocast(config.precision, device)
    sr_only = config.precision == "bfloat16_sr"
    if sr_only and config.spec.builds == "sr":  # the model is the SR module: autocast it whole
        return True, nullcontext()
    return amp, sr_autocast(getattr(model, "sr", model), device, sr_only and not amp)
