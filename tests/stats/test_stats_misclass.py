"""Rates corrected for the judge's measured errors (Rogan-Gladen with a Monte Carlo interval).

The coverage of the corrected interval, over many settings, is checked in
test_stats_coverage.py; here: the arithmetic by hand, what a reader is told, and bad input.
"""

import json

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from levelhead.stats import clustered_rate, corrected_rate, rate, rogan_gladen

# The end-to-end example of docs/statistics.md: a lexicon judge that finds 60 of 100 gold
# abusive replies and flags 2 of 200 clean ones; 252 of 2,000 replies flagged over 10 prompts.
FLAGGED = [26, 25, 27, 24, 26, 25, 28, 24, 25, 22]
JUDGED = [200] * 10
CALIBRATION = {"tp": 60, "fn": 40, "tn": 198, "fp": 2}


def test_rogan_gladen_by_hand():
    # Apparent 12.8 % = 0.6 x 20 % + 0.01 x 80 %: the judge's view of a true 20 %.
    assert rogan_gladen(0.128, 0.6, 0.99) == pytest.approx(0.2, abs=1e-12)
    # A perfect judge changes nothing; below the false-alarm rate the estimate goes negative.
    assert rogan_gladen(0.3, 1.0, 1.0) == pytest.approx(0.3)
    assert rogan_gladen(0.005, 0.6, 0.99) == pytest.approx(-0.005 / 0.59)


@pytest.mark.parametrize(("args", "message"), [
    ((0.1, 0.5, 0.5), "no better than chance"),
    ((0.1, 0.3, 0.6), "no better than chance"),
    ((1.2, 0.9, 0.9), "apparent must be a rate"),
    ((0.1, float("nan"), 0.9), "sensitivity must be a rate"),
])
def test_rogan_gladen_refuses_what_has_no_correction(args, message):
    with pytest.raises(ValueError, match=message):
        rogan_gladen(*args)


def test_the_worked_example_corrects_the_rate_and_names_the_calibration():
    raw = clustered_rate(FLAGGED, JUDGED)
    result = corrected_rate(FLAGGED, JUDGED, **CALIBRATION)
    assert result.apparent == pytest.approx(0.126) and result.k == 252 and result.n == 2000
    assert not raw.interval.contains(0.2)  # the raw interval is about the judge, not the truth
    assert result.estimate == pytest.approx((0.126 + 0.99 - 1) / 0.59)
    assert result.rogan_gladen == result.estimate
    assert result.interval.contains(0.2)
    assert 0.15 < result.ci_low < 0.165 and 0.23 < result.ci_high < 0.245
    assert (result.confidence, result.clipped) == (0.95, 0.0)
    assert result.method.startswith("Rogan-Gladen, Monte Carlo percentile (20,000 draws")
    # The calibration's own numbers are Jeffreys intervals, as statsmodels computes them.
    assert result.sensitivity == 0.6 and result.specificity == 0.99
    assert (result.sensitivity_interval.low, result.sensitivity_interval.high) == pytest.approx(
        proportion_confint(60, 100, 0.05, method="jeffreys"), abs=1e-9)
    assert (result.specificity_interval.low, result.specificity_interval.high) == pytest.approx(
        proportion_confint(198, 200, 0.05, method="jeffreys"), abs=1e-9)
    assert (result.positives, result.negatives, result.prompts) == (100, 200, 10)
    assert result.youden_interval.low > 0.45 and result.informative and result.chance == 0.0
    # Most of the width is the sensitivity's, from only 100 gold abusive replies: said so.
    assert result.calibration_share > 0.9
    assert result.note.startswith("most of this interval's width comes from the judge's "
                                  "calibration")
    assert "sensitivity is 60 % (95 % CI 50.2 % – 69.2 %) from 100 gold replies" in result.note


def test_results_are_reproducible_under_a_seed_and_json_ready():
    a = corrected_rate(FLAGGED, JUDGED, **CALIBRATION)
    assert a == corrected_rate(FLAGGED, JUDGED, **CALIBRATION)  # seed 0 by default
    other = corrected_rate(FLAGGED, JUDGED, **CALIBRATION, seed=np.random.default_rng(9))
    assert other.interval != a.interval
    assert other.interval.low == pytest.approx(a.interval.low, abs=0.003)  # Monte Carlo error
    payload = json.loads(json.dumps(a.to_dict()))
    assert payload["interval"]["low"] == a.ci_low and payload["note"] == a.note


def test_a_perfect_judge_gives_back_the_raw_interval():
    # With sensitivity and specificity known to be ~1, the only noise left is the run's own:
    # the corrected interval is the raw clustered one, clustering included (within a point or
    # so: a Jeffreys posterior on the effective n, where the raw interval is Wilson's).
    perfect = {"tp": 100_000, "fn": 0, "tn": 100_000, "fp": 0}
    k, n = [0, 0, 1, 0, 6, 0, 0, 2, 0, 7], [10] * 10
    raw = clustered_rate(k, n).interval
    result = corrected_rate(k, n, **perfect, draws=100_000)
    assert result.effective_n < 100  # the design effect of 5.3 and a t on 9 df carried over
    assert (result.ci_low, result.ci_high) == pytest.approx((raw.low, raw.high), abs=0.015)
    # One prompt: no clustering, the Jeffreys interval of k of n.
    one = corrected_rate([12], [80], **perfect, draws=100_000)
    jeffreys = rate(12, 80, method="jeffreys").interval
    assert one.prompts == 1 and one.effective_n == 80
    assert (one.ci_low, one.ci_high) == pytest.approx((jeffreys.low, jeffreys.high), abs=0.005)
    assert "on n)" in one.method and "clustered effective n" in result.method


@pytest.mark.parametrize(("counts", "why"), [
    ({"tp": 0, "fn": 0, "tn": 95, "fp": 5}, "no gold replies with this label, so the judge's "
                                             "sensitivity is unknown"),
    ({"tp": 45, "fn": 5, "tn": 0, "fp": 0}, "no gold replies without this label, so the judge's "
                                             "specificity is unknown"),
    # 6 of 10 found, 6 of 10 clean: a judge barely better than chance on a tiny calibration.
    ({"tp": 6, "fn": 4, "tn": 6, "fp": 4}, "cannot rule out a judge no better than chance"),
    # Worse than chance on its calibration: no Rogan-Gladen estimate at all.
    ({"tp": 3, "fn": 7, "tn": 5, "fp": 5}, "cannot rule out a judge no better than chance"),
])
def test_a_calibration_that_cannot_tell_says_uninformative_and_spans_everything(counts, why):
    result = corrected_rate([10, 12], [100, 100], **counts)
    assert not result.informative
    assert result.estimate is None and (result.ci_low, result.ci_high) == (0.0, 1.0)
    assert result.note.startswith("uninformative: ") and why in result.note
    assert result.calibration_share is None
    if counts["tp"] == 3:
        assert result.rogan_gladen is None and result.chance > 0.5


def test_draws_where_the_judge_is_at_chance_widen_the_interval():
    # A small calibration whose sensitivity + specificity - 1 is rarely <= 0: those draws are
    # counted against both ends, so the interval is wider than the percentiles of the rest.
    result = corrected_rate([30, 35], [100, 100], tp=14, fn=6, tn=14, fp=6)
    assert 0 < result.chance < 0.025 and result.informative
    assert result.ci_high - result.ci_low > 0.5


def test_clipping_is_counted_and_explained():
    # Nothing flagged: the judge's false alarms could explain it all; half the draws fall
    # below 0 and are set to 0, the low end is 0.
    none = corrected_rate([0, 0], [100, 100], tp=90, fn=10, tn=900, fp=100)
    assert none.estimate == 0.0 and none.rogan_gladen == pytest.approx(-0.125)
    assert none.ci_low == 0.0 and none.ci_high > 0 and none.clipped_low > 0.5
    assert "the Rogan-Gladen estimate, -12.5 %, lies outside [0, 1] and is reported as 0 %" in none.note
    assert "of the draws fell below 0" in none.note and "set to 0" in none.note
    # Everything flagged: the same at the top.
    every = corrected_rate([100, 100], [100, 100], tp=90, fn=10, tn=900, fp=100)
    assert every.estimate == 1.0 and every.ci_high == 1.0 and every.clipped_high > 0.5
    assert "rose above 1 and were set to 1" in every.note
    # Far below what the false alarms alone give: the calibration does not fit the run.
    misfit = corrected_rate([1, 0, 2, 0, 1], [100] * 5, tp=30, fn=20, tn=45, fp=5)
    assert misfit.clipped_low > 0.975 and (misfit.ci_low, misfit.ci_high) == (0.0, 0.0)
    assert "the calibration may not fit this run" in misfit.note
    assert "1 − specificity = 10 %" in misfit.note
    rare = corrected_rate([0] * 10, [500] * 10, tp=90, fn=10, tn=1990, fp=10)
    assert "1 − specificity = 0.5 %" in rare.note


def test_the_note_names_the_specificity_when_it_is_the_weak_part():
    # A rare behaviour and a specificity from only 50 clean gold replies: false alarms dominate.
    result = corrected_rate([12, 10, 14, 12], [250] * 4, tp=4950, fn=50, tn=49, fp=1)
    assert result.informative and result.calibration_share > 0.5
    assert "its specificity is 98 %" in result.note and "from 50 gold replies without it" in result.note
    # A big calibration leaves the width to sampling: nothing to say.
    quiet = corrected_rate([30, 20, 40, 30], [250] * 4, tp=4950, fn=50, tn=49_500, fp=500)
    assert quiet.calibration_share < 0.5 and quiet.note == ""


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"draws": 999}, "draws must be a whole number >= 1000"),
    ({"draws": True}, "draws must be a whole number"),
    ({"tp": -1}, "tp must be a whole number >= 0"),
    ({"confidence": 1.5}, "confidence must be between 0 and 1"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        corrected_rate([1, 2], [10, 10], **{**CALIBRATION, **kwargs})


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="k must be between 0 and n"):
        corrected_rate([11], [10], **CALIBRATION)
    with pytest.raises(ValueError, match="no judged sample"):
        corrected_rate([0, 0], [0, 0], **CALIBRATION)
