"""clustered_mean: prompts weigh the same, the interval is over prompts, NaN replies are left out."""

import math

import numpy as np
import pytest

from levelhead.stats import clustered_mean


def test_each_prompt_weighs_the_same_and_nan_is_missing():
    # Prompt a: 9 replies scored 1.0; prompt b: 1 reply scored 0.0 and one unscored.
    values = [1.0] * 9 + [0.0, math.nan]
    ids = ["a"] * 9 + ["b", "b"]
    m = clustered_mean(values, ids)
    assert m.estimate == pytest.approx(0.5)  # not 0.9: one prompt, one vote
    assert m.prompts == 2 and m.n == 10 and m.missing == 1
    assert m.interval.low < 0.5 < m.interval.high


def test_interval_covers_the_truth_most_of_the_time():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(300):
        prompt_means = rng.normal(0.2, 0.3, size=20)
        values = np.repeat(prompt_means, 5) + rng.normal(0, 0.5, size=100)
        ids = np.repeat(np.arange(20), 5).tolist()
        m = clustered_mean(values, ids)
        hits += m.interval.low <= 0.2 <= m.interval.high
    assert 0.9 <= hits / 300 <= 0.99


def test_no_spread_and_bad_input():
    m = clustered_mean([0.5, 0.5, 0.5], ["a", "b", "c"])
    assert m.interval.low == m.interval.high == 0.5 and "no spread" in m.interval.method
    with pytest.raises(ValueError, match="one entry per reply"):
        clustered_mean([1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match="at least 2 prompts"):
        clustered_mean([1.0, 2.0, math.nan], ["a", "a", "b"])
