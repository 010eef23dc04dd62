"""Uncertainty of every comparison: mean, std and n over seeds or trials, and paired
differences with a 95% t-interval.

A comparison of two rows (a method and its baseline) pairs their runs by seed or trial
(same data, same identity split, same initial draw where they share one), so the variation
common to both cancels. :func:`verdict` reads one interval alone: ``holds`` when it excludes
zero in the paper's direction, ``refuted`` when it excludes zero the other way,
``inconclusive`` otherwise (and with fewer than two pairs).

For many comparisons at once (:mod:`lib.claims`): :func:`paired_p_value` and :func:`holm`
(family-wise error control); :func:`corrected_interval` / :func:`corrected_p_value` for
trials that resample one pool of identities (Nadeau and Bengio, 2003);
:func:`magnitude_verdict` (our interval against the paper's reported gain) and
:func:`n_for_power` (pairs needed to detect that gain with 80% power).
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


def paired_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test of ``a - b`` against 0 (the test whose interval
    :func:`paired_difference` gives); NaN with fewer than two pairs, 1 when every difference
    is 0 up to float rounding (two curves read off the same grid), 0 when they are equal and
    not 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = (a - b)[ok]
    if d.size < 2:
        return float("nan")
    if _all_rounding(d, np.abs(np.concatenate([a[ok], b[ok]]))):
        return 1.0  # equal values up to float rounding: no difference to test
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return 0.0
    t = float(d.mean()) / (sd / math.sqrt(d.size))
    return float(2 * _st.t.sf(abs(t), d.size - 1))


def _all_rounding(differences: np.ndarray, values: np.ndarray) -> bool:
    """Whether every difference is within float rounding of the values it comes from."""
    scale = float(values.max()) if values.size else 0.0
    return bool(np.all(np.abs(differences) <= 1e-12 * max(scale, 1.0)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm, 1979), in the input order: the i-th smallest
    of m p-values is multiplied by (m - i + 1), made monotone, capped at 1. Rejecting where
    the adjusted value is below alpha controls the family-wise error rate at alpha. NaNs
    stay NaN and do not count in m."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    running = 0.0
    for rank, index in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[index]))
        out[index] = running
    return out.tolist()


def corrected_interval(
    differences: Sequence[float], n_train: int, n_test: int, level: float = 0.95
) -> tuple[float, float]:
    """The corrected resampled-t interval of Nadeau and Bengio (2003, "Inference for the
    generalization error", Machine Learning 52: 239-281) for the mean of ``differences``
    measured on J random train/test splits of one pool of data (``n_train`` and ``n_test``
    units each: identities on an identity-split dataset). The splits overlap, so the J
    differences are correlated; the plain t-interval's variance s^2 / J is replaced by
    s^2 (1 / J + n_test / n_train), with J - 1 degrees of freedom. Unbounded with one split."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan"), float("nan")
    mean = float(d.mean())
    if d.size == 1:
        return -math.inf, math.inf
    if n_train <= 0 or n_test <= 0:
        raise ValueError(f"n_train and n_test must be positive, got {n_train}, {n_test}")
    scale = math.sqrt(float(d.var(ddof=1)) * (1 / d.size + n_test / n_train))
    half = float(_st.t.ppf((1 + level) / 2, d.size - 1)) * scale
    return mean - half, mean + half


def corrected_p_value(differences: Sequence[float], n_train: int, n_test: int) -> float:
    """Two-sided p-value of the corrected resampled t-test (:func:`corrected_interval`)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return float("nan")
    if _all_rounding(d, np.abs(d)):
        return 1.0
    var = float(d.var(ddof=1)) * (1 / d.size + n_test / n_train)
    if var == 0.0:
        return 0.0
    return float(2 * _st.t.sf(abs(float(d.mean())) / math.sqrt(var), d.size - 1))


MAGNITUDE_VERDICTS = (
    "reproduced", "smaller than reported", "larger than reported", "inconclusive",
    "no paper number",
)  # fmt: skip


def magnitude_verdict(sign_verdict: str, ci_low: float, ci_high: float, paper_gain: float,
                      direction: int = 1) -> str:  # fmt: skip
    """Our interval against the gain the paper reports (same units, ``method - baseline``):

    - ``reproduced``: the sign verdict (after the family's correction) is ``holds`` and the
      interval contains the paper's gain;
    - ``smaller than reported``: the paper's gain lies beyond the whole interval in the
      claim's ``direction`` (our effect is smaller, or of the other sign);
    - ``larger than reported``: the interval lies wholly beyond the paper's gain;
    - ``inconclusive``: the interval holds the paper's gain but not a shown effect (zero
      inside, or not significant after the correction), or it is unbounded;
    - ``no paper number``: the paper gives none (NaN).
    """
    if not math.isfinite(paper_gain):
        return "no paper number"
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive"
    low, high = sorted((ci_low * direction, ci_high * direction))
    gain = paper_gain * direction
    if gain > high:
        return "smaller than reported"
    if gain < low:
        return "larger than reported"
    return "reproduced" if sign_verdict == "holds" else "inconclusive"


def n_for_power(
    sd: float, effect: float, *, alpha: float = 0.05, power: float = 0.8,
    overlap: float = 0.0, n_max: int = 1000,
) -> float:  # fmt: skip
    """The smallest number of pairs (seeds or trials) at which a two-sided paired t-test at
    ``alpha`` detects a true mean difference ``effect`` with probability ``power``, when the
    differences have standard deviation ``sd`` (noncentral t; Cohen, 1988). ``overlap`` is
    the Nadeau-Bengio term n_test / n_train of overlapping splits (:func:`corrected_interval`):
    the variance is then sd^2 (1/n + overlap), which more trials cannot push below
    sd^2 * overlap, so the power may never be reached: ``inf`` then, and beyond ``n_max``.
    NaN where ``sd`` or ``effect`` is NaN; 2 where ``sd`` is 0 and ``effect`` is not."""
    if not (math.isfinite(sd) and math.isfinite(effect)):
        return float("nan")
    if effect == 0:
        return math.inf
    if sd == 0:
        return 2.0
    for n in range(2, n_max + 1):
        se = sd * math.sqrt(1 / n + overlap)
        crit = float(_st.t.ppf(1 - alpha / 2, n - 1))
        nc = abs(effect) / se
        achieved = float(_st.nct.sf(crit, n - 1, nc) + _st.nct.cdf(-crit, n - 1, nc))
        if achieved >= power:
            return float(n)
    return math.inf
