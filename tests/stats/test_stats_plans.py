"""Plans: samples needed for a bound, a difference, an interval width; clustered designs."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, samplesize_confint_proportion

from levelhead.stats import (
    rate_interval,
    samples_for_interval_width,
    samples_needed,
    samples_to_detect_difference,
    samples_to_show_below,
    upper_bound,
)


def test_one_percent_at_95_needs_299_clean_samples_rule_of_three_says_300():
    plan = samples_to_show_below(0.01)
    assert plan.independent_samples == 299
    assert plan.total_samples == 299
    assert plan.rule_of_three == 300
    assert plan.allowed_events == 0
    assert upper_bound(0, 299).bound <= 0.01 < upper_bound(0, 298).bound


@pytest.mark.parametrize(("bound", "confidence", "events"),
                         [(0.01, 0.95, 2), (0.05, 0.99, 1), (0.001, 0.9, 5)])
def test_with_a_few_events_the_plan_is_the_smallest_n_whose_exact_bound_fits(bound, confidence,
                                                                              events):
    plan = samples_to_show_below(bound, confidence, events=events)
    n = plan.independent_samples
    assert upper_bound(events, n, confidence).bound <= bound
    assert upper_bound(events, n - 1, confidence).bound > bound
    assert plan.rule_of_three is None


def test_expected_rate_plans_for_power_and_says_how_many_events_may_appear():
    plan = samples_to_show_below(0.05, expected_rate=0.01, power=0.8)
    n, allowed = plan.independent_samples, plan.allowed_events
    assert upper_bound(allowed, n).bound <= 0.05 < upper_bound(allowed + 1, n).bound
    assert plan.achieved_power == pytest.approx(scipy_stats.binom.cdf(allowed, n, 0.01))
    assert plan.achieved_power >= 0.8

    def power(m):
        k = max((j for j in range(m + 1) if upper_bound(j, m).bound <= 0.05), default=-1)
        return scipy_stats.binom.cdf(k, m, 0.01) if k >= 0 else 0.0

    assert all(power(m) < 0.8 for m in range(1, n))  # smallest such n, brute force
    assert samples_to_show_below(0.05, expected_rate=0.0).independent_samples == (
        samples_to_show_below(0.05).independent_samples)


def test_detecting_five_points_from_twenty_percent_matches_statsmodels():
    plan = samples_to_detect_difference(0.05, 0.2)
    effect = proportion_effectsize(0.25, 0.2)
    expected = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8)
    assert plan.independent_samples == math.ceil(expected) == 1092
    assert samples_to_detect_difference(-0.05, 0.25).independent_samples == 1092


def test_paired_plan_matches_the_published_connor_example():
    # Connor (1987, Biometrics 43: 207-211, p. 209), as the powerandsamplesize.com McNemar
    # calculator works it: discordant shares 0.45 and 0.05, so psi = 0.5 and d = 0.4; two-sided
    # alpha 0.05, power 0.8: 23 pairs. By hand: z = 1.95996 and 0.84162;
    # 1.95996 x sqrt(0.5) = 1.95996 x 0.70711 = 1.38590; 0.84162 x sqrt(0.5 - 0.16) = 0.84162 x
    # 0.58310 = 0.49075; (1.38590 + 0.49075)^2 / 0.16 = 1.87665^2 / 0.16 = 3.52181 / 0.16 = 22.01 -> 23.
    assert samples_to_detect_difference(0.4, 0.1, paired=True, discordant_rate=0.5).independent_samples == 23
    assert samples_to_detect_difference(-0.4, 0.5, paired=True, discordant_rate=0.5).independent_samples == 23


def test_paired_plan_gains_with_few_discordant_pairs():
    # 5 points from 20 %, two-sided alpha 0.05, power 0.8, worked by hand:
    # psi = 0.1: 1.95996 x sqrt(0.1) = 1.95996 x 0.31623 = 0.61980; 0.84162 x sqrt(0.1 - 0.0025) =
    #   0.84162 x 0.31225 = 0.26280; (0.61980 + 0.26280)^2 / 0.0025 = 0.88259^2 / 0.0025 =
    #   0.77897 / 0.0025 = 311.59 -> 312 pairs.
    # No pilot: psi = 0.2 x 0.75 + 0.25 x 0.8 = 0.35 (independent outcomes within a pair):
    #   1.95996 x 0.59161 = 1.15953; 0.84162 x sqrt(0.3475) = 0.84162 x 0.58949 = 0.49613;
    #   1.65566^2 / 0.0025 = 2.74121 / 0.0025 = 1096.48 -> 1097, about the unpaired 1,092.
    plan = samples_to_detect_difference(0.05, 0.2, paired=True, discordant_rate=0.1)
    assert plan.independent_samples == 312
    assert samples_to_detect_difference(0.05, 0.2, paired=True).independent_samples == 1097


def test_interval_width_plan_is_the_smallest_n_with_a_narrow_enough_wilson_interval():
    plan = samples_for_interval_width(0.1)
    n = plan.independent_samples
    assert n == 381
    assert rate_interval(n // 2, n).width <= 0.1 + 1e-3
    # Close to the Wald number statsmodels gives (384.1), a bit lower for Wilson.
    assert n == pytest.approx(samplesize_confint_proportion(0.5, 0.05), rel=0.02)
    assert samples_for_interval_width(0.1, rate=0.1).independent_samples < n


def test_clustered_plan_spreads_samples_over_prompts_with_the_design_effect():
    plan = samples_for_interval_width(0.1, prompts=40, icc=0.05)
    m = plan.samples_per_prompt
    assert plan.prompts == 40
    assert plan.design_effect == pytest.approx(1 + (m - 1) * 0.05)
    assert 40 * m / plan.design_effect >= plan.independent_samples
    assert 40 * (m - 1) / (1 + (m - 2) * 0.05) < plan.independent_samples
    assert plan.total_samples == 40 * m
    no_correlation = samples_for_interval_width(0.1, prompts=40, icc=0.0)
    assert no_correlation.samples_per_prompt == math.ceil(381 / 40)


def test_design_effect_given_directly():
    plan = samples_to_show_below(0.01, design_effect=2.0)
    assert plan.total_samples == 598 and plan.prompts is None
    spread = samples_to_show_below(0.01, prompts=30, design_effect=2.0)
    assert (spread.samples_per_prompt, spread.total_samples) == (20, 600)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"icc": 0.1}, "icc needs prompts"),
        ({"prompts": 10}, "prompts needs icc or design_effect"),
        ({"prompts": 10, "icc": 0.1, "design_effect": 2}, "icc or design_effect, not both"),
        ({"prompts": 10, "icc": 0.5}, r"use at least 150 prompts"),
        ({"prompts": 0, "icc": 0.1}, "prompts must be at least 1"),
        ({"prompts": 10, "icc": 1.0}, r"icc must be a rate in \[0, 1\)"),
        ({"design_effect": 0.5}, "design_effect must be a number >= 1"),
    ],
)
def test_clustered_options_that_do_not_fit_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        samples_to_show_below(0.01, **kwargs)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: samples_to_show_below(0.0), r"bound must be a rate in \(0, 1\)"),
        (lambda: samples_to_show_below(0.01, expected_rate=0.02), "must be below the bound"),
        (lambda: samples_to_show_below(0.01, events=1, expected_rate=0.001), "not both"),
        (lambda: samples_to_show_below(0.01, expected_rate=0.0099999), "too close to the bound"),
        (lambda: samples_to_detect_difference(0.0, 0.2), "difference must be non-zero"),
        (lambda: samples_to_detect_difference(0.9, 0.2), "within [0, 1]".replace("[", r"\[")),
        (lambda: samples_to_detect_difference(0.05, 0.2, discordant_rate=0.1), "paired designs"),
        (lambda: samples_to_detect_difference(0.05, 0.2, paired=True, discordant_rate=0.01),
         "at least |difference|".replace("|", r"\|")),
        (lambda: samples_for_interval_width(1.5), r"width must be a rate in \(0, 1\)"),
    ],
)
def test_bad_input_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_samples_needed_dispatches_to_exactly_one_goal():
    assert samples_needed(rate_below=0.01).independent_samples == 299
    assert samples_needed(detect_difference=0.05, baseline_rate=0.2).goal == "detect_difference"
    assert samples_needed(interval_width=0.1, rate=0.3).settings["rate"] == 0.3
    with pytest.raises(ValueError, match="exactly one goal"):
        samples_needed()
    with pytest.raises(ValueError, match="exactly one goal"):
        samples_needed(rate_below=0.01, interval_width=0.1)
    with pytest.raises(ValueError, match="baseline_rate does not apply to rate_below"):
        samples_needed(rate_below=0.01, baseline_rate=0.2)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.001, 0.2), st.floats(0.8, 0.99))
def test_a_smaller_bound_or_higher_confidence_never_needs_fewer_samples(bound, confidence):
    base = samples_to_show_below(bound, confidence).independent_samples
    assert samples_to_show_below(bound / 2, confidence).independent_samples >= base
    assert samples_to_show_below(bound, min(confidence + 0.005, 0.999)).independent_samples >= (
        base)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 500), st.floats(0.0, 0.9))
def test_samples_per_prompt_is_the_fewest_that_reach_the_independent_samples(n, prompts, icc):
    from levelhead.stats._plans import _spread

    if prompts <= n * icc:
        with pytest.raises(ValueError, match="use at least"):
            _spread(n, prompts, icc, None)
        return
    m = _spread(n, prompts, icc, None)["samples_per_prompt"]
    assert prompts * m / (1 + (m - 1) * icc) >= n * (1 - 1e-9)
    if m > 1:
        assert prompts * (m - 1) / (1 + (m - 2) * icc) < n
