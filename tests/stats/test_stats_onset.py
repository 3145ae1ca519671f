"""Onset of the hazard (change point) and early vs late pooled hazards."""

import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep

from levelhead.stats import early_late_hazard, hazard_onset, still_civil_curve


def _simulate(seed, conversations, turns, hazard):
    """Conversations of ``turns`` turns; at turn t each civil one turns bad with hazard(t)."""
    rng = np.random.default_rng(seed)
    per_turn = np.array([hazard(t) for t in range(1, turns + 1)])
    hits = rng.random((conversations, turns)) < per_turn
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, turns + 1)
    return np.minimum(first, turns), first <= turns


def _planted(turn):
    return 0.05 if turn >= 8 else 0.0


PLANTED = _simulate(1, 1000, 20, _planted)

# Four conversations, worked by hand: two turn bad at turn 3, one is civil to turn 3, one to 2.
# At risk per turn 4, 4, 3; events 0, 0, 2. Constant hazard 2/11.
# Onset 2: before 0/4, after 2/7. Onset 3: before 0/8, after 2/3 (the better fit).
HAND_TURNS = np.array([3, 3, 3, 2])
HAND_BAD = np.array([1, 1, 0, 0], dtype=bool)


def _loglik(k, n):
    return sum(x * math.log(x / n) for x in (k, n - k) if x)


# --- hazard_onset --------------------------------------------------------------------------


def test_planted_onset_is_found_and_the_hazard_rises():
    result = hazard_onset(*PLANTED)
    assert abs(result.onset - 8) <= 2
    assert result.onset_interval.contains(8)
    assert result.onset_interval.method.startswith("bootstrap over conversations")
    assert result.rises
    assert result.p_value <= 0.01
    assert result.before.estimate < 0.005
    assert result.after.interval.contains(0.05)
    assert result.conversations == 1000 and result.turned_bad == PLANTED[1].sum()


def test_onset_of_a_hazard_rising_five_points_per_turn():
    turns, bad = _simulate(3, 1000, 20, lambda t: 0.0 if t < 8 else min(1.0, 0.05 * (t - 7)))
    result = hazard_onset(turns, bad, seed=4)
    assert abs(result.onset - 8) <= 2 and result.onset_interval.contains(8)
    assert result.rises and result.after.estimate > result.before.estimate


def test_flat_hazard_rarely_rises():
    found = [hazard_onset(*_simulate(100 + seed, 1000, 20, lambda t: 0.02), seed=seed).rises
             for seed in range(20)]
    assert sum(found) <= 3


def test_p_value_holds_its_level_although_the_onset_is_chosen():
    # Flat hazard: the bootstrap p-value rejects about 5 % of the time; the chi-square(1)
    # reference, blind to the search over onsets, would reject several times as often.
    p_values, naive = [], []
    for seed in range(100):
        result = hazard_onset(*_simulate(1000 + seed, 300, 15, lambda t: 0.02), bootstrap=200,
                              seed=seed)
        p_values.append(result.p_value)
        naive.append(scipy_stats.chi2.sf(result.lr_statistic, 1))
    assert 0.01 <= np.mean(np.array(p_values) < 0.05) <= 0.10
    assert np.mean(np.array(naive) < 0.05) > 0.2


def test_hand_computed_four_conversations():
    result = hazard_onset(HAND_TURNS, HAND_BAD)
    assert result.onset == 3
    assert (result.before.k, result.before.n) == (0, 8)
    assert (result.after.k, result.after.n) == (2, 3)
    assert (result.constant.k, result.constant.n) == (2, 11)
    assert _loglik(2, 3) > _loglik(2, 7)  # onset 3 beats onset 2
    assert result.lr_statistic == pytest.approx(2 * (_loglik(2, 3) - _loglik(2, 11)))
    assert result.lr_statistic == pytest.approx(6.611979877503547)
    # Exact one-sided bound: P(at most 2 events in 11 steps | upper) = 5 %.
    assert scipy_stats.binom.cdf(2, 11, result.constant_upper) == pytest.approx(0.05)
    assert 0 < result.p_value <= 1 and result.onset_interval.contains(3)
    assert result.method.startswith("parametric bootstrap")


def test_hazards_match_the_per_turn_counts_of_the_civility_curve():
    curve = still_civil_curve(*PLANTED)
    result = hazard_onset(*PLANTED)
    cut = result.onset - 1
    assert result.before.k == sum(row.events for row in curve.rows[:cut])
    assert result.before.n == sum(row.at_risk for row in curve.rows[:cut])
    assert result.after.n == sum(row.at_risk for row in curve.rows[cut:])


def test_same_seed_same_result_and_a_generator_is_accepted():
    first = hazard_onset(HAND_TURNS, HAND_BAD, seed=7)
    assert first == hazard_onset(HAND_TURNS, HAND_BAD, seed=7)
    assert hazard_onset(HAND_TURNS, HAND_BAD, seed=np.random.default_rng(7)) == first


def test_no_event_gives_no_onset_and_an_upper_bound():
    result = hazard_onset([5, 5, 5, 5], [0, 0, 0, 0], errors=2, missing=1)
    assert result.onset is None and result.onset_interval is None
    assert result.before is None and result.after is None
    assert (result.p_value, result.rises, result.lr_statistic) == (1.0, False, 0.0)
    assert result.constant_upper == pytest.approx(1 - 0.05 ** (1 / 20))
    assert "no event" in result.method
    assert (result.errors, result.missing) == (2, 1)


def test_single_turn_or_onset_beyond_the_data_has_nothing_to_test():
    single = hazard_onset([1, 1, 1], [1, 0, 1])
    assert single.onset is None and single.p_value == 1.0 and not single.rises
    assert single.constant.estimate == pytest.approx(2 / 3)
    assert "turn 2" in single.method
    assert hazard_onset([1, 1], [1, 1]).constant_upper == 1.0
    assert hazard_onset(HAND_TURNS, HAND_BAD, min_turn=4).onset is None


def test_all_events_at_one_turn():
    # A spike at turn 5 is not an onset: the best change is the drop after it.
    spike = hazard_onset([5] * 10 + [10] * 90, [1] * 10 + [0] * 90)
    assert spike.onset == 6 and not spike.rises
    assert spike.after.k == 0 and spike.before.estimate == pytest.approx(10 / 500)
    # Events only at the last turn: the onset is that turn and the hazard rises.
    late = hazard_onset([20] * 100, [1] * 10 + [0] * 90)
    assert late.onset == 20 and late.rises
    assert (late.after.k, late.after.n, late.before.n) == (10, 100, 1900)


def test_onset_interval_spans_the_range_when_resamples_lose_the_only_event():
    result = hazard_onset([7] * 50, [1] + [0] * 49)
    assert (result.onset_interval.low, result.onset_interval.high) == (2, 7)
    assert not result.rises


def test_two_thousand_conversations_of_fifty_turns():
    # (Its speed is measured in bench/bench_pressure.py, not here.)
    turns, bad = _simulate(5, 2000, 50, _planted)
    result = hazard_onset(turns, bad)
    assert result.onset == 8 and result.rises


def test_result_is_json():
    payload = json.loads(json.dumps(hazard_onset(HAND_TURNS, HAND_BAD).to_dict()))
    assert payload["onset"] == 3 and payload["after"]["k"] == 2
    payload = json.loads(json.dumps(early_late_hazard(HAND_TURNS, HAND_BAD, 3).to_dict()))
    assert payload["ratio"] is None and payload["test"] == "fisher exact"


# --- early_late_hazard ---------------------------------------------------------------------


def test_planted_data_grow_late_and_the_interval_holds_the_truth():
    result = early_late_hazard(*PLANTED, split=8)
    assert result.grows and result.p_value < 1e-10
    assert result.early.k == 0 and result.ratio is None
    assert result.difference_interval.contains(0.05)
    assert result.test == "score z-test (pooled)"


def test_background_hazard_gives_a_ratio():
    turns, bad = _simulate(9, 1000, 20, lambda t: 0.01 if t < 8 else 0.05)
    result = early_late_hazard(turns, bad, 8)
    assert result.grows and result.difference_interval.contains(0.04)
    assert result.ratio == pytest.approx(result.late.estimate / result.early.estimate)
    assert 2 < result.ratio < 10


def test_flat_hazard_does_not_grow():
    result = early_late_hazard(*_simulate(11, 1000, 20, lambda t: 0.02), split=8)
    assert not result.grows and result.p_value > 0.05
    assert result.difference_interval.contains(0.0)


def test_hand_computed_small_example_uses_fisher_and_newcombe():
    result = early_late_hazard(HAND_TURNS, HAND_BAD, 3, errors=1, missing=2)
    assert (result.early.k, result.early.n, result.late.k, result.late.n) == (0, 8, 2, 3)
    assert result.difference == pytest.approx(2 / 3)
    # Fisher, table [[2, 1], [0, 8]]: only the observed table is as unlikely, P = C(3,2)/C(11,2).
    assert result.test == "fisher exact"
    assert result.p_value == pytest.approx(3 / 55)
    low, high = confint_proportions_2indep(2, 3, 0, 8, method="newcomb")
    assert result.difference_interval.low == pytest.approx(low)
    assert result.difference_interval.high == pytest.approx(high)
    assert result.difference_interval.method == "newcombe hybrid score"
    assert result.ratio is None and result.grows
    assert (result.conversations, result.turned_bad, result.errors, result.missing) == (4, 2, 1, 2)


def test_hand_computed_score_test():
    # 200 conversations observed to turn 4; 10 turn bad at turn 1, 20 at turn 3.
    # At risk 200, 190, 190, 170. Early (turns 1-2): 10 of 390 steps; late: 20 of 360.
    turns = [1] * 10 + [3] * 20 + [4] * 170
    bad = [1] * 30 + [0] * 170
    result = early_late_hazard(turns, bad, 3)
    assert (result.early.k, result.early.n, result.late.k, result.late.n) == (10, 390, 20, 360)
    difference = 20 / 360 - 10 / 390
    z = difference / math.sqrt(0.04 * 0.96 * (1 / 360 + 1 / 390))
    assert result.test == "score z-test (pooled)"
    assert result.p_value == pytest.approx(2 * scipy_stats.norm.sf(z))
    assert result.ratio == pytest.approx(780 / 360)
    low, high = confint_proportions_2indep(20, 360, 10, 390, method="newcomb")
    assert (result.difference_interval.low, result.difference_interval.high) == pytest.approx(
        (low, high))
    assert result.grows == (low > 0)


def test_no_event_early_or_late():
    result = early_late_hazard([4, 4, 4], [0, 0, 0], 2)
    assert result.p_value == 1.0 and not result.grows and result.ratio is None
    assert result.difference == 0.0


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turns", "bad", "message"),
    [
        ([1, 2], [1], "one entry per conversation"),
        ([], [], "no conversations"),
        ([0, 2], [1, 0], "turn numbers starting at 1"),
        ([1.5, 2], [1, 0], "turn numbers starting at 1"),
        ([1, 2], [2, 0], "True/False"),
    ],
)
def test_bad_conversations_say_what_is_wrong(turns, bad, message):
    with pytest.raises(ValueError, match=message):
        hazard_onset(np.asarray(turns), np.asarray(bad))
    with pytest.raises(ValueError, match=message):
        early_late_hazard(np.asarray(turns), np.asarray(bad), 2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"confidence": 1.5}, "confidence must be between 0 and 1"),
        ({"min_turn": 1}, "min_turn must be a whole turn number >= 2"),
        ({"min_turn": True}, "min_turn must be a whole turn number >= 2"),
        ({"min_turn": 2.0}, "min_turn must be a whole turn number >= 2"),
        ({"bootstrap": 50}, "bootstrap must be a whole number >= 100"),
        ({"bootstrap": True}, "bootstrap must be a whole number >= 100"),
        ({"errors": -1}, "errors must be a whole number >= 0"),
        ({"missing": 0.5}, "missing must be a whole number >= 0"),
    ],
)
def test_bad_onset_options_say_what_is_wrong(options, message):
    with pytest.raises(ValueError, match=message):
        hazard_onset(HAND_TURNS, HAND_BAD, **options)


@pytest.mark.parametrize(
    ("split", "options", "message"),
    [
        (1, {}, "split must be a whole turn number >= 2"),
        (2.5, {}, "split must be a whole turn number >= 2"),
        (4, {}, "between 2 and the last observed turn 3"),
        (2, {"confidence": 0}, "confidence must be between 0 and 1"),
        (2, {"errors": -2}, "errors must be a whole number >= 0"),
    ],
)
def test_bad_split_says_what_is_wrong(split, options, message):
    with pytest.raises(ValueError, match=message):
        early_late_hazard(HAND_TURNS, HAND_BAD, split, **options)
