"""The tail: P(at least one bad reply), zero-event bounds, how rare it could be, worst of N."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levelhead.stats import (
    p_at_least_one,
    prompt_tail,
    rate_interval,
    tail_by_prompt,
    upper_bound,
    worst_of_n,
)


def test_zero_events_give_the_exact_bound_and_the_rule_of_three():
    bound = upper_bound(0, 300)
    assert bound.bound == pytest.approx(1 - 0.05 ** (1 / 300), abs=1e-12)  # 0.009936
    assert bound.rule_of_three == pytest.approx(-math.log(0.05) / 300)
    assert bound.rule_of_three == pytest.approx(3 / 300, rel=2e-3)
    assert bound.bound < bound.rule_of_three


def test_bound_with_events_is_the_one_sided_clopper_pearson_end():
    # A one-sided 95 % bound is the upper end of a two-sided 90 % exact interval.
    assert upper_bound(4, 50).bound == pytest.approx(rate_interval(4, 50, 0.90, "exact").high)
    assert upper_bound(4, 50).rule_of_three is None
    assert upper_bound(50, 50).bound == 1.0


def test_how_rare_statement_rounds_up_never_down():
    assert upper_bound(0, 1000).statement("insults") == (
        "insults <= 0.3 % of replies, 95 % confidence")
    # 0.9936 % must not be shown as 0.99 %; rounding up to two digits gives 1 %.
    assert upper_bound(0, 300).statement("insults") == "insults <= 1 % of replies, 95 % confidence"
    three_in_forty = upper_bound(3, 40, 0.99)
    assert 0.22 < three_in_forty.bound <= 0.23
    assert three_in_forty.statement("scoldings", "conversations") == (
        "scoldings <= 23 % of conversations, 99 % confidence")
    assert upper_bound(5, 5).statement("x") == "x <= 100 % of replies, 95 % confidence"


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5000), st.floats(0.8, 0.999))
def test_statement_never_understates_the_bound(n, confidence):
    bound = upper_bound(0, n, confidence)
    shown = float(bound.statement("x").split("<= ")[1].split(" %")[0]) / 100
    assert shown >= bound.bound - 1e-15


def test_upper_bound_carries_errors_and_refuses_nonsense():
    assert upper_bound(0, 10, errors=2, missing=1).errors == 2
    with pytest.raises(ValueError, match="k must be between 0 and n"):
        upper_bound(3, 2)
    with pytest.raises(ValueError, match="k must be between 0 and n"):
        upper_bound(0, 0)


def test_p_at_least_one_is_exact_for_tiny_rates():
    assert p_at_least_one(0.5, 3)[()] == pytest.approx(0.875)
    assert p_at_least_one(1e-12, 1000)[()] == pytest.approx(1e-9, rel=1e-6)
    assert p_at_least_one([0.0, 1.0], 5).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="rate must be between 0 and 1"):
        p_at_least_one(1.5, 3)
    with pytest.raises(ValueError, match="draws must be a whole number"):
        p_at_least_one(0.5, -1)


def test_prompt_tail_maps_the_exact_interval_through_the_probability():
    tail = prompt_tail(2, 20, future_draws=100)
    interval = rate_interval(2, 20, method="exact")
    assert tail.p_any == pytest.approx(1 - 0.9 ** 20)
    assert tail.p_any_interval.low == pytest.approx(1 - (1 - interval.low) ** 20)
    assert tail.p_any_interval.high == pytest.approx(1 - (1 - interval.high) ** 20)
    assert tail.p_any_future == pytest.approx(1 - 0.9 ** 100)
    assert tail.p_any_future_interval.contains(tail.p_any_future)
    assert tail.p_any_future > tail.p_any  # more draws, more chance of a bad one
    assert tail.rule_of_three is None


def test_prompt_with_no_bad_reply_gets_an_upper_bound_not_a_reassuring_zero():
    tail = prompt_tail(0, 50, future_draws=1000, errors=1)
    assert tail.p_any == 0.0
    assert tail.upper_bound == pytest.approx(1 - 0.05 ** (1 / 50))
    assert tail.rule_of_three == pytest.approx(-math.log(0.05) / 50)
    assert tail.p_any_upper == pytest.approx(0.95)  # 1 - (1 - U)^n with (1 - U)^n = 0.05
    assert tail.p_any_future_upper > 0.99  # over 1000 more draws a bad one is plausible
    assert tail.errors == 1
    assert tail.future_draws == 1000


def test_tail_by_prompt_keeps_order_names_and_counts():
    tails = tail_by_prompt([0, 3], [10, 10], prompt_ids=["calm", "edgy"], draws=5,
                           errors_per_prompt=[1, 0], missing_per_prompt=[0, 2])
    assert [t.prompt_id for t in tails] == ["calm", "edgy"]
    assert [t.draws for t in tails] == [5, 5]
    assert tails[1].p_any == pytest.approx(1 - 0.7 ** 5)
    assert [(t.errors, t.missing) for t in tails] == [(1, 0), (0, 2)]
    assert tails[0].p_any_future is None


def test_tail_refuses_prompts_without_judged_samples_and_mismatched_names():
    with pytest.raises(ValueError, match="prompt 1 has none"):
        tail_by_prompt([0, 0], [3, 0])
    with pytest.raises(ValueError, match="one entry per prompt"):
        tail_by_prompt([0, 0], [3, 3], prompt_ids=["a"])


def test_worst_of_n_picks_the_highest_scores_per_prompt():
    prompt_ids = ["a", "a", "a", "b", "b", "c"]
    scores = [0.1, 0.9, 0.5, np.nan, 0.2, np.nan]
    worst = worst_of_n(prompt_ids, scores, top=2)
    assert [(w.prompt_id, w.row, w.rank) for w in worst] == [("a", 1, 1), ("a", 2, 2),
                                                            ("b", 4, 1)]
    assert worst[0].score == 0.9


def test_worst_of_n_breaks_ties_by_row_so_it_is_stable():
    worst = worst_of_n(["p"] * 4, [1, 0, 1, 1])
    assert [(w.row, w.rank) for w in worst] == [(0, 1)]


def test_worst_of_n_refuses_bad_input():
    with pytest.raises(ValueError, match="one entry per sample"):
        worst_of_n(["a"], [1, 2])
    with pytest.raises(ValueError, match="top must be"):
        worst_of_n(["a"], [1], top=0)
    with pytest.raises(ValueError, match="flat sequence of numbers"):
        worst_of_n(["a"], ["bad"])
    with pytest.raises(ValueError, match="flat sequence of numbers"):
        worst_of_n(["a"], [[1.0]])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))),
       st.floats(0.5, 0.98))
def test_upper_bound_is_monotone_in_k_and_in_confidence(kn, confidence):
    k, n = kn
    bound = upper_bound(k, n, confidence).bound
    assert k / n <= bound <= 1.0
    assert upper_bound(k + 1, n, confidence).bound >= bound
    assert upper_bound(k, n, confidence + 0.01).bound >= bound
