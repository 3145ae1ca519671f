"""condition_spread: a behaviour that moves with the condition shows a spread, one that does not
shows little; the bootstrap is paired by prompt and repeatable."""

import numpy as np
import pytest

from levelhead.stats import condition_spread


def test_a_planted_spread_is_found_and_a_flat_one_is_small():
    rng = np.random.default_rng(1)
    n = np.full((3, 40), 20)
    moved = np.stack([rng.binomial(20, p, 40) for p in (0.1, 0.3, 0.5)])
    flat = np.stack([rng.binomial(20, 0.3, 40) for _ in range(3)])
    s = condition_spread(moved, n)
    assert s.spread_interval.low < 0.4 < s.spread_interval.high or abs(s.spread - 0.4) < 0.05
    assert s.spread_interval.low > 0.2 and s.prompts == 40 and len(s.rates) == 3
    f = condition_spread(flat, n)
    assert f.spread < 0.08 and f.spread_interval.high < 0.15
    assert s.instability > f.instability
    assert condition_spread(moved, n).spread_interval == s.spread_interval  # same seed, same result


def test_the_noise_reference_says_when_there_is_no_spread_at_all():
    # Three system messages that behave the same, 3 replies per prompt (as in
    # examples/steering.toml): the raw spread and instability are never 0, but the test against
    # re-dealt replies rejects at about its level and the excess instability is about 0.
    rng = np.random.default_rng(7)
    n = np.full((3, 60), 3)
    results = [condition_spread(rng.binomial(n, 0.2), n, reps=500, seed=i) for i in range(60)]
    assert all(r.spread > 0 and r.instability > 0.2 for r in results)
    assert sum(r.p_value < 0.05 for r in results) <= 7  # 5 % of 60 is 3; allow some luck
    assert abs(np.mean([r.instability_excess for r in results])) < 0.02
    assert all(r.null_spread > 0 and r.null_instability > 0.2 for r in results)
    # A real difference is told apart from that noise.
    moved = np.stack([rng.binomial(3, p, 60) for p in (0.1, 0.3, 0.6)])
    m = condition_spread(moved, n, reps=500)
    assert m.p_value < 0.01 and m.spread > 3 * m.null_spread and m.instability_excess > 0.05


def test_the_noise_reference_accepts_a_generator_and_no_seed():
    n = np.full((2, 10), 4)
    k = np.array([[0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [4, 3, 2, 1, 0, 4, 3, 2, 1, 0]])
    a = condition_spread(k, n, reps=200, seed=np.random.default_rng(3))
    b = condition_spread(k, n, reps=200, seed=None)
    assert a.spread == b.spread == 0.0 and a.p_value == 1.0 and b.p_value == 1.0
    assert a.instability == 0.6 and a.instability_excess > 0.1  # prompts move, the total does not


def test_prompts_missing_under_a_condition_are_left_out():
    k = [[1, 0, 0], [0, 1, 0]]
    n = [[5, 5, 0], [5, 5, 5]]
    s = condition_spread(k, n, reps=200)
    assert s.prompts == 2 and s.rates == (0.1, 0.1) and s.spread == 0.0


@pytest.mark.parametrize(("k", "n", "message"), [
    ([[1, 2]], [[5, 5]], "at least 2 conditions"),
    ([[1, 2], [1, 2]], [[5, 5]], "same shape"),
    ([[6, 2], [1, 2]], [[5, 5], [5, 5]], "between 0 and its n"),
    ([[1, 0], [1, 2]], [[5, 0], [5, 5]], "at least 2 prompts"),
])
def test_bad_input(k, n, message):
    with pytest.raises(ValueError, match=message):
        condition_spread(k, n, reps=100)
