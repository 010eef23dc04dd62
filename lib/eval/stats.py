"""Uncertainty of every comparison: mean, std and n over seeds or trials, and paired
differences with a 95% t-interval.

A comparison of two rows (a method and its baseline) pairs their runs by seed or trial
(same data, same identity split, same initial draw where they share one), so the variation
common to both cancels. The verdict on a claim of the paper is read from that interval:
``holds`` when it excludes zero in the paper's direction, ``refuted`` when it excludes zero
the other way, ``inconclusive`` otherwise (and with fewer than two pairs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _st

VERDICTS = ("holds", "refuted", "inconclusive")


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (ddof 1; 0 for n = 1) and n of some values."""

    mean: float
    std: float
    n: int


def summarise(values: Sequence[float]) -> Summary:
    """:class:`Summary` of ``values`` (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Summary(float("nan"), float("nan"), 0)
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    return Summary(float(x.mean()), std, int(x.size))


@dataclass(frozen=True)
class Difference:
    """Paired difference ``a - b``: its mean, the bounds of the ``confidence`` t-interval and
    the number of pairs."""

    difference: float
    ci_low: float
    ci_high: float
    n: int
    confidence: float = 0.95

    def as_dict(self) -> dict:
        return asdict(self)


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> Difference:
    """Mean of ``a[i] - b[i]`` over the pairs where both are finite, with the two-sided
    Student-t interval ``mean +/- t_{(1+c)/2, n-1} * sd / sqrt(n)``. With one pair the
    interval is unbounded (nothing is known about the spread)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.shape} and {b.shape}")
    d = (a - b)[np.isfinite(a) & np.isfinite(b)]
    n = int(d.size)
    if n == 0:
        return Difference(float("nan"), float("nan"), float("nan"), 0, confidence)
    mean = float(d.mean())
    if n == 1:
        return Difference(mean, -math.inf, math.inf, 1, confidence)
    half = float(_st.t.ppf((1 + confidence) / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return Difference(mean, mean - half, mean + half, n, confidence)


def verdict(diff: Difference, direction: int = 1) -> str:
    """``holds`` if the interval excludes zero on the side of ``direction`` (+1: the paper
    says the difference is positive, -1: negative), ``refuted`` if it excludes zero on the
    other side, else ``inconclusive``."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    if diff.n < 2 or not (math.isfinite(diff.ci_low) and math.isfinite(diff.ci_high)):
        return "inconclusive"
    low, high = diff.ci_low * direction, diff.ci_high * direction
    if direction == -1:
        low, high = high, low
    if low > 0:
        return "holds"
    if high < 0:
        return "refuted"
    return "inconclusive"
