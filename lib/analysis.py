"""Measurements behind the stage notebooks: SR quality and fusion weights against r.

Both degrade the HR test images to chosen resolutions exactly as Sec. 3 defines r (width
r * W, antialiased, then bilinear up-sampling to the input size), so a curve against r is
read off one set of images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from lib.data.loader import ReIDDataset
from lib.data.samples import Sample, replace_path
from lib.evaluation import psnr


def hr_batch(
    samples: Sequence[Sample], input_size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """HR source images of ``samples`` at the input size and their foreground masks."""
    dataset = ReIDDataset([replace_path(s) for s in samples], input_size, mask="auto")
    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([i["hr"] for i in items]), torch.stack([i["mask"] for i in items])


def degrade(images: torch.Tensor, r: float) -> torch.Tensor:
    """Images (N, 3, H, W) down-sampled to resolution r and up-sampled back (Sec. 3)."""
    if r >= 1:
        return images.clone()
    height, width = images.shape[-2:]
    w = max(1, round(r * width))
    small = F.interpolate(
        images, size=(max(1, round(height * w / width)), w), mode="bilinear", antialias=True
    )
    return F.interpolate(small, size=(height, width), mode="bilinear").clamp(0, 1)


@torch.no_grad()
def sr_psnr_by_resolution(
    sr_models: dict[str, nn.Module],
    images: torch.Tensor,
    masks: torch.Tensor,
    resolutions: Sequence[float],
    *,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Mean PSNR (dB) inside and outside the foreground (mask > 0.5) of each SR model's
    output against the HR images, per resolution. ``bilinear`` (the input) is always a row."""
    fg = (masks > 0.5).float().to(device)
    hr = images.to(device)
    rows = []
    for r in resolutions:
        lr = degrade(hr, r)
        outputs = {"bilinear": lr}
        for name, model in sr_models.items():
            model.eval()
            outputs[name] = model(lr)
        for name, out in outputs.items():
            rows.append(
                {
                    "r": r,
                    "model": name,
                    "psnr": float(psnr(out, hr).mean()),
                    "psnr_fg": float(psnr(out, hr, fg).mean()),
                    "psnr_bg": float(psnr(out, hr, 1 - fg).mean()),
                }
            )
    return pd.DataFrame(rows)


@torch.no_grad()
def fusion_weights_by_resolution(
    model: nn.Module,
    images: torch.Tensor,
    resolutions: Sequence[float],
    *,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """The fusion weights (w_L, w_H) of every DSB (Eq. 6) for the images at each resolution:
    one row per (r, block, image). Sec. 4.2 expects w_L > w_H at low r, and Eq. 7 pulls
    them towards 1 - r and r."""
    model.eval()
    rows = []
    for r in resolutions:
        out = model(degrade(images, r).to(device))
        for block, (w_low, w_high) in enumerate(out["weights"], start=1):
            for i, (wl, wh) in enumerate(zip(w_low.tolist(), w_high.tolist(), strict=True)):
                rows.append({"r": r, "block": block, "image": i, "w_low": wl, "w_high": wh})
    return pd.DataFrame(rows)


def objective_for_model(
    model: nn.Module,
    samples: Sequence[Sample],
    input_size: tuple[int, int],
    resolutions: Sequence[float],
    *,
    max_images: int = 2000,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """The grid O(r1, r2) of Eq. 2 (mean reduction, same-image pairs excluded; see
    :func:`lib.objective.objective_grid`) for ``model`` on the HR sources of ``samples``
    (at most ``max_images``, drawn with ``seed``), each degraded to every resolution."""
    from lib.metrics import features_at_resolution, objective_grid

    samples = list(samples)
    if len(samples) > max_images:
        keep = sorted(np.random.default_rng(seed).choice(len(samples), max_images, replace=False))
        samples = [samples[i] for i in keep]
    images, _ = hr_batch(samples, input_size)
    pids = torch.tensor([s.pid for s in samples])
    model = model.to(device)

    def features_at(r: float):
        return features_at_resolution(model, images, r, device=device), pids

    return objective_grid(features_at, resolutions, "mean")
