"""Measurements behind the stage notebooks: SR quality and fusion weights against r.

They degrade the HR test images to chosen resolutions exactly as Sec. 3 defines r (width
``r * width_max`` of the dataset, antialiased, never enlarged, then bilinear up-sampling to
the input size; :mod:`lib.data.resolution`), so a curve against r is read off one set of
images and its r is the r of the variants' manifests (the r that trains Eq. 7). The images
are stored at the input size, so the r of Sec. 3 needs where they came from: pass
``samples`` (the samples given to :func:`hr_batch`); without them each image is taken as a
full-width image (r = 1 at the input width), which is Sec. 3's r only where the dataset's
images are as wide as the input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from lib.data.batch import collate, to_model_batch
from lib.data.loader import ReIDDataset
from lib.data.resolution import Size, degrade_batch, source_geometry
from lib.data.samples import Sample, replace_path
from lib.eval import psnr
from lib.models.modes import evaluating


def hr_batch(
    samples: Sequence[Sample], input_size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """HR source images of ``samples`` at the input size and their foreground masks."""
    dataset = ReIDDataset([replace_path(s) for s in samples], input_size, mask="auto", raw=True)
    n = len(dataset)
    chunks = [
        to_model_batch(collate([dataset[i] for i in range(start, min(start + 256, n))]), input_size)
        for start in range(0, len(dataset), 256)
    ]  # (lib.data.batch: the per-item path's values, resized a chunk at a time)
    if not chunks:
        return torch.empty(0, 3, *input_size), torch.empty(0, 1, *input_size)
    return torch.cat([c["hr"] for c in chunks]), torch.cat([c["mask"] for c in chunks])


def degrade(
    images: torch.Tensor,
    r: float,
    width_max: float | None = None,
    source_sizes: Sequence[Size] | None = None,
) -> torch.Tensor:
    """Images (N, 3, H, W) in [0, 1] down-sampled to resolution r and up-sampled back
    (Sec. 3; :func:`lib.data.resolution.degrade_batch`: row i renders an HR image of
    ``source_sizes[i]`` pixels, ``width_max`` the dataset's widest; by default each row is
    its own source and W is width_max)."""
    return degrade_batch(images, r, width_max, source_sizes=source_sizes).clamp(0, 1)


def _geometry(samples: Sequence[Sample] | None, count: int) -> tuple[list[Size] | None, int | None]:
    """(source sizes, width_max) of the rows rendered from ``samples``; (None, None) without."""
    if samples is None:
        return None, None
    if len(samples) != count:
        raise ValueError(f"one sample per image is needed: {len(samples)} for {count} images")
    return source_geometry(samples)


def sr_psnr_by_resolution(
    sr_models: dict[str, nn.Module],
    images: torch.Tensor,
    masks: torch.Tensor,
    resolutions: Sequence[float],
    *,
    device: torch.device | str = "cpu",
    samples: Sequence[Sample] | None = None,
) -> pd.DataFrame:
    """Mean PSNR (dB) inside and outside the foreground (mask > 0.5) of each SR model's
    output against the HR images, per resolution. ``bilinear`` (the input) is always a row.
    ``samples``: those the images were read from (:func:`hr_batch`), for Sec. 3's r. The SR
    models run in eval mode without autograd (their modes restored after)."""
    sizes, width_max = _geometry(samples, len(images))
    fg = (masks > 0.5).float().to(device)
    hr = images.to(device)
    rows = []
    with evaluating(*sr_models.values()):
        for r in resolutions:
            lr = degrade(hr, r, width_max, sizes)
            outputs = {"bilinear": lr, **{name: m(lr) for name, m in sr_models.items()}}
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


def fusion_weights_by_resolution(
    model: nn.Module,
    images: torch.Tensor,
    resolutions: Sequence[float],
    *,
    device: torch.device | str = "cpu",
    samples: Sequence[Sample] | None = None,
) -> pd.DataFrame:
    """The fusion weights (w_L, w_H) of every DSB (Eq. 6) for the images at each resolution:
    one row per (r, block, image). Sec. 4.2 expects w_L > w_H at low r, and Eq. 7 pulls
    them towards 1 - r and r. ``samples``: those the images were read from
    (:func:`hr_batch`), so that r is Sec. 3's, the r Eq. 7 trains with. The model runs in
    eval mode without autograd (its modes restored after)."""
    sizes, width_max = _geometry(samples, len(images))
    rows = []
    with evaluating(model):
        for r in resolutions:
            out = model(degrade(images, r, width_max, sizes).to(device))
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
    """The grid O(r1, r2) of Eq. 2 (mean reduction, same-image pairs excluded, pid <= 0
    left out; see :func:`lib.eval.objective.objective_grid`) for ``model`` on the HR sources of
    ``samples`` (at most ``max_images``, drawn with ``seed``), each degraded to every
    resolution r of Sec. 3: width ``r * width_max`` of the dataset (from the samples' own
    r, :func:`lib.data.resolution.source_geometry`), the r of the variants' manifests."""
    from lib.eval.metrics import features_at_resolution, objective_grid

    samples = list(samples)
    if len(samples) > max_images:
        keep = sorted(np.random.default_rng(seed).choice(len(samples), max_images, replace=False))
        samples = [samples[i] for i in keep]
    images, _ = hr_batch(samples, input_size)
    sizes, width_max = source_geometry(samples)
    pids = torch.tensor([s.pid for s in samples])
    model = model.to(device)

    def features_at(r: float):
        features = features_at_resolution(
            model, images, r, device=device, width_max=width_max, source_sizes=sizes
        )
        return features, pids

    return objective_grid(features_at, resolutions, "mean")
