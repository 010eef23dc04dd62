"""Training of the stages of Sec. 5.2, resumable, on CPU, one GPU or many.

- :mod:`lib.train.fit`: ``fit(config)`` trains (or reuses) one run; the network of a run,
  a finished run's model.
- :mod:`lib.train.loading`: the training batches of each epoch, resumable exactly.
- :mod:`lib.train.stages`: what each stage builds, freezes, optimises and evaluates.
- :mod:`lib.train.engine`: ``train_one_epoch``.
- :mod:`lib.train.runs`: a run's settings (``RunConfig``), folder and checkpoints.
- :mod:`lib.train.pipeline`: the three steps of Sec. 5.2 chained for one network.
- :mod:`lib.train.parallel`: independent runs as parallel one-thread processes.

This file only re-exports what callers use most.
"""

from lib.train.fit import (
    Run,
    build_network,
    default_device,
    fit,
    load_model,
    train_dataset,
)
from lib.train.loading import epoch_loader

__all__ = [
    "Run",
    "build_network",
    "default_device",
    "epoch_loader",
    "fit",
    "load_model",
    "train_dataset",
]
