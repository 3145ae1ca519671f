"""Mirrored pairs: paired differences of reply features between swapped sides."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from levelhead.stats import mcnemar_exact, mirrored_asymmetries, mirrored_asymmetry


def test_length_asymmetry_matches_a_paired_t_test():
    a = [120, 135, 98, 150, 110, 142, 128, 131]
    b = [100, 120, 101, 130, 95, 120, 118, 125]
    result = mirrored_asymmetry(a, b, feature="length")
    t = scipy_stats.ttest_rel(a, b)
    low, high = t.confidence_interval(0.95)
    assert result.mean_difference == pytest.approx(np.mean(np.subtract(a, b)))
    assert (result.interval.low, result.interval.high) == pytest.approx((low, high))
    assert result.p_value == pytest.approx(t.pvalue)
    assert (result.a_greater, result.b_greater, result.ties) == (7, 1, 0)
    assert result.sign_test_p == pytest.approx(scipy_stats.binomtest(7, 8).pvalue)
    assert result.interval.low > 0  # side A gets longer replies


def test_refusal_sign_test_is_the_exact_mcnemar_test():
    a = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1]
    b = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    result = mirrored_asymmetry(a, b, feature="refusal")
    assert result.sign_test_p == pytest.approx(mcnemar_exact(b, a).p_value)
    assert result.mean_difference == pytest.approx(0.5)


def test_missing_features_drop_their_pair_and_are_counted():
    result = mirrored_asymmetry([1.0, np.nan, 3.0, 4.0], [0.5, 1.0, np.nan, 3.0], missing=2,
                                errors=1)
    assert result.pairs == 2
    assert (result.errors, result.missing) == (1, 4)


def test_repeated_samples_of_a_pair_are_averaged_not_counted_as_pairs():
    a = [10, 12, 11, 20, 22, 21]
    b = [9, 9, 9, 18, 18, 18]
    ids = ["p1", "p1", "p1", "p2", "p2", "p2"]
    clustered = mirrored_asymmetry(a, b, pair_ids=ids)
    assert clustered.pairs == 2
    assert clustered.mean_a == pytest.approx(16.0)
    assert clustered.mean_difference == pytest.approx(2.5)
    naive = mirrored_asymmetry(a, b)
    assert clustered.interval.width > naive.interval.width


def test_equal_differences_give_no_t_test_but_a_sign_test():
    result = mirrored_asymmetry([3, 4, 5], [1, 2, 3])
    assert result.p_value is None
    assert (result.interval.low, result.interval.high) == (2.0, 2.0)
    assert result.sign_test_p == pytest.approx(0.25)
    ties = mirrored_asymmetry([1, 2], [1, 2])
    assert ties.sign_test_p == 1.0 and ties.ties == 2


def test_several_features_at_once():
    results = mirrored_asymmetries({"length": [5, 6, 7], "items": [1, 0, 2]},
                                   {"length": [4, 6, 5], "items": [1, 1, 1]})
    assert [r.feature for r in results] == ["length", "items"]
    with pytest.raises(ValueError, match="same features"):
        mirrored_asymmetries({"length": [1, 2]}, {"items": [1, 2]})


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1, 2], [1]), {}, r"one entry per pair \(got 2, 1\)"),
        (([1, 2], [1, 2]), {"pair_ids": ["a"]}, r"one entry per pair \(got 2, 2, 1\)"),
        (([1, np.nan], [1, 2]), {}, r"at least 2 pairs .* \(got 1\)"),
        (([1, 2], [1, 2]), {"pair_ids": ["a", "a"]}, r"at least 2 pairs"),
    ],
)
def test_bad_input_says_what_is_wrong(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mirrored_asymmetry(*args, **kwargs)
