"""Reference reproduction of "Resolution-invariant Person Re-Identification" (IJCAI-19).

Subpackages: ``lib.data`` (datasets, variants, the embedded synthetic dataset, the loader),
``lib.models`` (FFSR, RIFE and the baselines), and modules for losses, metrics, training and
reporting.
"""

__version__ = "0.1.0"
