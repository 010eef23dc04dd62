"""A training run: its settings, its folder under ``runs/``, its checkpoints.

A run is identified by the hash of its settings (:class:`RunConfig`); its folder holds
``config.json``, ``checkpoint.pt`` (the last finished epoch: weights, optimiser state and the
per-epoch log, written atomically), ``log.csv`` (one row per epoch), ``model.pt`` (the final
weights) and ``metrics.json`` (written last: a run with it is finished and is reused instead
of retrained). Everything is loaded with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

import lib.train.stages as stages
from lib.losses import LOSS_FORMS
from lib.profiles import MEMORY_FORMATS, NO_TRAINING, PRECISIONS, Optim, Profile
from lib.settings import from_environment, settings_key
from lib.train.distributed import world_size

SR_LOSSES = ("mse", "ffsr")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's result (Sec. 5.2 for the paper's values).

    ``stage``: a name of :data:`lib.train.stages.STAGES` (what the run builds, trains, freezes and
    evaluates); ``model`` is an SR name for the SR stages, else a network name. ``optim``: the
    stage's optimisation settings (:class:`lib.profiles.Optim`). ``sr_loss`` "mse" weighs
    every pixel alike, "ffsr" is Eq. 5 under ``mask``. ``init`` lists run folders whose final
    weights initialise this model, in order: an SR run initialises the SR module, any other
    run the whole network.

    ``loss_form`` (:data:`lib.losses.LOSS_FORMS`): how Eq. 5 is reduced and Eq. 4 weighted;
    "paper" sums Eq. 5 over pixels as written. The stage fixes it where it has no choice
    (:attr:`lib.train.stages.Stage.fixed`): the MSE pre-training is "paper_mean" (a mean squared
    error), the extractor stage (Eq. 9, no SR term) "paper".
    """

    stage: str
    model: str
    dataset: str
    profile: str = "smoke"
    optim: Optim = Optim(epochs=1, lr=0.01)
    input_size: tuple[int, int] = (64, 32)
    backbone: str = "resnet18"
    pretrained: bool = False
    model_options: dict = field(default_factory=dict)
    sr_options: dict = field(default_factory=dict)
    sr_loss: str = "ffsr"
    mask: str = "gaussian"
    loss_form: str = "paper"
    alpha: float = 1.0
    beta: float = 0.1
    init: tuple[str, ...] = ()
    data_root: str = ""
    synthetic: dict = field(default_factory=dict)
    sr_images: str = ""
    trial: int = 0
    seed: int = 0
    eval_draws: int = 10
    workers: int = 0
    world_size: int = (
        1  # processes that train the run together (torchrun); part of the key beyond 1
    )
    memory_format: str = "contiguous"  # or "channels_last" (CPU too); part of the key if so
    precision: str = "float32"  # lib.profiles.PRECISIONS (lib.train.precision); in the key if not

    def __post_init__(self) -> None:
        if "synthetic" in self.dataset and self.data_root:
            # the embedded data does not live under a data root: keep it out of the run's key
            object.__setattr__(self, "data_root", "")
        # self.spec: a ValueError naming the valid stages where the name is unknown
        if self.spec.loss is None and self.optim.epochs:
            raise ValueError(f"stage {self.stage} does not train: epochs must be 0")
        if self.sr_loss not in SR_LOSSES:
            raise ValueError(f"sr_loss must be one of {SR_LOSSES}, got {self.sr_loss!r}")
        if self.memory_format not in MEMORY_FORMATS:
            raise ValueError(
                f"memory_format must be one of {MEMORY_FORMATS}, got {self.memory_format!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.loss_form not in LOSS_FORMS:
            raise ValueError(
                f"loss_form must be one of {tuple(LOSS_FORMS)}, got {self.loss_form!r}"
            )

    def to_json(self) -> dict:
        d = asdict(self)
        d["optim"]["lr_steps"] = list(self.optim.lr_steps)
        d["input_size"], d["init"] = list(self.input_size), list(self.init)
        return d

    @property
    def spec(self) -> stages.Stage:
        """The :class:`lib.train.stages.Stage` this run trains: the one place a run's stage
        name is looked up."""
        return stages.get(self.stage)

    @property
    def key(self) -> str:
        settings = self.to_json()
        if settings["world_size"] == 1:  # the keys of one-process runs stay as they were
            del settings["world_size"]
        if settings["memory_format"] == "contiguous":  # so do those of contiguous runs
            del settings["memory_format"]
        if settings["precision"] == "float32":  # and those of float32 runs
            del settings["precision"]
        optim = settings["optim"]  # and those without the fields added since:
        if not optim["sr_grad_clip"]:  # an SR-only gradient limit
            del optim["sr_grad_clip"]
        if not optim["plateau_fall"]:  # the stopping rule (lib.train.schedule)
            del optim["plateau_fall"], optim["plateau_window"]
        return settings_key(settings)

    @property
    def name(self) -> str:
        return f"{self.stage}-{self.model}-{self.dataset}-t{self.trial}-{self.key}"

    @classmethod
    def from_json(cls, d: dict) -> RunConfig:
        return cls(
            **{
                **d,
                "optim": Optim(**d["optim"]),
                "input_size": tuple(d["input_size"]),
                "init": tuple(d["init"]),
            }
        )


OPTIM_FIELDS = frozenset(f.name for f in fields(Optim))


def stage_config(profile: Profile, stage: str, model: str, dataset: str, **overrides) -> RunConfig:
    """A run of ``profile``'s settings for ``stage`` (a name of :data:`lib.train.stages.STAGES`) of
    ``model`` on variant ``dataset``. ``overrides`` replace any field of the run or of its
    :class:`~lib.profiles.Optim` (``epochs=2``, ``batch_size=16``)."""
    spec = stages.get(stage)
    optim = profile.optim_for(spec.optim, dataset) if spec.optim else NO_TRAINING
    optim = replace(optim, **{k: v for k, v in overrides.items() if k in OPTIM_FIELDS})
    base = RunConfig(
        stage=stage,
        model=model,
        dataset=dataset,
        profile=profile.name,
        optim=optim,
        input_size=profile.input_size_for(dataset),
        backbone=profile.backbone,
        pretrained=profile.pretrained,
        sr_options=dict(profile.sr_options),
        alpha=profile.alpha,
        beta=profile.beta,
        synthetic=asdict(profile.synthetic) if "synthetic" in dataset else {},
        eval_draws=profile.eval_draws,
        workers=profile.workers,
        world_size=world_size(),
        memory_format=profile.memory_format,
        precision=profile.precision,
        **{"loss_form": profile.loss_form, **spec.fixed},
    )
    return replace(base, **{k: v for k, v in overrides.items() if k not in OPTIM_FIELDS})


def runs_root() -> Path:
    """``$RIPR_RUNS`` or ``runs/`` in the checkout."""
    return from_environment().runs


def run_dir(config: RunConfig, root: Path | None = None) -> Path:
    return (root or runs_root()) / config.profile / config.name


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the run ``folder`` (a file ``<folder>.lock`` beside it,
    ``fcntl.flock``) meanwhile: a process that would train a run another process is training
    waits for it, then reuses it, rather than training it twice into one folder (notebooks'
    parallel seeds, :mod:`lib.train.pool`). Released when the holder exits, however it exits.
    Where ``fcntl`` does not exist (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(f"{folder.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def write_log(folder: Path, history: list[dict]) -> None:
    if not history:
        return
    tmp = folder / ".log.csv.tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    os.replace(tmp, folder / "log.csv")


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def read_config(folder: Path) -> RunConfig:
    return RunConfig.from_json(json.loads((folder / "config.json").read_text()))


def init_model(model: torch.nn.Module, config: RunConfig, root: Path | None = None) -> None:
    """Load the final weights of the runs named in ``config.init`` into ``model``, in order:
    an ``sr`` run fills the SR module; any other run fills the feature extractor, and the SR
    module too where it had a learned one."""
    for name in config.init:
        folder = (root or runs_root()) / config.profile / name
        if not (folder / "model.pt").is_file():
            raise FileNotFoundError(
                f"{config.name}: init run {folder} has no model.pt (not finished)"
            )
        state = load_weights(folder / "model.pt")
        builds = config.spec.builds
        if read_config(folder).spec.builds == "sr":
            (model if builds == "sr" else model.sr).load_state_dict(state)
            continue
        if builds == "sr":
            raise ValueError(f"{config.name}: an SR run cannot start from network run {name}")
        parts = {"sr": {}, "extractor": {}}
        for key, value in state.items():
            part, _, rest = key.partition(".")
            parts[part][rest] = value
        model.extractor.load_state_dict(parts["extractor"])
        if parts["sr"]:
            model.sr.load_state_dict(parts["sr"])
