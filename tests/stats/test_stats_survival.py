"""Multi-turn hazard: Kaplan-Meier curve of "still civil after turn t"."""

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from levelhead.stats import still_civil_curve

TURNS = np.array([1, 2, 2, 3, 3, 5, 5, 5, 4, 6])
BAD = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0], dtype=bool)


def test_curve_matches_a_hand_computed_kaplan_meier():
    curve = still_civil_curve(TURNS, BAD)
    rows = {row.turn: row for row in curve.rows}
    assert [row.turn for row in curve.rows] == [1, 2, 3, 4, 5, 6]
    # turn 1: 10 at risk, 1 bad; turn 2: 9 at risk, 1 bad, 1 ends civil; turn 3: 7, 1 bad ...
    assert [rows[t].at_risk for t in range(1, 7)] == [10, 9, 7, 5, 4, 1]
    assert [rows[t].events for t in range(1, 7)] == [1, 1, 1, 0, 1, 0]
    assert [rows[t].censored for t in range(1, 7)] == [0, 1, 1, 1, 2, 1]
    expected = 0.9 * (8 / 9) * (6 / 7)
    assert rows[3].still_civil == pytest.approx(expected)
    assert rows[4].still_civil == pytest.approx(expected)  # no event: the curve stays flat
    assert rows[5].still_civil == pytest.approx(expected * 3 / 4)
    assert rows[2].hazard == pytest.approx(1 / 9)
    assert (curve.conversations, curve.turned_bad) == (10, 4)


def test_interval_is_the_log_log_transform_of_statsmodels_greenwood_se():
    curve = still_civil_curve(TURNS, BAD)
    fit = SurvfuncRight(TURNS, BAD.astype(int))
    s, se = fit.surv_prob[1], fit.surv_prob_se[1]  # turn 2
    spread = 1.959963984540054 * se / (s * abs(math.log(s)))
    row = curve.rows[1]
    assert row.still_civil == pytest.approx(s)
    assert row.interval.low == pytest.approx(s ** math.exp(spread))
    assert row.interval.high == pytest.approx(s ** math.exp(-spread))
    assert row.interval.low < row.still_civil < row.interval.high


def test_before_any_event_the_bound_is_exact_and_below_one():
    curve = still_civil_curve([3, 3, 3, 3, 4], [0, 0, 0, 0, 1], errors=2, missing=1)
    first = curve.rows[0]
    assert first.still_civil == 1.0
    assert first.interval.high == 1.0
    assert first.interval.low == pytest.approx(0.025 ** (1 / 5))
    assert first.hazard == 0.0 and first.hazard_interval.low == 0.0
    assert (curve.errors, curve.missing) == (2, 1)


def test_no_event_at_all_keeps_the_curve_at_one():
    curve = still_civil_curve([2, 2], [False, False])
    assert [row.still_civil for row in curve.rows] == [1.0, 1.0]
    assert curve.turned_bad == 0


def test_curve_reaching_zero_keeps_a_sensible_upper_end():
    curve = still_civil_curve([1, 2, 2], [1, 1, 1])
    last = curve.rows[-1]
    assert last.still_civil == 0.0
    assert last.interval.low == 0.0
    assert last.interval.high == curve.rows[0].interval.high
    assert last.hazard == 1.0


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
def test_bad_input_says_what_is_wrong(turns, bad, message):
    with pytest.raises(ValueError, match=message):
        still_civil_curve(np.asarray(turns), np.asarray(bad))
