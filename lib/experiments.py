"""The rows of Tables 1-3: which runs make each row, as the notebooks call them.

Each function trains (or reuses) the runs of its table's rows on one split and returns one
record per row with Rank-1/5/10 and mAP (fractions), ready for :func:`lib.report.tables.summarise`.
Row labels are the paper's, so they line up with its numbers in :mod:`lib.report.tables`; the
backbone and input size of the profile are stated in each table's caption.

Table 1 (Sec. 5.3, "Validity of FFSR"): an SR module in front of one fixed ResNet extractor
(trained on the target set behind bilinear up-sampling); "JL" rows train both with Eq. 4.
The embedded dataset's exact masks stand in for the paper's DeeperCut masks.
Table 2 ("Validity of RIFE"): feature extractors behind bilinear up-sampling.
Table 3 (Sec. 5.4): baselines and the method's variants; SING is reproduced SING-style
(SRCNN trained jointly with the ResNet's ReID loss).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import pandas as pd

from lib.data.person_masks import missing_masks_note, person_mask_mode
from lib.models import complexity
from lib.profiles import Profile
from lib.train.fit import Run
from lib.train.pipeline import Data, compose, train_extractor, train_joint, train_model, train_sr
from lib.train.pool import run_parallel

METRICS = ("rank1", "rank5", "rank10", "mAP")


def record(label: str, run: Run, **extra) -> dict:
    """One table record from a run's final metrics."""
    # the float precision the run trained in: a row of a table is one series of settings
    return {
        "method": label,
        **{m: run.metrics[m] for m in METRICS},
        "precision": run.config.precision,
        **extra,
    }


def sr_gmacs(profile: Profile, sr: str) -> float:
    """GMACs of SR module ``sr`` as the profile builds it, at 3x384x128 (Table 1's input)."""
    return float(complexity([sr], (384, 128), sr_options=profile.sr_options)["gmacs"].iloc[0])


TABLE1 = (
    "Bilinear",
    "SRCNN",
    "VDSR",
    "AE",
    "FFSR (Gaussian)",
    "FFSR (Gaussian, JL)",
    "FFSR (DeeperCut, JL)",
)


def table1_records(
    profile: Profile,
    data: Data,
    *,
    methods: Sequence[str] | None = None,
    device=None,
    progress: bool = True,
) -> list[dict]:
    """Table 1: Bilinear, SRCNN, VDSR, AE, FFSR (Gaussian), FFSR (Gaussian, JL), FFSR
    (DeeperCut, JL), each with a ResNet extractor, and each SR module's GMACs (``methods``: a
    subset of :data:`TABLE1`, all by default).

    "DeeperCut" trains Eq. 5 with person masks (Sec. 4.1): the embedded dataset's exact ones,
    or a real dataset's own; where the training split has none (see
    :func:`lib.data.person_masks.missing_masks_note`) the row is recorded as not run (NaN
    metrics and a ``note``), never as a second Gaussian run."""
    wanted = _check_methods(methods, TABLE1, 1)
    kw = {"device": device, "progress": progress}
    resnet = train_extractor(profile, "resnet", data, **kw)
    rows = [record("Bilinear", resnet, gmacs=float("nan"))] if "Bilinear" in wanted else []
    for label, sr in (
        ("SRCNN", "srcnn"),
        ("VDSR", "vdsr"),
        ("AE", "ae"),
        ("FFSR (Gaussian)", "ffsr"),
    ):
        if label not in wanted:
            continue
        sr_run = train_sr(profile, sr, data, **kw)[-1]
        run = compose(profile, f"{sr}_resnet", data, sr_run=sr_run, extractor_run=resnet, **kw)
        rows.append(record(label, run, gmacs=sr_gmacs(profile, sr)))
    # person masks (Sec. 4.1) or nothing: without them the row would be the Gaussian again
    person = person_mask_mode(data.dataset, data.data_root, data.trial, data.seed)
    for label, mask in (("FFSR (Gaussian, JL)", "gaussian"), ("FFSR (DeeperCut, JL)", person)):
        if label not in wanted:
            continue
        if mask is None:
            rows.append(
                {
                    "method": label,
                    **dict.fromkeys(METRICS, float("nan")),
                    "gmacs": float("nan"),
                    "note": missing_masks_note(data.dataset, data.data_root, data.trial, data.seed),
                }
            )
            continue
        sr_run = train_sr(profile, "ffsr", data, mask=mask, **kw)[-1]
        run = train_joint(
            profile, "ffsr_resnet", data, sr_run=sr_run, extractor_run=resnet, mask=mask, **kw
        )
        rows.append(record(label, run, gmacs=sr_gmacs(profile, "ffsr")))
    return rows


TABLE2 = {
    "ResNet50": "resnet",
    "two ResNet50": "two_resnet",
    "two ResNet50 (learned weights)": "two_resnet_learned",
    "RIFE": "rife",
}


def table2_records(
    profile: Profile,
    data: Data,
    *,
    methods: Sequence[str] | None = None,
    device=None,
    progress: bool = True,
) -> list[dict]:
    """Table 2: ResNet, two ResNets with equal weights, two with learned weights (Eq. 6 at
    the output), RIFE; all behind bilinear up-sampling (``methods``: a subset of
    :data:`TABLE2`'s labels, all by default)."""
    wanted = _check_methods(methods, TABLE2, 2)
    return [
        record(label, train_extractor(profile, name, data, device=device, progress=progress))
        for label, name in TABLE2.items()
        if label in wanted
    ]


TABLE3 = {
    "DenseNet121": "densenet121",
    "SE-ResNet50": "se_resnet",
    "ResNet50": "resnet",
    "SING": "sing",
    "FFSR": "ffsr_resnet",
    "RIFE": "rife",
    "FFSR+RIFE": "ffsr_rife",
}


def final_run(profile: Profile, model: str, data: Data, **kw) -> Run:
    """The last run of ``model``'s pipeline (joint where it has a learned SR module; the
    composed network before joint training is not evaluated: nothing reads it here)."""
    runs = train_model(profile, model, data, compose_steps=False, **kw)
    return runs.get("joint", runs["extractor"])


def table3_records(
    profile: Profile,
    data: Data,
    *,
    methods: Sequence[str] | None = None,
    device=None,
    progress: bool = True,
) -> list[dict]:
    """Table 3's rows that we train (``methods``: a subset of :data:`TABLE3`'s labels; all
    by default), on one split (one trial, one seed)."""
    wanted = _check_methods(methods, TABLE3, 3)
    kw = {"device": device, "progress": progress}
    return [
        record(label, final_run(profile, name, data, **kw), trial=data.trial, seed=data.seed)
        for label, name in TABLE3.items()
        if label in wanted
    ]


def final_objective(
    profile: Profile, model: str, data: Data, *, device=None
) -> tuple[Run, pd.DataFrame]:
    """Network ``model``'s final run on ``data`` (:func:`final_run`; trained or reused) and its
    O(r1, r2) grid of Eq. 2 on the split's test images at the profile's resolutions
    (:func:`lib.eval.analysis.objective_for_model`, Figs. 2 and 4): one call that a notebook
    runs for every network and seed in parallel processes (:func:`lib.train.pool.run_parallel`)."""
    from lib.eval.analysis import objective_for_model
    from lib.train.fit import load_model
    from lib.train.pipeline import split_of

    run = final_run(profile, model, data, device=device, progress=False)
    split = split_of(profile, data)
    grid = objective_for_model(
        load_model(run), split.query + split.gallery, profile.input_size_for(data.dataset),
        profile.resolutions, seed=data.seed, device=device or "cpu",
    )  # fmt: skip
    return run, grid


def _check_methods(methods: Sequence[str] | None, rows: Sequence[str], table: int) -> list[str]:
    """``methods`` (all of ``rows`` when empty), each a row of Table ``table``."""
    unknown = sorted(set(methods or ()) - set(rows))
    if unknown:
        raise ValueError(f"unknown Table {table} rows {unknown}; valid: {', '.join(rows)}")
    return list(methods or rows)


def records_in_parallel(
    records: Callable[..., list[dict]],
    profile: Profile,
    replicas: Sequence[Data],
    methods: Sequence[str],
    *,
    device=None,
    processes: int | None = None,
) -> list[dict]:
    """``records(profile, data, methods=[m])`` for every row ``m`` and split of ``replicas``
    (one of :func:`table1_records`, :func:`table2_records`, :func:`table3_records`), as
    parallel one-thread processes on a CPU (:func:`lib.train.pool.run_parallel`): the rows
    of every split in ``methods``' order, each with its split's ``seed`` and ``trial``. The
    calls go row by row, so the two processes mostly train different splits; a run two rows
    share (the split's ResNet extractor) is trained once. ``processes``: as run_parallel."""
    calls = [
        partial(records, profile, data, methods=[method], device=device, progress=False)
        for method in methods
        for data in replicas
    ]
    results = run_parallel(
        calls, device=device or "cpu", processes=processes, desc=f"{len(methods)} rows"
    )
    by_call = dict(zip(((m, d) for m in methods for d in replicas), results, strict=True))
    return [
        {**row, "seed": data.seed, "trial": data.trial}
        for data in replicas
        for method in methods
        for row in by_call[(method, data)]
    ]
