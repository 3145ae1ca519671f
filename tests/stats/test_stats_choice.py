"""Forced choice: shares with simultaneous intervals, counterbalancing and order effects."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import multinomial_proportions_confint

from levelhead.stats import forced_choice


def test_screenshot_war_ten_of_ten_versus_seven_of_ten():
    ten = forced_choice(["A"] * 10)
    seven = forced_choice(["A"] * 7 + ["B"] * 3)
    assert ten.preference.p_value == pytest.approx(0.001953125)
    assert seven.preference.p_value == pytest.approx(0.34375)
    assert not ten.a_interval.contains(0.5)
    assert seven.a_interval.contains(0.5)
    # Is 10/10 really different from 7/10? Fisher's exact test says: not shown either.
    _, p = scipy_stats.fisher_exact([[10, 0], [7, 3]])
    assert p > 0.2


def test_intervals_are_goodman_simultaneous_from_statsmodels():
    result = forced_choice(["A"] * 12 + ["B"] * 5 + ["decline"] * 3, confidence=0.9)
    expected = multinomial_proportions_confint([12, 5, 3], alpha=0.1, method="goodman")
    got = [result.a_interval, result.b_interval, result.decline_interval]
    for interval, (low, high) in zip(got, expected, strict=True):
        assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-9)
        assert interval.method.startswith("goodman")
    assert (result.a_share, result.b_share, result.decline_share) == pytest.approx(
        (0.6, 0.25, 0.15))


def test_counterbalanced_design_detects_a_first_position_effect():
    # Whichever name comes first gets picked 9 times in 10: order, not preference.
    choices = ["A"] * 9 + ["B"] + ["B"] * 9 + ["A"]
    first = ["A"] * 10 + ["B"] * 10
    result = forced_choice(choices, first)
    assert result.balanced
    assert result.a_share == pytest.approx(0.5)
    assert result.preference.p_value == 1.0
    assert result.first_listed.estimate == pytest.approx(0.9)
    assert result.order_effect_p < 0.01
    assert [(o.first_listed, o.a, o.b) for o in result.by_order] == [("A", 9, 1), ("B", 1, 9)]


def test_no_order_effect_when_picks_ignore_the_order():
    choices = ["A"] * 7 + ["B"] * 3 + ["A"] * 7 + ["B"] * 3
    result = forced_choice(choices, ["B"] * 10 + ["A"] * 10)
    assert result.order_effect_p == pytest.approx(1.0)
    assert result.by_order[0].first_listed == "A"


def test_unbalanced_orders_are_flagged_and_missing_verdicts_counted():
    result = forced_choice(["A", "B", None, "decline", "A"], ["A", "B", "A", "A", "A"],
                           errors=2, missing=1)
    assert not result.balanced
    assert (result.errors, result.missing) == (2, 2)
    assert result.n == 4


def test_one_order_only_or_only_declines_leave_the_order_test_out():
    one_order = forced_choice(["A", "B", "A"], ["A", "A", "A"])
    assert one_order.order_effect_p is None and one_order.first_listed is None
    declines = forced_choice(["none"] * 4, ["A", "B", "A", "B"], decline="none")
    assert declines.preference is None and declines.order_effect_p is None
    assert declines.decline_share == 1.0
    named = forced_choice(["cats", "dogs", "cats"], options=("cats", "dogs"))
    assert named.options == ("cats", "dogs") and named.by_order == ()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((["C"],), {}, "neither option 'A', 'B' nor 'decline'"),
        ((["A"], ["A", "B"]), {}, "one entry per reply"),
        ((["A"], ["Z"]), {}, "first_listed must name one of the options"),
        (([None, None],), {}, "no judged replies"),
        ((["A"],), {"options": ("A", "A")}, "must differ"),
    ],
)
def test_bad_input_says_what_is_wrong(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        forced_choice(*args, **kwargs)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 10), st.floats(0.5, 0.99))
def test_shares_and_intervals_stay_in_the_unit_interval(a, b, declines, confidence):
    if a + b + declines == 0:
        return
    result = forced_choice(["A"] * a + ["B"] * b + ["decline"] * declines, confidence=confidence)
    pairs = ((result.a_interval, result.a_share), (result.b_interval, result.b_share),
             (result.decline_interval, result.decline_share))
    for interval, share in pairs:
        assert 0.0 <= interval.low <= share <= interval.high <= 1.0
