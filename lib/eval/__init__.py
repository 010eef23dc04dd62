"""Evaluate a trained network on a split: features, ReID metrics, SR quality.

ReID (Sec. 5): the 256-d feature ``f`` of every query and gallery image (the network in
eval mode, images up-sampled bilinearly to the input size), Euclidean distance, CMC and mAP
under the split's protocol (:func:`lib.eval.metrics.evaluate_features`). SR quality: PSNR of the
SR output against the HR source, over the whole image and inside / outside the foreground
mask, next to the bilinear input's.

Submodules: ``metrics`` (CMC, mAP, by resolution), ``ranking`` (gallery ranks in blocks),
``objective`` (O(r1, r2) of Eq. 2), ``analysis`` (SR quality and fusion weights by resolution),
``loss_balance`` (gradient norms of Eq. 4's terms), ``stats`` (paired differences, 95% CIs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from lib.data.batch import DeviceBatches, collate
from lib.data.loader import ReIDDataset
from lib.data.samples import Sample, Split
from lib.eval.metrics import evaluate_features
from lib.models.modes import evaluating


def _loader(samples: Sequence[Sample], input_size, batch_size: int, workers: int, device, **kw):
    """Batches of ``samples`` in order, at the input size on ``device`` (lib.data.batch)."""
    dataset = ReIDDataset(samples, input_size, train=False, raw=True, **kw)
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers, collate_fn=collate
    )
    return DeviceBatches(loader, device)


def extract_features(
    model: nn.Module,
    samples: Sequence[Sample],
    input_size: tuple[int, int],
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 128,
    workers: int = 0,
    amp: bool = False,
    score_sr: bool = False,
) -> dict[str, np.ndarray | torch.Tensor]:
    """Features ``f`` (float32, CPU), pids, camids and resolutions of ``samples``, the model
    in eval mode without autograd (its modes restored after). ``amp``: the forward under
    bf16 autocast (CUDA only, as training's step; the features are returned as float32).
    ``score_sr``: the SR output of a network with an SR module (:class:`lib.models.ReIDNet`'s
    ``"sr"``, float32: ``amp`` off) in this same pass is scored against the HR sources as
    :func:`sr_quality` does, returned as per-image ``psnr_*`` tensors, so that the SR module
    is not run a second time over the test images."""
    if score_sr and amp:
        raise ValueError("extract_features: score_sr scores the float32 SR output; use amp=False")
    feats, pids, camids, rs = [], [], [], []
    scores: dict[str, list[torch.Tensor]] = {}
    device = torch.device(device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")
    with evaluating(model):
        for batch in _loader(samples, input_size, batch_size, workers, device, targets=score_sr):
            with autocast:
                out = model(batch["img"])
            feats.append((out["f"] if isinstance(out, dict) else out).float().cpu())
            pids.append(batch["pid"].cpu())
            camids.append(batch["camid"].cpu())
            rs.append(batch["r"].cpu())
            if score_sr:
                for name, value in _psnr_terms(out["sr"], batch).items():
                    scores.setdefault(name, []).append(value.cpu())
    return {
        "f": torch.cat(feats) if feats else torch.empty(0, 0),
        "pids": torch.cat(pids).numpy(),
        "camids": torch.cat(camids).numpy(),
        "r": torch.cat(rs).numpy(),
        **{name: torch.cat(values) for name, values in scores.items()},
    }


def reid_metrics(result: dict) -> dict[str, float]:
    """Rank-1/5/10 and mAP (fractions) with their standard deviations over gallery draws."""
    cmc, std = result["cmc"], result.get("cmc_std")
    out = {"num_valid": int(result["num_valid"]), "mAP": float(result["mAP"])}
    out["mAP_std"] = float(result.get("mAP_std", 0.0))
    for k in (1, 5, 10):
        out[f"rank{k}"] = float(cmc[k - 1])
        out[f"rank{k}_std"] = float(std[k - 1]) if std is not None else 0.0
    return out


def evaluate_model(
    model: nn.Module,
    split: Split,
    input_size: tuple[int, int],
    *,
    device: torch.device | str = "cpu",
    draws: int = 10,
    seed: int = 0,
    batch_size: int = 128,
    workers: int = 0,
    amp: bool = False,
    score_sr: bool = False,
) -> dict[str, float]:
    """ReID metrics of ``model`` on ``split`` (its protocol; ``draws`` single-shot draws);
    ``workers`` decode the images, ``amp`` and ``score_sr`` as :func:`extract_features`: with
    ``score_sr`` the SR module's PSNR figures over query + gallery (:func:`sr_quality`'s)
    come from the same forward pass and join the metrics."""
    kw = {"device": device, "batch_size": batch_size, "workers": workers, "amp": amp}
    kw["score_sr"] = score_sr
    q = extract_features(model, split.query, input_size, **kw)
    g = extract_features(model, split.gallery, input_size, **kw)
    result = evaluate_features(
        q["f"],
        g["f"],
        q["pids"],
        g["pids"],
        q["camids"],
        g["camids"],
        protocol=split.protocol,
        trials=draws,
        seed=seed,
    )
    metrics = reid_metrics(result)
    for name in (k for k in q if k.startswith("psnr_")):
        metrics[name] = float(torch.cat([q[name], g[name]]).mean())
    return metrics


def psnr(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image PSNR (dB, peak 1) of images in [0, 1], optionally weighted per pixel."""
    err = (a.clamp(0, 1) - b) ** 2
    if weight is None:
        mse = err.mean(dim=(1, 2, 3))
    else:
        w = weight.expand_as(err)
        mse = (err * w).sum(dim=(1, 2, 3)) / w.sum(dim=(1, 2, 3)).clamp_min(1e-12)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-12))


def sr_quality(
    sr_model: nn.Module,
    samples: Sequence[Sample],
    input_size: tuple[int, int],
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
) -> dict[str, float]:
    """Mean PSNR of the SR output and of the bilinear input against the HR source: over the
    whole image, inside the foreground (mask > 0.5) and outside it. Uses the dataset's exact
    masks, or the Gaussian mask where there are none. The SR model runs in eval mode without
    autograd (its modes restored after)."""
    totals: dict[str, list[torch.Tensor]] = {}
    with evaluating(sr_model):
        for batch in _loader(samples, input_size, batch_size, 0, device):
            for name, value in _psnr_terms(sr_model(batch["img"]), batch).items():
                totals.setdefault(name, []).append(value)
    return {k: float(torch.cat(v).mean()) for k, v in totals.items()}


def _psnr_terms(out: torch.Tensor, batch: dict) -> dict[str, torch.Tensor]:
    """Per-image PSNR of the SR output ``out`` and of the bilinear input against the batch's
    HR source: whole image, foreground (mask > 0.5) and background."""
    img, hr = batch["img"], batch["hr"]
    fg = (batch["mask"] > 0.5).float()
    terms = {}
    for name, x in (("sr", out), ("bilinear", img)):
        terms[f"psnr_{name}"] = psnr(x, hr)
        terms[f"psnr_{name}_fg"] = psnr(x, hr, fg)
        terms[f"psnr_{name}_bg"] = psnr(x, hr, 1 - fg)
    return terms
