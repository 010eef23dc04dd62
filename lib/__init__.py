"""Reference reproduction of "Resolution-invariant Person Re-Identification" (IJCAI-19).

One layer after another, each importing only from its own layer and those above it in this
list (:data:`LAYERS`; ``tests/test_layers.py`` checks every import, deferred ones included):

- ``lib.settings``, ``lib.profiles``, ``lib.masks``, ``lib.reference``: where files go, the
  named settings of every stage, the foreground masks of Eq. 5, the paper's reported numbers.
- ``lib.weights``: ImageNet weights, their cache and verified downloads.
- ``lib.data``: datasets in their official layouts, the VR-/MLR- variants, the embedded
  synthetic dataset, the loader, person masks.
- ``lib.models``, ``lib.losses``: FFSR, RIFE and the baselines (Eq. 3, 6); Eq. 4-9.
- ``lib.eval``: a trained network's features and metrics (CMC, mAP, O of Eq. 2, PSNR), the
  analyses of Figs. 2 and 4, paired statistics.
- ``lib.train``: runs (settings, folders), the stages of Sec. 5.2, the epoch loop, ``fit``,
  the three steps chained, independent runs in parallel processes.
- ``lib.experiments``, ``lib.headroom``, ``lib.claims``, ``lib.market``: the paper's studies
  (the rows of Tables 1-3, the headroom measurement, the claims table, Market-1501).
- ``lib.report``: figure and table files, the tables beside the paper's, plots, widgets.
- ``lib.__main__``: ``python -m lib <command>``, the one command line.
"""

__version__ = "0.1.0"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("lib.settings", "lib.profiles", "lib.masks", "lib.reference"),
    ("lib.weights",),
    ("lib.data",),
    ("lib.models", "lib.losses"),
    ("lib.eval",),
    ("lib.train",),
    ("lib.experiments", "lib.headroom", "lib.claims", "lib.market"),
    ("lib.report",),
    ("lib.__main__",),
)
