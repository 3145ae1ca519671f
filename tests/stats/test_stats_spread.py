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
