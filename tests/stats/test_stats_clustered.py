"""Probe-level rates clustered by prompt."""

import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from levelhead.stats import cluster_bootstrap_interval, clustered_rate, rate_interval

K = np.array([0, 1, 9, 2, 8, 0, 10, 3])
N = np.array([10, 10, 10, 10, 10, 10, 10, 12])


def test_clustered_standard_error_matches_statsmodels_cluster_robust_ols():
    y = np.concatenate([np.r_[np.ones(k), np.zeros(n - k)] for k, n in zip(K, N, strict=True)])
    groups = np.repeat(np.arange(K.size), N)
    fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    result = clustered_rate(K, N)
    assert result.estimate == pytest.approx(fit.params[0], abs=1e-12)
    assert result.se_clustered == pytest.approx(fit.bse[0], abs=1e-9)


def test_prompts_that_differ_make_the_interval_wider_and_the_design_effect_large():
    result = clustered_rate(K, N)
    assert result.design_effect > 3
    assert result.se_ratio == pytest.approx(result.se_clustered / result.se_naive)
    assert result.design_effect == pytest.approx(result.se_ratio ** 2)
    assert result.interval.width > 1.5 * result.naive_interval.width
    assert result.interval.contains(result.estimate)
    assert result.effective_n == pytest.approx(result.n / result.design_effect)
    naive = rate_interval(int(K.sum()), int(N.sum()))
    assert (result.naive_interval.low, result.naive_interval.high) == (naive.low, naive.high)


def test_a_design_effect_below_one_is_kept_not_truncated():
    # Prompts more alike than chance would make them: the data are worth more than n.
    result = clustered_rate([5, 5, 5, 4, 6, 5], [10, 10, 10, 10, 10, 10])
    assert result.design_effect < 1
    assert result.effective_n > result.n


def test_identical_prompts_give_about_the_naive_interval():
    result = clustered_rate([2, 2, 2, 2, 2], [10, 10, 10, 10, 10])
    # No spread between prompts at all: design effect 0, and the interval falls back to the
    # independent-samples n instead of collapsing to width 0.
    assert result.design_effect == pytest.approx(0.0)
    assert result.effective_n == result.n
    assert result.interval.width >= result.naive_interval.width


def test_zero_events_cannot_estimate_a_design_effect_and_say_so():
    result = clustered_rate([0, 0, 0], [20, 20, 20], errors=3, missing=1)
    assert result.design_effect is None and result.se_ratio is None
    assert result.interval.low == 0.0 and result.interval.high > 0.0
    assert (result.errors, result.missing) == (3, 1)


def test_prompts_without_judged_samples_are_left_out():
    with_empty = clustered_rate([1, 0, 3], [5, 0, 5])
    without = clustered_rate([1, 3], [5, 5])
    assert with_empty.prompts == 2
    assert with_empty.interval == without.interval


def test_interval_uses_a_t_quantile_on_prompts_minus_one():
    few = clustered_rate([1, 4], [10, 10])
    many = clustered_rate([1, 4] * 20, [10, 10] * 20)
    assert few.interval.width > 2 * many.interval.width


def test_bootstrap_is_deterministic_under_a_seed_and_close_to_the_analytic_interval():
    first = cluster_bootstrap_interval(K, N, reps=2000, seed=11)
    again = cluster_bootstrap_interval(K, N, reps=2000, seed=11)
    other = cluster_bootstrap_interval(K, N, reps=2000, seed=12)
    assert first == again
    assert first != other
    analytic = clustered_rate(K, N).interval
    assert first.low == pytest.approx(analytic.low, abs=0.08)
    assert first.high == pytest.approx(analytic.high, abs=0.08)
    generator_result = cluster_bootstrap_interval(K, N, reps=500, seed=np.random.default_rng(5))
    assert 0.0 <= generator_result.low < generator_result.high <= 1.0


def test_clustered_rate_can_carry_its_bootstrap():
    result = clustered_rate(K, N, bootstrap_reps=500, seed=1)
    assert result.bootstrap_interval == cluster_bootstrap_interval(K, N, reps=500, seed=1)
    assert clustered_rate(K, N).bootstrap_interval is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: clustered_rate([1], [5]), "at least 2 prompts with judged samples (got 1)"),
        (lambda: clustered_rate([1, 6], [5, 5]), "prompt 1 has k=6, n=5"),
        (lambda: clustered_rate([1, 2], [5]), "one entry per prompt (got 2 and 1)"),
        (lambda: clustered_rate([[1, 2]], [[5, 5]]), "flat sequence of counts"),
        (lambda: clustered_rate([1.5, 2], [5, 5]), "whole numbers >= 0"),
        (lambda: clustered_rate(["a", "b"], [5, 5]), "whole numbers >= 0"),
        (lambda: cluster_bootstrap_interval([1, 2], [5, 5], reps=10), "reps must be"),
        (lambda: clustered_rate([1, 2], [5, 5], 0), "confidence must be between 0 and 1"),
    ],
)
def test_bad_input_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_estimate_is_the_pooled_share_of_bad_replies():
    result = clustered_rate([1, 9], [2, 18])
    assert result.estimate == pytest.approx(10 / 20)
    assert math.isclose(result.k / result.n, result.estimate)


prompt_counts = st.lists(st.integers(1, 30).flatmap(lambda n: st.tuples(st.integers(0, n),
                                                                        st.just(n))),
                         min_size=2, max_size=25)


@settings(max_examples=150, deadline=None)
@given(prompt_counts, st.floats(0.5, 0.98))
def test_clustered_interval_is_in_the_unit_interval_around_the_estimate_and_nested(
        counts, confidence):
    k, n = zip(*counts, strict=True)
    result = clustered_rate(k, n, confidence)
    wider = clustered_rate(k, n, confidence + 0.01)
    assert 0.0 <= result.interval.low <= result.estimate <= result.interval.high <= 1.0
    assert wider.interval.low <= result.interval.low + 1e-12
    assert wider.interval.high >= result.interval.high - 1e-12
