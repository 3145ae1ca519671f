"""Multi-turn hazard: Kaplan-Meier curve of "still civil after turn t"."""

import numpy as np
import pytest

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


# The classic AML data (Miller 1981; `aml` in R's survival package), maintained arm: weeks to
# relapse, "+" censored: 9, 13, 13+, 18, 23, 28+, 31, 34, 45+, 48, 161+.
AML_WEEKS = np.array([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161])
AML_RELAPSED = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0], dtype=bool)
# Worked by hand, row by row, with G = sum of d / (n (n - d)) (Greenwood), se = S sqrt(G), and the
# log-log interval S^exp(+-w), w = 1.95996 sqrt(G) / |ln S|, the "exponential Greenwood" interval
# of R's survfit(conf.type = "log-log"). Week 9: S = 10/11 = 0.90909; G = 1/(11 x 10) = 0.0090909,
# sqrt(G) = 0.095346, se = 0.90909 x 0.095346 = 0.08668; ln S = -0.095310, so w = 1.95996 x
# 0.095346 / 0.095310 = 1.96071; exp(w) = 7.10434 and exp(-w) = 0.14076; low = 0.90909^7.10434 =
# exp(-0.095310 x 7.10434) = exp(-0.67712) = 0.50808, high = exp(-0.095310 x 0.14076) = 0.98667.
# Week 13: S = 0.90909 x 9/10 = 0.81818; G = 0.0090909 + 1/(10 x 9) = 0.020202, sqrt 0.142134,
# se = 0.11629; ln S = -0.200671, w = 1.95996 x 0.142134 / 0.200671 = 1.38823, exp(w) = 4.00775;
# low = exp(-0.200671 x 4.00775) = 0.44743, high = exp(-0.200671 x 0.249516) = 0.95116.
# The later rows, the same way (the censored 13+ and 28+ leave the risk sets 8 and 5):
#   week  n   S        G         ln S       w        low      high
#   18    8   0.71591  0.038059  -0.334202  1.14411  0.35019  0.89902
#   23    7   0.61364  0.061869  -0.488353  0.99827  0.26575  0.83530
#   31    5   0.49091  0.111869  -0.711496  0.92136  0.16733  0.75340
#   34    4   0.36818  0.195202  -0.999178  0.86666  0.09283  0.65704
#   48    2   0.18409  0.695202  -1.692326  0.96565  0.01174  0.52501
# S and se agree with the survival and std.err columns R prints for this arm (0.909 0.0867,
# 0.818 0.1163, 0.716 0.1397, 0.614 0.1526, 0.491 0.1642, 0.368 0.1627, 0.184 0.1535).
# (The interval keeps inside [0, 1] where S +- 1.96 se would not: 0.90909 + 1.95996 x 0.08668 = 1.079.)
AML_ROWS = [  # week, at risk, S, low, high
    (9, 11, 0.90909, 0.50808, 0.98667),
    (13, 10, 0.81818, 0.44743, 0.95116),
    (18, 8, 0.71591, 0.35019, 0.89902),
    (23, 7, 0.61364, 0.26575, 0.83530),
    (31, 5, 0.49091, 0.16733, 0.75340),
    (34, 4, 0.36818, 0.09283, 0.65704),
    (48, 2, 0.18409, 0.01174, 0.52501),
]


@pytest.mark.parametrize(("week", "at_risk", "survival", "low", "high"), AML_ROWS)
def test_log_log_interval_matches_the_hand_worked_aml_example(week, at_risk, survival, low, high):
    curve = still_civil_curve(AML_WEEKS, AML_RELAPSED)
    row = curve.rows[week - 1]
    assert (row.turn, row.at_risk, row.events) == (week, at_risk, 1)
    assert row.still_civil == pytest.approx(survival, abs=5e-6)
    assert row.interval.low == pytest.approx(low, abs=5e-6)
    assert row.interval.high == pytest.approx(high, abs=5e-6)
    assert row.interval.method == "kaplan-meier, greenwood, log-log"


def test_between_events_the_curve_and_its_interval_stay_flat():
    rows = still_civil_curve(AML_WEEKS, AML_RELAPSED).rows
    # Week 28 (one censored) and weeks 49-161 have no relapse: the rows of weeks 23 and 48 hold.
    assert rows[27].interval == rows[22].interval and rows[27].still_civil == rows[22].still_civil
    assert rows[160].still_civil == pytest.approx(0.18409, abs=5e-6)
    assert rows[160].interval == rows[47].interval and rows[160].at_risk == 1


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
