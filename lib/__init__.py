"""Reference reproduction of "Resolution-invariant Person Re-Identification" (IJCAI-19).

One package per layer, each importing only from those above it in this list:

- ``lib.profiles``, ``lib.settings``: the named settings of every stage; where files go.
- ``lib.data``: datasets in their official layouts, the VR-/MLR- variants, the embedded
  synthetic dataset, the loader.
- ``lib.models``, ``lib.losses``: FFSR, RIFE and the baselines (Eq. 3, 6); Eq. 4-9.
- ``lib.eval``: a trained network's features and metrics (CMC, mAP, O of Eq. 2, PSNR), the
  analyses of Figs. 2 and 4, paired statistics.
- ``lib.train``: runs (settings, folders), the stages of Sec. 5.2, the epoch loop, ``fit``,
  the three steps chained (``lib.train.pipeline``); ``python -m lib`` is its command line.
- ``lib.experiments``, ``lib.headroom``, ``lib.claims``: the rows of Tables 1-3, the
  headroom measurement, the claims table.
- ``lib.report``: figure and table files, the tables beside the paper's, plots, widgets.
"""

__version__ = "0.1.0"
