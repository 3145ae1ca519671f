"""Rates: known values, edges at k = 0 and k = n, input errors, and properties."""

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from levelhead.stats import Interval, binomial_test, rate, rate_interval
from levelhead.stats._rates import rate_intervals

METHODS = ["wilson", "exact", "jeffreys"]
STATSMODELS_NAME = {"wilson": "wilson", "exact": "beta", "jeffreys": "jeffreys"}

# Newcombe (1998), Statistics in Medicine 17:857-872, Table II: methods 3 (Wilson score) and
# 5 (Clopper-Pearson exact), published to four decimals.
NEWCOMBE = [
    (81, 263, "wilson", 0.2553, 0.3662),
    (81, 263, "exact", 0.2527, 0.3676),
    (15, 148, "wilson", 0.0624, 0.1605),
    (15, 148, "exact", 0.0578, 0.1617),
    (0, 20, "wilson", 0.0000, 0.1611),
    (0, 20, "exact", 0.0000, 0.1684),
    (1, 29, "wilson", 0.0061, 0.1718),
    (1, 29, "exact", 0.0009, 0.1776),
]


@pytest.mark.parametrize(("k", "n", "method", "low", "high"), NEWCOMBE)
def test_intervals_match_newcombes_published_table(k, n, method, low, high):
    interval = rate_interval(k, n, method=method)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("k", "n"), [(1, 10), (7, 10), (3, 50), (250, 1000), (49, 50)])
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_interior_intervals_agree_with_statsmodels(method, k, n, confidence):
    low, high = proportion_confint(k, n, alpha=1 - confidence, method=STATSMODELS_NAME[method])
    interval = rate_interval(k, n, confidence, method)
    assert interval.low == pytest.approx(low, abs=1e-6)
    assert interval.high == pytest.approx(high, abs=1e-6)
    assert interval.confidence == confidence


def test_jeffreys_is_the_beta_posterior_quantile_with_the_boundary_fix():
    interval = rate_interval(3, 20, 0.95, "jeffreys")
    assert interval.low == pytest.approx(scipy_stats.beta.ppf(0.025, 3.5, 17.5), abs=1e-9)
    assert interval.high == pytest.approx(scipy_stats.beta.ppf(0.975, 3.5, 17.5), abs=1e-9)
    # statsmodels leaves low > 0 at k = 0; the Brown-Cai-DasGupta fix pins it to 0.
    assert proportion_confint(0, 20, method="jeffreys")[0] > 0
    assert rate_interval(0, 20, method="jeffreys").low == 0.0
    assert rate_interval(20, 20, method="jeffreys").high == 1.0


def test_seven_of_ten_is_no_evidence_of_a_preference():
    test = binomial_test(7, 10)
    assert test.p_value == pytest.approx(0.34375, abs=1e-9)
    assert test.rate.interval.contains(0.5)
    assert test.rate.interval.low == pytest.approx(0.3968, abs=1e-4)
    assert test.rate.interval.high == pytest.approx(0.8922, abs=1e-4)


def test_binomial_test_reproduces_the_published_mendel_example():
    # Conover (1971, p. 97), the example in R's ?binom.test: 682 giant plants among 925, against
    # Mendel's 3/4. R prints p-value = 0.3825 and the 95 % interval 0.7076683 0.7654066 (exact).
    test = binomial_test(682, 925, null_rate=0.75, method="exact")
    assert test.p_value == pytest.approx(0.3825, abs=5e-5)
    assert test.rate.estimate == pytest.approx(0.7372973, abs=5e-8)
    assert test.rate.interval.low == pytest.approx(0.7076683, abs=5e-8)
    assert test.rate.interval.high == pytest.approx(0.7654066, abs=5e-8)


def test_ten_of_ten_is_evidence_of_a_preference():
    test = binomial_test(10, 10)
    assert test.p_value == pytest.approx(2 / 1024, abs=1e-12)
    assert not test.rate.interval.contains(0.5)


@pytest.mark.parametrize("method", METHODS)
def test_sensible_at_zero_and_all(method):
    none = rate_interval(0, 30, method=method)
    everything = rate_interval(30, 30, method=method)
    assert none.low == 0.0 and 0.0 < none.high < 0.2
    assert everything.high == 1.0 and 0.8 < everything.low < 1.0
    assert none.high == pytest.approx(1 - everything.low, abs=1e-12)


def test_exact_upper_end_at_zero_has_the_closed_form():
    # Two-sided 95 %: upper end solves (1 - p)^n = 0.025.
    assert rate_interval(0, 100, method="exact").high == pytest.approx(1 - 0.025 ** (1 / 100))


def test_rate_carries_errors_and_missing_without_using_them():
    result = rate(3, 10, errors=4, missing=2)
    assert (result.k, result.n, result.estimate) == (3, 10, 0.3)
    assert (result.errors, result.missing) == (4, 2)
    assert result.interval == rate_interval(3, 10)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["interval"]["method"] == "wilson"
    assert payload["errors"] == 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rate_interval(5, 3), "k must be between 0 and n (got k=5, n=3)"),
        (lambda: rate_interval(0, 0), "n must be at least 1"),
        (lambda: rate_interval(-1, 3), "k must be a whole number"),
        (lambda: rate_interval(1.5, 3), "k must be a whole number"),
        (lambda: rate_interval(True, 3), "k must be a whole number"),
        (lambda: rate_interval(1, 3, 1.5), "confidence must be between 0 and 1"),
        (lambda: rate_interval(1, 3, "high"), "confidence must be between 0 and 1"),
        (lambda: rate_interval(1, 3, method="wald"), "method must be one of"),
        (lambda: rate(1, 3, errors=-1), "errors must be a whole number"),
        (lambda: binomial_test(1, 3, null_rate=1.0), "null_rate must be a rate in (0, 1)"),
        (lambda: rate_intervals([1, 2], [3]), "same shape"),
        (lambda: rate_intervals([4], [3]), "0 <= k <= n"),
    ],
)
def test_bad_input_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_vectorised_intervals_match_one_at_a_time():
    low, high = rate_intervals([0, 4, 9], [9, 9, 9], 0.9, "exact")
    for i, k in enumerate([0, 4, 9]):
        single = rate_interval(k, 9, 0.9, "exact")
        assert (low[i], high[i]) == pytest.approx((single.low, single.high))


def test_interval_helpers():
    interval = Interval(0.2, 0.5, 0.95, "wilson")
    assert interval.width == pytest.approx(0.3)
    assert interval.contains(0.2) and interval.contains(0.5) and not interval.contains(0.51)


counts = st.integers(min_value=1, max_value=400).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n)))
methods = st.sampled_from(METHODS)


@settings(max_examples=150, deadline=None)
@given(counts, methods, st.floats(min_value=0.5, max_value=0.999))
def test_bounds_within_unit_interval_and_around_the_estimate(kn, method, confidence):
    k, n = kn
    interval = rate_interval(k, n, confidence, method)
    assert 0.0 <= interval.low <= k / n <= interval.high <= 1.0


@settings(max_examples=150, deadline=None)
@given(counts, methods, st.floats(min_value=0.5, max_value=0.99))
def test_bounds_are_monotone_in_k(kn, method, confidence):
    k, n = kn
    if k == n:
        k -= 1
    lower, upper = rate_interval(k, n, confidence, method), rate_interval(k + 1, n, confidence,
                                                                           method)
    assert upper.low >= lower.low - 1e-12
    assert upper.high >= lower.high - 1e-12


@settings(max_examples=150, deadline=None)
@given(counts, methods, st.floats(min_value=0.5, max_value=0.98), st.floats(0.001, 0.019))
def test_higher_confidence_gives_a_wider_nested_interval(kn, method, confidence, step):
    k, n = kn
    narrow = rate_interval(k, n, confidence, method)
    wide = rate_interval(k, n, confidence + step, method)
    assert wide.low <= narrow.low + 1e-12
    assert wide.high >= narrow.high - 1e-12
    assert wide.width >= narrow.width - 1e-12
    assert np.isfinite([wide.low, wide.high]).all()
