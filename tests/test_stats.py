import math

import numpy as np
import pytest

from lib.eval.stats import Difference, paired_difference, summarise, verdict


def test_summarise_mean_std_n_and_nan():
    s = summarise([1.0, 2.0, 3.0, float("nan")])
    assert (s.mean, s.n) == (2.0, 3)
    assert s.std == pytest.approx(1.0)
    assert summarise([5.0]).std == 0.0
    assert summarise([]).n == 0


def test_paired_difference_matches_hand_computed_t_interval():
    a, b = [10.0, 12.0, 11.0, 13.0], [9.0, 10.0, 10.5, 11.0]
    d = np.array(a) - np.array(b)  # 1, 2, 0.5, 2
    mean, sd = d.mean(), d.std(ddof=1)
    half = 3.182446305284263 * sd / math.sqrt(4)  # t_{0.975, 3}
    diff = paired_difference(a, b)
    assert diff.n == 4
    assert diff.difference == pytest.approx(mean)
    assert (diff.ci_low, diff.ci_high) == pytest.approx((mean - half, mean + half))


def test_paired_difference_skips_unpaired_and_checks_lengths():
    diff = paired_difference([1.0, float("nan"), 3.0], [0.0, 1.0, 1.0])
    assert diff.n == 2 and diff.difference == pytest.approx(1.5)
    one = paired_difference([2.0], [1.0])
    assert one.n == 1 and math.isinf(one.ci_low) and math.isinf(one.ci_high)
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("low", "high", "direction", "expected"),
    [
        (0.5, 2.0, 1, "holds"),
        (-2.0, -0.5, 1, "refuted"),
        (-0.5, 2.0, 1, "inconclusive"),
        (-2.0, -0.5, -1, "holds"),
        (0.5, 2.0, -1, "refuted"),
    ],
)
def test_verdict_reads_the_interval_in_the_papers_direction(low, high, direction, expected):
    assert verdict(Difference((low + high) / 2, low, high, 3), direction) == expected


def test_verdict_is_inconclusive_with_one_pair():
    assert verdict(paired_difference([3.0], [1.0])) == "inconclusive"
    with pytest.raises(ValueError, match="direction"):
        verdict(Difference(1.0, 0.5, 1.5, 3), 0)
