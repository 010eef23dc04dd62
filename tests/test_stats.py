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


def test_paired_p_value_is_the_paired_t_test() -> None:
    from scipy import stats as st

    from lib.eval.stats import paired_p_value

    a, b = [1.0, 2.0, 3.0, 5.0], [0.0, 1.0, 1.0, 1.0]
    assert paired_p_value(a, b) == pytest.approx(st.ttest_rel(a, b).pvalue, rel=1e-12)
    assert math.isnan(paired_p_value([1.0], [0.0]))
    assert paired_p_value([1.0, 2.0], [0.0, 1.0]) == 0.0  # equal, non-zero differences
    assert paired_p_value([1.0, 2.0], [1.0, 2.0]) == 1.0
    # the same rise read off two grids: equal up to float rounding, not a difference
    assert paired_p_value([0.3 + 0.2 - 0.1, 0.6], [0.4, 0.6 + 1e-17]) == 1.0


def test_holm_matches_a_hand_computation_in_input_order() -> None:
    from lib.eval.stats import holm

    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm([0.01, float("nan"), 0.04])  # a NaN is not a test: m = 2
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.04)
    assert math.isnan(adjusted[1])
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([]) == []


def test_corrected_interval_known_answer_and_its_limit() -> None:
    """Nadeau and Bengio's variance s^2 (1/J + n_test/n_train), by hand: differences 1..4
    (mean 2.5, s^2 = 5/3), n_test = n_train: se = sqrt(5/3 * 1.25), t(0.975, 3) = 3.18245."""
    from lib.eval.stats import corrected_interval, corrected_p_value

    low, high = corrected_interval([1.0, 2.0, 3.0, 4.0], n_train=25, n_test=25)
    half = 3.182446305284263 * math.sqrt(5 / 3 * 1.25)
    assert (low, high) == pytest.approx((2.5 - half, 2.5 + half), rel=1e-9)
    # without overlap (n_test / n_train -> 0) it is the plain paired t-interval
    plain = paired_difference([1.0, 2.0, 3.0, 4.0], [0.0] * 4)
    assert corrected_interval([1.0, 2.0, 3.0, 4.0], 10**9, 1) == pytest.approx(
        (plain.ci_low, plain.ci_high), rel=1e-6
    )
    assert corrected_p_value([1.0, 2.0, 3.0, 4.0], 25, 25) > 0.05  # the plain test: 0.02
    assert corrected_interval([3.0], 25, 25) == (-math.inf, math.inf)


@pytest.mark.parametrize(
    ("sign", "low", "high", "gain", "direction", "expected"),
    [
        ("holds", 1.0, 3.0, 2.0, 1, "reproduced"),
        ("inconclusive", -0.8, 0.9, 1.8, 1, "smaller than reported"),
        ("refuted", -3.0, -1.0, 1.8, 1, "smaller than reported"),
        ("holds", 4.0, 6.0, 1.8, 1, "larger than reported"),
        ("inconclusive", -1.0, 3.0, 1.8, 1, "inconclusive"),
        ("inconclusive", 0.2, 3.0, 1.8, 1, "inconclusive"),  # not significant after Holm
        ("holds", -0.09, -0.02, -0.05, -1, "reproduced"),  # a claim that O falls
        ("inconclusive", -0.01, 0.02, -0.05, -1, "smaller than reported"),
        ("holds", 1.0, 3.0, float("nan"), 1, "no paper number"),
        ("inconclusive", -math.inf, math.inf, 1.8, 1, "inconclusive"),
    ],
)
def test_magnitude_verdict_on_constructed_cases(sign, low, high, gain, direction, expected):
    from lib.eval.stats import MAGNITUDE_VERDICTS, magnitude_verdict

    assert magnitude_verdict(sign, low, high, gain, direction) == expected
    assert expected in MAGNITUDE_VERDICTS


def test_n_for_power_known_values_and_the_overlap_floor() -> None:
    """Paired t, two-sided alpha 0.05, power 0.8: effect = 1 sd needs 10 pairs, 0.5 sd 34
    (Cohen's tables). With overlapping splits the variance never falls below sd^2 * overlap."""
    from lib.eval.stats import n_for_power

    assert n_for_power(1.0, 1.0) == 10 and n_for_power(2.0, -1.0) == 34
    assert n_for_power(1.0, 1.0, overlap=1.0) == math.inf
    assert n_for_power(1.0, 3.0, overlap=0.1) < math.inf
    assert math.isnan(n_for_power(float("nan"), 1.0)) and n_for_power(0.0, 1.0) == 2
