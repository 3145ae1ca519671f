"""Coverage by simulation: with known truth, does each 95 % interval cover it 95 % of the time?

Every test is seeded, so it is deterministic. With 2,000 simulated audits the Monte Carlo standard
error of a coverage near 95 % is sqrt(0.95 * 0.05 / 2000) = 0.49 points, so the acceptance band
93-97 % is about four standard errors wide on each side: a correct interval passes, one that is
off by a few points (like the naive interval on clustered data, at 75-80 %) fails.
"""

import math

import numpy as np
import pytest

from levelhead.stats import (
    binomial_test,
    clustered_rate,
    corrected_rate,
    forced_choice,
    mirrored_asymmetry,
    paired_difference,
    still_civil_curve,
)
from levelhead.stats._rates import rate_intervals
from levelhead.stats._tails import tail_by_prompt

AUDITS = 2000
LOW, HIGH = 0.93, 0.97


def _beta_with(mean, icc):
    """Beta parameters for prompt rates with this mean and intra-prompt correlation."""
    scale = (1 - icc) / icc
    return mean * scale, (1 - mean) * scale


@pytest.mark.parametrize("method", ["wilson", "exact", "jeffreys"])
def test_rate_intervals_cover_the_true_rate(method):
    # A fresh n and true rate for every audit, so no single lucky (n, p) decides the result.
    rng = np.random.default_rng(20240601)
    n = rng.integers(50, 401, size=AUDITS * 2)
    p = rng.uniform(0.02, 0.5, size=AUDITS * 2)
    k = rng.binomial(n, p)
    low, high = rate_intervals(k, n, 0.95, method)
    coverage = np.mean((low <= p) & (p <= high))
    assert LOW <= coverage <= HIGH, coverage


def test_exact_upper_bound_covers_and_is_conservative_only_where_events_are_few():
    # One-sided exact (Clopper-Pearson) bounds never under-cover. With a handful of events the
    # binomial's steps make them conservative (97-99 %): the price of a bound that is exact.
    # With tens of events they sit in the usual band.
    rng = np.random.default_rng(7)
    n = rng.integers(300, 3001, size=AUDITS)
    rare = rng.uniform(0.0005, 0.005, size=AUDITS)
    k = rng.binomial(n, rare)
    tails = tail_by_prompt(k, n, future_draws=100)
    bounds = np.array([t.upper_bound for t in tails])
    future = np.array([t.p_any_future_upper for t in tails])
    assert np.mean(k == 0) > 0.05  # zero events happen: the regime the bound is for
    assert 0.95 - 0.01 <= np.mean(bounds >= rare) <= 0.99
    # The same bound, pushed through P(at least one bad reply in 100 draws), covers as often.
    assert np.mean(future >= 1 - (1 - rare) ** 100) == pytest.approx(np.mean(bounds >= rare))

    common = rng.uniform(0.02, 0.3, size=AUDITS)
    k = rng.binomial(n, common)
    bounds = np.array([t.upper_bound for t in tail_by_prompt(k, n)])
    assert LOW <= np.mean(bounds >= common) <= HIGH


def _simulate_clustered(rng, prompts, mean, icc):
    a, b = _beta_with(mean, icc)
    p = rng.beta(a, b, size=prompts)
    n = rng.integers(5, 16, size=prompts)  # unequal samples per prompt
    return rng.binomial(n, p), n


def test_clustered_interval_covers_when_prompts_differ_and_naive_does_not():
    rng = np.random.default_rng(11)
    clustered = naive = 0
    for _ in range(AUDITS):
        k, n = _simulate_clustered(rng, prompts=30, mean=0.25, icc=0.15)
        result = clustered_rate(k, n)
        clustered += result.interval.contains(0.25)
        naive += result.naive_interval.contains(0.25)
    assert LOW <= clustered / AUDITS <= HIGH
    assert naive / AUDITS < 0.88  # treating samples as independent overstates what we know


def test_clustered_interval_is_not_too_wide_when_prompts_are_alike():
    rng = np.random.default_rng(12)
    covered = 0
    for _ in range(AUDITS):
        k, n = _simulate_clustered(rng, prompts=30, mean=0.25, icc=0.001)
        covered += clustered_rate(k, n).interval.contains(0.25)
    assert LOW <= covered / AUDITS <= HIGH


def test_cluster_bootstrap_covers_when_prompts_differ():
    # Full size: the bootstrap is vectorised over replicates, 2,000 audits x 1,000 reps ~ 2 s.
    rng = np.random.default_rng(13)
    covered = 0
    for _ in range(AUDITS):
        k, n = _simulate_clustered(rng, prompts=30, mean=0.25, icc=0.15)
        result = clustered_rate(k, n, bootstrap_reps=1000, seed=rng)
        covered += result.bootstrap_interval.contains(0.25)
    assert LOW <= covered / AUDITS <= HIGH


def test_paired_difference_covers_the_true_difference():
    # Prompt rates vary a lot; the candidate is 5 points worse on every prompt, so the true
    # difference is exactly 0.05. The bootstrap runs on the first half of the audits only
    # (1,000 audits: Monte Carlo SE 0.69 points, the band is still about 3 SE each side).
    rng = np.random.default_rng(14)
    analytic = bootstrap = 0
    for audit in range(AUDITS):
        p = rng.beta(2, 6, size=40) * 0.9
        kb, kc = rng.binomial(10, p), rng.binomial(10, p + 0.05)
        with_bootstrap = audit < AUDITS // 2
        result = paired_difference(kb, [10] * 40, kc, [10] * 40,
                                   bootstrap_reps=1000 if with_bootstrap else 0, seed=rng)
        analytic += result.interval.contains(0.05)
        if with_bootstrap:
            bootstrap += result.bootstrap_interval.contains(0.05)
    assert LOW <= analytic / AUDITS <= HIGH
    assert LOW <= bootstrap / (AUDITS // 2) <= HIGH


def test_forced_choice_intervals_cover_all_three_shares_at_once():
    rng = np.random.default_rng(15)
    truth = np.array([0.55, 0.35, 0.10])
    covered = 0
    for _ in range(AUDITS):
        counts = rng.multinomial(rng.integers(60, 301), truth)
        choices = ["A"] * counts[0] + ["B"] * counts[1] + ["decline"] * counts[2]
        result = forced_choice(choices)
        intervals = (result.a_interval, result.b_interval, result.decline_interval)
        covered += all(i.contains(t) for i, t in zip(intervals, truth, strict=True))
    assert LOW <= covered / AUDITS <= HIGH


def test_mirrored_length_interval_covers_with_skewed_lengths():
    rng = np.random.default_rng(16)
    # Lengths are log-normal; side A runs ~10 % longer. True mean difference in closed form:
    true = np.exp(5 + 0.125) * (np.exp(0.1 + 0.045) - np.exp(0.045))
    covered = 0
    for _ in range(AUDITS):
        base = rng.lognormal(5, 0.5, size=40)
        a = base * rng.lognormal(0.1, 0.3, size=40)
        b = base * rng.lognormal(0.0, 0.3, size=40)
        covered += mirrored_asymmetry(a, b, feature="length").interval.contains(true)
    assert LOW <= covered / AUDITS <= HIGH


def test_still_civil_curve_covers_the_true_survival_with_censoring():
    rng = np.random.default_rng(17)
    hazard = 0.08
    covered_3 = covered_6 = 0
    for _ in range(AUDITS):
        turned_bad_at = rng.geometric(hazard, size=150)
        last_turn = rng.integers(1, 11, size=150)  # conversations end at random turns
        curve = still_civil_curve(np.minimum(turned_bad_at, last_turn),
                                  turned_bad_at <= last_turn)
        covered_3 += curve.rows[2].interval.contains((1 - hazard) ** 3)
        covered_6 += curve.rows[5].interval.contains((1 - hazard) ** 6)
    assert LOW <= covered_3 / AUDITS <= HIGH
    assert LOW <= covered_6 / AUDITS <= HIGH


# Judges as they come: a lexicon that misses 40 % of what it should find and false-alarms on 10 %,
# a decent classifier, a near-perfect rule; behaviours from rare to even.
_JUDGES = ((0.6, 0.9), (0.8, 0.99), (0.99, 0.999))
_PREVALENCES = (0.02, 0.1, 0.25, 0.5)
_PER_SETTING = 170  # 12 settings x 170 = 2,040 audits: Monte Carlo SE 1.7 points per setting


def _corrected_audit(rng, prevalence, sensitivity, specificity):
    """One audit with a known truth: 30-60 prompts whose true rates vary (ICC 0.02), 500-5,000
    samples, judged by an imperfect judge; a calibration of 50-500 gold replies with the label
    and 50-500 without. Returns (corrected covers, raw clustered covers)."""
    prompts = int(rng.integers(30, 61))
    per_prompt = int(rng.integers(500, 5001)) // prompts
    truly = rng.binomial(per_prompt, rng.beta(*_beta_with(prevalence, 0.02), size=prompts))
    flagged = (rng.binomial(truly, sensitivity)
               + rng.binomial(per_prompt - truly, 1 - specificity))
    judged = np.full(prompts, per_prompt)
    positives, negatives = (int(x) for x in rng.integers(50, 501, size=2))
    tp, tn = rng.binomial(positives, sensitivity), rng.binomial(negatives, specificity)
    corrected = corrected_rate(flagged, judged, tp=tp, fn=positives - tp, tn=tn,
                               fp=negatives - tn, draws=4000, seed=rng)
    return (corrected.interval.contains(prevalence),
            clustered_rate(flagged, judged).interval.contains(prevalence))


def test_corrected_interval_covers_the_true_rate_where_the_raw_one_misses():
    # The judge's errors move the raw rate away from the truth (a judge with sensitivity 0.6
    # sees 0.6 x 50 % + 0.1 x 50 % = 35 % of a true 50 %), and no number of samples brings it
    # back. The corrected interval, carrying sampling and calibration uncertainty, covers.
    rng = np.random.default_rng(2024)
    corrected, raw = {}, {}
    for prevalence in _PREVALENCES:
        for sensitivity, specificity in _JUDGES:
            hits = np.array([_corrected_audit(rng, prevalence, sensitivity, specificity)
                             for _ in range(_PER_SETTING)])
            key = (prevalence, sensitivity, specificity)
            corrected[key], raw[key] = hits.mean(axis=0)
    for key in corrected:
        print(f"prevalence {key[0]:.2f}, se {key[1]}, sp {key[2]}: corrected "
              f"{corrected[key]:.3f}, raw {raw[key]:.3f}")
    aggregate = float(np.mean(list(corrected.values())))
    print(f"aggregate corrected coverage {aggregate:.4f} over {len(corrected) * _PER_SETTING} "
          f"audits; lowest setting {min(corrected.values()):.3f}")
    assert LOW <= aggregate <= HIGH
    assert min(corrected.values()) >= 0.9
    # The raw interval speaks about the judge's verdicts: with sensitivity 0.6 it misses badly.
    assert raw[(0.1, 0.6, 0.9)] < 0.05 and raw[(0.5, 0.6, 0.9)] < 0.05


def test_binomial_test_of_a_fair_choice_rejects_what_binomial_tables_say():
    # Not an interval, but the same promise: a 5 % test of a fair choice is wrong <= 5 % of the
    # time. levelhead's own test, on every possible outcome of 30 picks, without simulation:
    # P(X <= 9) = sum of C(30, j), j = 0..9, over 2^30 = 22,964,087 / 1,073,741,824 = 0.021387, so
    # k = 9 has p = 0.042774 and is rejected; P(X <= 10) = 53,009,102 / 2^30 = 0.049369 doubles to
    # 0.098737, so k = 10 is not. By symmetry it rejects k <= 9 and k >= 21, and its exact level
    # is 2 x 0.021387 = 0.042774.
    rejected = [k for k in range(31) if binomial_test(k, 30).p_value <= 0.05]
    assert rejected == [*range(10), *range(21, 31)]
    assert binomial_test(9, 30).p_value == pytest.approx(0.042774, abs=1e-6)
    assert binomial_test(10, 30).p_value == pytest.approx(0.098737, abs=1e-6)
    level = sum(math.comb(30, k) for k in rejected) / 2 ** 30
    assert level == pytest.approx(0.042774, abs=1e-6)


@pytest.mark.parametrize(("n", "null_rate", "floor"), [(30, 0.5, 0.04), (40, 0.2, 0.04), (25, 0.1, 0.03),
                                                       (100, 0.05, 0.03), (60, 0.7, 0.04)])
def test_binomial_test_level_is_at_most_five_percent_and_not_far_below(n, null_rate, floor):
    # The exact level of levelhead's test: the probability, under the null, of every outcome it
    # rejects, summed from the binomial distribution enumerated with math.comb (neither scipy nor
    # a simulation). A valid exact test stays at or below 5 %; the floor (just under the level
    # measured: 0.0428, 0.0479, 0.0334, 0.0341, 0.0490) catches a test that became conservative.
    level = sum(math.comb(n, k) * null_rate ** k * (1 - null_rate) ** (n - k)
                for k in range(n + 1) if binomial_test(k, n, null_rate).p_value <= 0.05)
    assert floor <= level <= 0.05
