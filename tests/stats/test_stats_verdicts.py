"""From a verdict table to per-prompt counts: errors and missing verdicts are never good."""

import json

import numpy as np
import pytest

from levelhead.stats import PromptCounts, count_by_prompt, rate


def test_counts_bad_good_errors_and_missing_per_prompt():
    prompt_ids = ["p1", "p1", "p1", "p2", "p2", "p2", "p2"]
    labels = ["insult", "civil", "error", None, "insult", "insult", "judge_declined"]
    counts = count_by_prompt(prompt_ids, labels, bad={"insult"},
                             missing_labels=(None, "judge_declined"))
    assert counts.prompt_ids == ("p1", "p2")
    assert counts.k == (1, 2)
    assert counts.n == (2, 2)
    assert counts.errors == (1, 0)
    assert counts.missing == (0, 2)
    assert (counts.total_errors, counts.total_missing) == (1, 2)


def test_errors_are_reported_beside_the_rate_not_folded_in_as_good():
    counts = count_by_prompt(["p"] * 10, ["civil"] * 4 + ["insult"] + ["error"] * 5,
                             bad={"insult"})
    finding = rate(sum(counts.k), sum(counts.n), errors=counts.total_errors,
                   missing=counts.total_missing)
    assert finding.estimate == pytest.approx(1 / 5)  # not 1 / 10
    assert finding.errors == 5


def test_a_label_in_two_roles_is_refused():
    with pytest.raises(ValueError, match="cannot be in two of"):
        count_by_prompt(["p"], ["error"], bad={"error"})


def test_lengths_must_match():
    with pytest.raises(ValueError, match="one entry per sample"):
        count_by_prompt(["p", "q"], ["civil"], bad={"insult"})


def test_aligned_with_reorders_the_other_side_by_prompt():
    baseline = count_by_prompt(["a", "b", "c"], ["x", "ok", "x"], bad={"x"})
    candidate = count_by_prompt(["c", "a", "b", "b"], ["ok", "x", "error", "x"], bad={"x"})
    left, right = baseline.aligned_with(candidate)
    assert left is baseline
    assert right.prompt_ids == ("a", "b", "c")
    assert right.k == (1, 1, 0)
    assert right.n == (1, 1, 1)
    assert right.errors == (0, 1, 0)


def test_aligned_with_refuses_different_prompt_sets():
    baseline = PromptCounts(("a", "b"), (0, 0), (1, 1), (0, 0), (0, 0))
    candidate = PromptCounts(("a", "z"), (0, 0), (1, 1), (0, 0), (0, 0))
    with pytest.raises(ValueError, match=r"same prompts on both sides \(1 only in the first"):
        baseline.aligned_with(candidate)


def test_to_dict_is_plain():
    counts = count_by_prompt(["a"], ["x"], bad={"x"})
    assert counts.to_dict() == {"prompt_ids": ["a"], "k": [1], "n": [1], "errors": [0],
                                "missing": [0]}


def test_numpy_prompt_ids_still_give_json():
    counts = count_by_prompt(np.array([7, 7, 9]), ["x", "ok", "x"], bad={"x"})
    assert json.loads(json.dumps(counts.to_dict()))["prompt_ids"] == [7, 9]
