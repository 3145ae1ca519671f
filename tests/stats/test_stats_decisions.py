"""The release gate's decisions: one-sided bounds, the p-value of "the rule is broken", and how
many samples would decide — checked against hand-worked numbers and the functions they rest on."""

import math

import pytest
from scipy import stats as scipy_stats

from levelhead.stats import (
    clustered_rate,
    interval_violation_p,
    one_sided_bounds,
    rate,
    samples_to_decide_bound,
    samples_to_resolve,
    samples_to_show_below,
    samples_without_events,
    violation_p_value,
)


def test_no_event_gives_the_exact_one_sided_bound():
    b = one_sided_bounds([0, 0, 0], [20, 20, 19], 0.95)
    assert b.low == 0.0
    assert b.high == pytest.approx(1 - 0.05 ** (1 / 59))  # about 5 % on 59 samples
    assert b.method == "exact (Clopper-Pearson)" and b.design_effect is None


def test_every_sample_with_the_label_mirrors_the_exact_bound():
    b = one_sided_bounds([10, 10], [10, 10], 0.95)
    assert b.high == 1.0 and b.low == pytest.approx(0.05 ** (1 / 20))


def test_several_prompts_are_clustered_at_two_sided_2c_minus_1():
    b = one_sided_bounds([1, 2, 3], [10, 10, 10], 0.95)
    r = clustered_rate([1, 2, 3], [10, 10, 10], 2 * 0.95 - 1)
    assert (b.low, b.high) == (r.interval.low, r.interval.high)
    assert b.method.startswith("clustered by prompt") and b.design_effect == r.design_effect
    assert b.to_dict()["confidence"] == 0.95


def test_one_prompt_is_exact():
    b = one_sided_bounds([3, 0], [10, 0], 0.95)
    r = rate(3, 10, 2 * 0.95 - 1, "exact")
    assert (b.low, b.high, b.method) == (r.interval.low, r.interval.high, "exact (one prompt)")


def test_violation_p_value_finds_the_level_where_the_evidence_turns():
    assert violation_p_value(lambda a: a > 0.2) == pytest.approx(0.2, abs=1e-9)
    assert violation_p_value(lambda a: False) == 1.0  # not shown even at 0.5
    assert violation_p_value(lambda a: True) == 1e-15  # shown at every level


def test_samples_to_decide_a_bound_below_and_above():
    below = samples_to_decide_bound(0.05, 0.01, 0.95, power=0.8)
    assert below == samples_to_show_below(0.05, 0.95, expected_rate=0.01, power=0.8)
    above = samples_to_decide_bound(0.1, 0.2, 0.95, power=0.8, prompts=10, design_effect=2.0)
    assert above == samples_to_show_below(0.9, 0.95, expected_rate=0.8, power=0.8, prompts=10,
                                          design_effect=2.0)
    # Without prompts the design effect is not used: an unclustered plan.
    assert samples_to_decide_bound(0.1, 0.2, design_effect=2.0) == samples_to_show_below(
        0.9, expected_rate=0.8)
    with pytest.raises(ValueError, match="sits on the bound"):
        samples_to_decide_bound(0.1, 0.1)


def test_samples_to_resolve_scales_the_width_as_one_over_root_n():
    z, zp = scipy_stats.norm.ppf(0.95), scipy_stats.norm.ppf(0.8)
    # se 0.05 on 100 samples, a gap of 0.05: n * ((z + zp) * se / gap)^2 = 100 * 6.18 = 619.
    needed = samples_to_resolve(100, 0.05 * z, 0.05, 0.95, power=0.8)
    assert needed == math.ceil(100 * (z + zp) ** 2) == 619
    with pytest.raises(ValueError, match="sits on the bound"):
        samples_to_resolve(100, 0.1, 0.0, 0.95)
    with pytest.raises(ValueError, match="no spread"):
        samples_to_resolve(100, 0.0, 0.05, 0.95)
    with pytest.raises(ValueError, match="no spread"):
        samples_to_resolve(100, 0.1, 0.05, 0.5)  # z = 0: no width to speak of
    with pytest.raises(ValueError, match="billion"):
        samples_to_resolve(100, 0.1, 1e-6, 0.95)


def test_samples_without_events_shrink_the_bound_as_one_over_n():
    assert samples_without_events(100, 0.03, 0.01) == 300


def test_interval_violation_p_reads_the_normal_tail():
    z = scipy_stats.norm.ppf(0.975)
    half = 0.05 * z  # se 0.05
    # A maximum of 0.2: an estimate of 0.3 is two standard errors above it.
    assert interval_violation_p(0.3, half, 0.2, 0.975, upper=True) == pytest.approx(
        scipy_stats.norm.sf(2))
    assert interval_violation_p(0.1, half, 0.2, 0.975, upper=True) == pytest.approx(
        scipy_stats.norm.sf(-2))
    # A minimum of 0.2: an estimate of 0.1 is two standard errors below it.
    assert interval_violation_p(0.1, half, 0.2, 0.975, upper=False) == pytest.approx(
        scipy_stats.norm.sf(2))
    # No width: the estimate alone says it.
    assert interval_violation_p(0.3, 0.0, 0.2, 0.975, upper=True) == 0.0
    assert interval_violation_p(0.1, 0.0, 0.2, 0.975, upper=True) == 1.0
    assert interval_violation_p(0.1, 0.0, 0.2, 0.975, upper=False) == 0.0
