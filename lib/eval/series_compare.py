"""Two series of the same table rows side by side (e.g. float32 and bf16 training): does a
setting that should only make steps cheaper move the results or the verdicts?

Per row (method, dataset): the mean and seed std of each series, the paired difference over
the seeds both have with its 95% t-interval (:func:`lib.eval.stats.paired_difference`), and
whether the move is beyond the seed spread (|difference| above the larger of the two series'
seed standard deviations). Per claim of the claims table: each series' verdicts, and whether
either changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lib.eval.stats import paired_difference, summarise

ROW_KEYS = ("dataset", "method")
CLAIM_KEYS = ("claim", "dataset", "family")
VERDICTS = ("verdict", "magnitude_verdict")


def paired_rows(
    before: pd.DataFrame,
    after: pd.DataFrame,
    metric: str = "rank1",
    keys: Sequence[str] = ROW_KEYS,
    scale: float = 100.0,
) -> pd.DataFrame:
    """One line per row of ``keys`` present in both per-seed tables (columns ``keys``,
    ``seed``, ``metric``): each series' mean and std (x ``scale``: fractions to %), n, the
    paired difference after - before with its interval, and ``beyond_seed_spread``."""
    keys = [k for k in keys if k in before and k in after]
    lines = []
    for group, old in before.groupby(keys, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        new = after
        for k, v in zip(keys, group, strict=True):
            new = new[new[k] == v]
        pairs = old.merge(new, on="seed", suffixes=("_before", "_after"))
        a = scale * pairs[f"{metric}_after"].to_numpy(float)
        b = scale * pairs[f"{metric}_before"].to_numpy(float)
        if not len(pairs):
            continue
        s_before, s_after = summarise(b), summarise(a)
        diff = paired_difference(a, b)
        lines.append(
            {
                **dict(zip(keys, group, strict=True)),
                "before": round(s_before.mean, 2),
                "before_std": round(s_before.std, 2),
                "after": round(s_after.mean, 2),
                "after_std": round(s_after.std, 2),
                "n": diff.n,
                "difference": round(diff.difference, 2),
                "ci_low": round(diff.ci_low, 2),
                "ci_high": round(diff.ci_high, 2),
                "beyond_seed_spread": bool(abs(diff.difference) > max(s_before.std, s_after.std)),
            }
        )
    return pd.DataFrame(lines)


def verdict_changes(
    before: pd.DataFrame, after: pd.DataFrame, keys: Sequence[str] = CLAIM_KEYS
) -> pd.DataFrame:
    """The claims both claims tables hold (matched on ``keys``), each with both series'
    difference, interval and verdicts, and ``changed``: a sign or magnitude verdict differs."""
    keys = [k for k in keys if k in before and k in after]
    cols = [*keys, "difference", "ci_low", "ci_high", *VERDICTS]
    both = before[cols].merge(after[cols], on=keys, suffixes=("_before", "_after"))
    both["changed"] = False
    for v in VERDICTS:
        both["changed"] |= both[f"{v}_before"] != both[f"{v}_after"]
    return both
