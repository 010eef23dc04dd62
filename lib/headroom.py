"""Headroom of the embedded data: how much identity information each resolution leaves.

A method that restores or exploits resolution (FFSR, RIFE) can only show itself where
resolution matters: where a baseline matched in resolution does clearly better at high r than
at low r, and where matching a low-resolution query against a high-resolution gallery
(the cross-resolution case of Sec. 1 and Fig. 2b) costs accuracy. This module measures that
gap for the ResNet baseline (Sec. 5.3's "ResNet50" row, the profile's trunk):

- *resolution-matched*: trained on images at a fixed r (``synthetic_at_R`` variants, every
  image down-sampled to R times its width; R = 1 is ``synthetic`` itself), tested with query
  and gallery at the same r;
- *cross-resolution*: the same network, query at r, gallery at full resolution;
- the same two tests for the baseline trained on VR-Synthetic (resolutions mixed), the
  network every table compares against.

The data design is fixed from this measurement alone (before any method is compared): the
baseline should sit away from floor and ceiling, with a gap for methods to close.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from lib.data.prepare import prepare
from lib.data.variants import FIXED_RESOLUTIONS
from lib.eval import evaluate_model
from lib.profiles import Profile
from lib.train.fit import load_model
from lib.train.pipeline import Data, train_extractor

RESOLUTIONS = (0.25, 0.5, 1.0)  # each halving of r; FIXED_RESOLUTIONS has finer steps


def fixed_kind(r: float) -> str:
    """The variant kind whose every image is at resolution ``r`` (1: the originals)."""
    return "synthetic" if r == 1 else f"synthetic_at_{r:g}"


def _evaluate(model, split, hr_gallery, profile: Profile, kind: str, device, seed: int) -> dict:
    size = profile.input_size_for(kind)
    kw = {"device": device, "draws": profile.eval_draws, "seed": seed}
    matched = evaluate_model(model, split, size, **kw)
    cross = evaluate_model(model, replace(split, gallery=hr_gallery), size, **kw)
    return {
        "matched_rank1": matched["rank1"],
        "matched_mAP": matched["mAP"],
        "cross_rank1": cross["rank1"],
        "cross_mAP": cross["mAP"],
    }


def headroom_records(
    profile: Profile,
    seed: int = 0,
    *,
    resolutions: tuple[float, ...] = RESOLUTIONS,
    device=None,
    progress: bool = True,
) -> pd.DataFrame:
    """Rank-1 and mAP of the ResNet baseline at each fixed resolution, one row per (trained
    on, r): ``trained_on`` is ``"r"`` (trained at that r) or ``"vr_synthetic"`` (the mixed
    training set every table uses), with the resolution-matched and the cross-resolution
    (query at r, gallery at r = 1) test. Runs are trained once and reused (:mod:`lib.train.runs`)."""
    synthetic = profile.synthetic
    hr = prepare("synthetic", synthetic=synthetic, seed=seed)
    vr_run = train_extractor(profile, "resnet", Data("vr_synthetic", seed=seed), device=device,
                             progress=progress)  # fmt: skip
    vr_model = load_model(vr_run)
    rows = []
    unknown = sorted(set(resolutions) - {*FIXED_RESOLUTIONS, 1.0})
    if unknown:
        raise ValueError(
            f"no fixed-resolution variant for r = {unknown}; valid: {FIXED_RESOLUTIONS}, 1"
        )
    for r in resolutions:
        kind = fixed_kind(r)
        split = prepare(kind, synthetic=synthetic, seed=seed)
        run = train_extractor(profile, "resnet", Data(kind, seed=seed), device=device,
                              progress=progress)  # fmt: skip
        for trained_on, model in (("r", load_model(run)), ("vr_synthetic", vr_model)):
            rows.append(
                {
                    "seed": seed,
                    "r": r,
                    "trained_on": trained_on,
                    **_evaluate(model, split, hr.gallery, profile, kind, device, seed),
                }
            )
    return pd.DataFrame(rows)
