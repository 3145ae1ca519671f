"""Paired comparison of baseline and candidate on the same prompts; many behaviours at once."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as scipy_stats

from levelhead.stats import (
    adjust_p_values,
    clustered_rate,
    mcnemar_exact,
    non_inferiority,
    paired_difference,
)

KB = np.array([1, 5, 0, 8, 2, 3])
NB = np.array([10, 10, 10, 10, 10, 12])
KC = np.array([2, 7, 0, 9, 4, 3])
NC = np.array([10, 10, 10, 10, 11, 10])


def _stacked_ols(kb, nb, kc, nc):
    y, x, groups = [], [], []
    for prompt, (k0, n0, k1, n1) in enumerate(zip(kb, nb, kc, nc, strict=True)):
        for k, n, side in ((k0, n0, 0.0), (k1, n1, 1.0)):
            y += [1.0] * k + [0.0] * (n - k)
            x += [side] * n
            groups += [prompt] * n
    return sm.OLS(np.array(y), sm.add_constant(np.array(x))).fit(
        cov_type="cluster", cov_kwds={"groups": np.array(groups)}), len(y)


def test_difference_and_se_match_statsmodels_cluster_robust_regression():
    fit, samples = _stacked_ols(KB, NB, KC, NC)
    result = paired_difference(KB, NB, KC, NC)
    assert result.estimate == pytest.approx(fit.params[1], abs=1e-12)
    # statsmodels adds the small-sample factor (N - 1) / (N - 2) for its two parameters.
    assert result.se * np.sqrt((samples - 1) / (samples - 2)) == pytest.approx(fit.bse[1],
                                                                               abs=1e-9)
    quantile = scipy_stats.t.ppf(0.975, KB.size - 1)
    assert result.interval.high == pytest.approx(result.estimate + quantile * result.se)
    assert result.p_value == pytest.approx(
        2 * scipy_stats.t.sf(result.estimate / result.se, KB.size - 1))


def test_pairing_by_prompt_beats_comparing_two_separate_rates():
    # Prompts differ a lot, but the candidate is a little worse on each: pairing sees it.
    paired = paired_difference(KB, NB, KC, NC)
    separate = np.hypot(clustered_rate(KB, NB).se_clustered, clustered_rate(KC, NC).se_clustered)
    assert paired.se < separate / 3
    assert paired.interval.low > 0


def test_single_sample_per_prompt_adds_an_exact_mcnemar_test():
    base = [1, 0, 1, 0, 0, 0, 0, 0]
    cand = [0, 1, 1, 1, 1, 1, 1, 1]
    result = paired_difference(base, [1] * 8, cand, [1] * 8)
    assert result.mcnemar is not None
    assert (result.mcnemar.only_baseline, result.mcnemar.only_candidate) == (1, 6)
    assert result.mcnemar.p_value == pytest.approx(scipy_stats.binomtest(1, 7).pvalue)
    assert paired_difference(KB, NB, KC, NC).mcnemar is None


def test_mcnemar_exact_known_value_and_edges():
    # 1 vs 7 discordant pairs: two-sided exact p = 2 * P(X <= 1 | 8, 1/2) = 18/256.
    base = [1] + [0] * 7 + [1, 1, 0, 0]
    cand = [0] + [1] * 7 + [1, 1, 0, 0]
    test = mcnemar_exact(base, cand)
    assert test.p_value == pytest.approx(18 / 256)
    assert test.pairs == 12
    assert mcnemar_exact([1, 0], [1, 0]).p_value == 1.0
    with pytest.raises(ValueError, match="only 0 and 1"):
        mcnemar_exact([1, 2], [0, 0])
    with pytest.raises(ValueError, match="one entry per pair"):
        mcnemar_exact([1], [0, 0])


def test_zero_events_on_both_sides_fall_back_to_exact_marginal_bounds():
    result = paired_difference([0] * 5, [100] * 5, [0] * 5, [100] * 5)
    assert result.se == 0.0
    assert "exact marginals" in result.interval.method
    assert result.interval.low < 0 < result.interval.high
    assert result.interval.high < 0.02  # 500 clean samples a side: no room for 2 points
    assert result.p_value == 1.0


def test_no_spread_but_a_real_difference_is_still_significant():
    # Every prompt: baseline 0 of 50, candidate 10 of 50; the robust SE is 0.
    result = paired_difference([0] * 10, [50] * 10, [10] * 10, [50] * 10)
    assert result.se == 0.0
    assert result.interval.low > 0
    assert result.p_value < 1e-6


def test_unpaired_prompts_are_left_out_and_counted():
    result = paired_difference([1, 2, 0], [5, 5, 0], [1, 3, 2], [5, 5, 5], errors=4, missing=1)
    assert (result.prompts, result.unpaired_prompts) == (2, 1)
    assert (result.baseline_n, result.candidate_n) == (10, 10)
    assert (result.errors, result.missing) == (4, 1)


def test_paired_bootstrap_is_deterministic_and_agrees_with_the_analytic_interval():
    rng = np.random.default_rng(0)
    p = rng.beta(2, 6, size=40)
    kb = rng.binomial(10, p)
    kc = rng.binomial(10, np.clip(p + 0.05, 0, 1))
    n = [10] * 40
    first = paired_difference(kb, n, kc, n, bootstrap_reps=2000, seed=4)
    assert first.bootstrap_interval == paired_difference(kb, n, kc, n, bootstrap_reps=2000,
                                                         seed=4).bootstrap_interval
    assert first.bootstrap_interval.low == pytest.approx(first.interval.low, abs=0.02)
    assert first.bootstrap_interval.high == pytest.approx(first.interval.high, abs=0.02)


def test_non_inferiority_passes_when_the_upper_bound_is_below_the_margin():
    rng = np.random.default_rng(1)
    p = rng.beta(2, 20, size=50)
    k = rng.binomial(40, p)
    same = non_inferiority(k, [40] * 50, rng.binomial(40, p), [40] * 50, margin=0.02)
    assert same.non_inferior
    assert same.p_value < 0.05
    assert same.difference.interval.confidence == pytest.approx(0.90)
    worse = non_inferiority(k, [40] * 50, k + 4, [40] * 50, margin=0.02)
    assert not worse.non_inferior
    assert worse.p_value > 0.5
    assert worse.upper_bound > 0.02


def test_non_inferiority_with_no_events_anywhere_uses_the_exact_bound():
    clean = non_inferiority([0] * 10, [100] * 10, [0] * 10, [100] * 10, margin=0.01)
    assert clean.non_inferior
    assert 0 < clean.p_value < 0.05
    too_few = non_inferiority([0] * 2, [20] * 2, [0] * 2, [20] * 2, margin=0.01)
    assert not too_few.non_inferior
    assert too_few.p_value > 0.05
    hopeless = non_inferiority([0] * 2, [1] * 2, [0] * 2, [1] * 2, margin=0.01)
    assert hopeless.p_value == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin": 0}, "margin must be a rate difference between 0 and 1"),
        ({"margin": 0.01, "alpha": 0.6}, "alpha must be between 0 and 0.5"),
    ],
)
def test_non_inferiority_refuses_nonsense(kwargs, message):
    with pytest.raises(ValueError, match=message):
        non_inferiority(KB, NB, KC, NC, **kwargs)


def test_paired_difference_refuses_mismatched_prompts():
    with pytest.raises(ValueError, match="one entry per prompt, in the same order"):
        paired_difference([1, 2], [5, 5], [1], [5])
    with pytest.raises(ValueError, match="at least 2 prompts with judged samples on both sides"):
        paired_difference([1, 0], [5, 0], [1, 1], [5, 5])


def test_holm_and_benjamini_hochberg_across_behaviours():
    p_values = {"insults": 0.01, "scolding": 0.04, "sycophancy": 0.03}
    holm = adjust_p_values(p_values)
    assert [f.behaviour for f in holm] == ["insults", "scolding", "sycophancy"]
    assert [f.adjusted_p_value for f in holm] == pytest.approx([0.03, 0.06, 0.06])
    assert [f.significant for f in holm] == [True, False, False]
    bh = adjust_p_values(p_values, method="bh")
    assert [f.adjusted_p_value for f in bh] == pytest.approx([0.03, 0.04, 0.04])
    assert all(f.significant for f in bh)
    assert adjust_p_values([0.2, 0.001])[1].behaviour == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([0.1],), {"method": "bonferroni"}, "method must be 'holm' or 'bh'"),
        (([0.1],), {"alpha": 2}, "alpha must be between 0 and 1"),
        (([],), {}, "nothing to adjust"),
        (([1.5],), {}, "every p-value must be between 0 and 1"),
        (([float("nan")],), {}, "every p-value must be between 0 and 1"),
    ],
)
def test_adjust_p_values_refuses_nonsense(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        adjust_p_values(*args, **kwargs)
