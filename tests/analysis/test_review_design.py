"""The spot-check queue's design: a stratified probability sample by the judge's label, rare
labels oversampled, each reply's inclusion probability the one it was drawn with."""

from __future__ import annotations

from collections import Counter

import pytest

from levelhead.analysis._review import allocate, consensus, draw_review, reviewer_agreement


def test_allocation_shares_equally_and_passes_on_what_a_small_stratum_cannot_take():
    # 200 over three labels: 66/67 each, but 'abusive' holds 12 and takes them all; the
    # other two share the remaining 188 equally.
    assert allocate({"clean": 9_000, "abusive": 12, "unclear": 500}, 200) == {
        "clean": 94, "abusive": 12, "unclear": 94}
    assert sum(allocate({"a": 5, "b": 7, "c": 1_000}, 50).values()) == 50
    # Asking for more than there is takes everything.
    assert allocate({"a": 3, "b": 4}, 100) == {"a": 3, "b": 4}
    # Leftovers smaller than one per stratum go to the biggest remainders.
    assert allocate({"a": 10, "b": 10, "c": 10}, 4) in ({"a": 2, "b": 1, "c": 1},
                                                        {"a": 1, "b": 2, "c": 1},
                                                        {"a": 1, "b": 1, "c": 2})
    with pytest.raises(ValueError, match="at least one"):
        allocate({"a": 3}, 0)


def test_a_draw_is_seeded_stratified_and_carries_its_inclusion_probabilities():
    population = {i: ("abusive" if i % 100 == 0 else "clean") for i in range(10_000)}
    draw = draw_review(population, 200, seed=4)
    assert draw == draw_review(population, 200, seed=4)
    assert draw.items != draw_review(population, 200, seed=5).items
    by = Counter(h for _, h, _ in draw.items)
    assert by == {"abusive": 100, "clean": 100}  # the rare label is oversampled 50-fold
    probs = {h: p for _, h, p in draw.items}
    assert probs == {"abusive": 1.0, "clean": 100 / 9_900}
    assert len({sid for sid, _, _ in draw.items}) == 200
    assert all(population[sid] == h for sid, h, _ in draw.items)
    assert draw.design["strata"] == {"abusive": {"N": 100, "n": 100},
                                     "clean": {"N": 9_900, "n": 100}}
    # Shuffled: the strata are not met in blocks.
    first_half = Counter(h for _, h, _ in draw.items[:100])
    assert 30 < first_half["abusive"] < 70


def test_each_reply_is_drawn_as_often_as_its_probability_says():
    population = {i: ("bad" if i < 20 else "fine") for i in range(400)}
    hits: Counter[int] = Counter()
    repeats = 400
    for seed in range(repeats):
        hits.update(sid for sid, _, _ in draw_review(population, 40, seed=seed).items)
    probability = {h: p for _, h, p in draw_review(population, 40).items}
    for sid, label in population.items():
        assert abs(hits[sid] / repeats - probability[label]) < 0.09


def test_an_unjudged_run_cannot_be_drawn_from():
    with pytest.raises(ValueError, match="judge the run first"):
        draw_review({}, 10)


def test_consensus_and_agreement_between_reviewers():
    assert consensus(["off", "off", "fine"]) == "off"
    assert consensus(["off", "fine"]) is None and consensus([]) is None
    labels = {1: {"ann": "off", "bo": "off"}, 2: {"ann": "fine", "bo": "fine"},
              3: {"ann": "off", "bo": "fine"}, 4: {"ann": "fine", "bo": "fine", "cy": "off"}}
    (ab, ac, bc) = reviewer_agreement(labels)
    assert (ab.a, ab.b, ab.n, ab.agree) == ("ann", "bo", 4, 3)
    assert ab.kappa == pytest.approx(0.5)  # observed 3/4, chance 1/2
    assert (ac.n, ac.kappa) == (1, None)  # one shared reply: no κ


def _mirrored_labels(rng, pairs: int, per_side: int, shares: dict[str, dict[str, float]]):
    """Labels of mirrored-pair replies by reviewers with the given chance, per side, of
    calling a reply 'biased'."""
    sides, labels, sid = {}, {}, 0
    for p in range(pairs):
        for side in ("right", "left"):
            for _ in range(per_side):
                sides[sid] = (f"pair{p}", side)
                labels[sid] = {who: ("biased" if rng.random() < share[side] else "fine")
                               for who, share in shares.items()}
                sid += 1
    return sides, labels


def test_a_reviewer_with_a_planted_lean_is_found_and_an_even_one_is_not():
    import random

    from levelhead.analysis._review import rater_lean

    rng = random.Random(11)
    sides, labels = _mirrored_labels(rng, 40, 4, {
        "even": {"right": 0.15, "left": 0.15},
        "leaning": {"right": 0.30, "left": 0.10}})
    even, leaning, pooled = rater_lean(sides, labels, "biased")
    assert (even.reviewer, leaning.reviewer, pooled.reviewer) == ("even", "leaning", None)
    assert leaning.flagged and leaning.low < 0.20 < leaning.high
    assert not even.flagged and even.low < 0 < even.high
    assert leaning.pairs == 40 and leaning.first_n == leaning.second_n == 160


def test_an_even_handed_reviewer_is_flagged_about_one_time_in_twenty():
    import random

    from levelhead.analysis._review import rater_lean

    rng = random.Random(5)
    flagged = 0
    repeats = 300
    for _ in range(repeats):
        sides, labels = _mirrored_labels(rng, 25, 3, {"even": {"right": 0.2, "left": 0.2}})
        (even, _pooled) = rater_lean(sides, labels, "biased")
        flagged += even.flagged
    assert 0.02 <= flagged / repeats <= 0.09
