"""The three training steps of Sec. 5.2 chained for a model, as the notebooks use them.

1. ``train_sr``: SR pre-training with the MSE loss (the paper does it on ImageNet: set
   ``Data.sr_images`` to an image folder; by default the HR images of the target training set),
   then, for FFSR, fine-tuning with L_FFSR (Eq. 5) on the ReID training set. AE is the same
   network with both steps on the MSE.
2. ``train_extractor``: the feature extractor (RIFE or a baseline) with L_RIFE (Eq. 9) on the
   target dataset, behind bilinear up-sampling.
3. ``train_joint``: the whole network (SR of step 1 + extractor of step 2) with Eq. 4.
   ``compose`` evaluates that network without training it (stage ``compose``: Table 1's
   rows without joint learning, an SR module in front of a fixed ResNet extractor).

Every step is a :func:`lib.train.fit` run, so each is trained once and then reused by every
notebook that asks for the same settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from lib.data.datasets import IDENTITY_SPLIT_TRIALS
from lib.data.prepare import prepare
from lib.data.samples import Split
from lib.data.variants import VARIANTS
from lib.models import MODELS, extractor_network
from lib.profiles import Profile
from lib.train.fit import Run, fit
from lib.train.runs import stage_config

FOREGROUND_FOCUS = ("ffsr", "ffsr_code")  # SR modules trained with Eq. 5 and a mask


def sr_loss_of(sr: str) -> str:
    """The SR loss that trains SR module ``sr`` (a run's ``sr_loss``): Eq. 5 with a mask for
    FFSR ("ffsr"); the plain squared error, every pixel alike, for AE (FFSR's network without
    the foreground focus, Table 1), SRCNN, VDSR and SING's SRCNN ("mse")."""
    return "ffsr" if sr in FOREGROUND_FOCUS else "mse"


@dataclass(frozen=True)
class Data:
    """Which split a pipeline trains on: a variant kind, its data root, trial and seed; and
    ``sr_images``, an image folder for the SR module's MSE pre-training (Sec. 5.2: a generic
    image set; empty: the target training set's images)."""

    dataset: str
    data_root: str = ""
    trial: int = 0
    seed: int = 0
    sr_images: str = ""


def replicates(
    profile: Profile, dataset: str, data_root: str = "", seeds: Sequence[int] = ()
) -> list[Data]:
    """Which splits a notebook trains variant ``dataset`` on under ``profile``: the one rule
    for seeds and trials. ``seeds`` (a notebook's ``SEEDS``) replaces the profile's seeds.

    - A dataset evaluated over random identity splits (VIPeR, CUHK03, CAVIAR; Sec. 5.1): its
      first ``profile.trials`` trials, each seeded by its number, so a trial samples the
      initialisation and the SR pre-training along with the split (``seeds``: the trials).
    - Any other dataset (the embedded data, whose seed also regenerates it; Market-1501 and
      MSMT17, whose split is fixed): trial 0 at each seed of the profile.
    """
    base = VARIANTS[dataset].base
    if base in IDENTITY_SPLIT_TRIALS:
        trials = list(seeds) or list(range(min(profile.trials, IDENTITY_SPLIT_TRIALS[base])))
        return [Data(dataset, data_root, trial, trial) for trial in trials]
    return [Data(dataset, data_root, 0, seed) for seed in (list(seeds) or profile.seeds)]


def split_of(profile: Profile, data: Data) -> Split:
    """The split ``data`` names, as training reads it (the embedded data generated at the
    profile's size and ``data.seed``): the one way a notebook builds the split it shows."""
    return prepare(
        data.dataset,
        data_root=data.data_root or None,
        synthetic=profile.synthetic,
        trial=data.trial,
        seed=data.seed,
    )


def _fit(profile: Profile, stage: str, model: str, data: Data, device, progress, **kw) -> Run:
    config = stage_config(
        profile,
        stage,
        model,
        data.dataset,
        data_root=data.data_root,
        trial=data.trial,
        seed=data.seed,
        **kw,
    )
    return fit(config, device=device, progress=progress)


def train_sr(
    profile: Profile,
    sr: str,
    data: Data,
    *,
    mask: str = "gaussian",
    device=None,
    progress: bool = True,
) -> list[Run]:
    """Step 1 for SR module ``sr``: [MSE pre-training, fine-tuning] (Sec. 5.2). The
    pre-training reads ``data.sr_images`` where given (one run then serves every trial: the
    folder does not depend on the identity split). FFSR is fine-tuned with Eq. 5 under
    ``mask`` ("gaussian", "auto": the dataset's own masks, or "person": computed person
    masks, :mod:`lib.data.person_masks`), AE / SRCNN / VDSR with the MSE."""
    # AE and FFSR are one network: they share the MSE pre-training and differ from there on.
    pre_name = "ffsr" if sr == "ae" else sr
    pre_data = replace(data, trial=0) if data.sr_images else data
    pre = _fit(
        profile, "sr_pretrain", pre_name, pre_data, device, progress, sr_images=data.sr_images
    )
    extra = {"mask": mask} if sr_loss_of(sr) == "ffsr" else {"sr_loss": "mse"}
    fine = _fit(profile, "sr_finetune", sr, data, device, progress, init=(pre.dir.name,), **extra)
    return [pre, fine]


def train_extractor(
    profile: Profile, extractor: str, data: Data, *, device=None, progress: bool = True, **options
) -> Run:
    """Step 2: feature extractor ``extractor`` (a bilinear network name: resnet, rife,
    two_resnet, ...) with Eq. 9 on the target dataset (Sec. 5.2: "initialize and fine-tune
    the RIFE module on target dataset with L_RIFE")."""
    return _fit(profile, "extractor", extractor, data, device, progress, model_options=options)


def compose(
    profile: Profile, model: str, data: Data, *, sr_run: Run, extractor_run: Run,
    device=None, progress: bool = True, **options,
) -> Run:  # fmt: skip
    """Network ``model`` = the SR module of ``sr_run`` in front of the extractor of
    ``extractor_run``, evaluated as it is (stage ``compose``, no training: Table 1's rows
    without joint learning, "with a fixed ResNet extractor")."""
    init = (extractor_run.dir.name, sr_run.dir.name)
    return _fit(profile, "compose", model, data, device, progress, init=init, model_options=options)


def train_joint(
    profile: Profile, model: str, data: Data, *, sr_run: Run, extractor_run: Run,
    mask: str = "gaussian", device=None, progress: bool = True, **options,
) -> Run:  # fmt: skip
    """Step 3: the whole network with Eq. 4 (alpha, beta of the profile), initialised from
    the SR module of step 1 and the extractor of step 2. The SR term is the network's own
    (:func:`sr_loss_of`): Eq. 5 under ``mask`` for FFSR, the plain squared error for SING
    and the SR baselines."""
    return _fit(
        profile, "joint", model, data, device, progress,
        init=(extractor_run.dir.name, sr_run.dir.name), mask=mask,
        sr_loss=sr_loss_of(MODELS[model].sr), model_options=options,
    )  # fmt: skip


def train_model(
    profile: Profile,
    model: str,
    data: Data,
    *,
    joint: bool = True,
    compose_steps: bool = True,
    mask: str = "gaussian",
    device=None,
    progress: bool = True,
    **options,
) -> dict[str, Run]:
    """Every step for network ``model``: ``{"sr", "extractor", "composed", "joint"}`` (SR
    steps only where it has a learned SR module; ``composed`` is steps 1 + 2 evaluated
    together before joint training, if ``compose_steps``: a caller that reads only the joint
    run leaves that evaluation out; ``joint`` step 3 if ``joint``)."""
    kw = {"device": device, "progress": progress}
    extractor = extractor_network(model)
    runs = {"extractor": train_extractor(profile, extractor, data, **kw, **options)}
    sr = MODELS[model].sr
    if sr == "bilinear":
        return runs
    runs["sr"] = train_sr(profile, sr, data, mask=mask, **kw)[-1]
    pair = {"sr_run": runs["sr"], "extractor_run": runs["extractor"]}
    if compose_steps or not joint:
        runs["composed"] = compose(profile, model, data, **pair, **kw, **options)
    if joint:
        runs["joint"] = train_joint(profile, model, data, **pair, mask=mask, **kw, **options)
    return runs
