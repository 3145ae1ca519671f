"""Judge agreement: Cohen's and Fleiss' kappa against statsmodels and hand-worked values."""

import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohen

from levelhead.stats import cohen_kappa, fleiss_kappa


def test_cohen_matches_statsmodels_and_a_worked_example():
    # 50 items: both say yes 20, both no 15, a yes / b no 5, a no / b yes 10.
    a = ["yes"] * 20 + ["no"] * 15 + ["yes"] * 5 + ["no"] * 10
    b = ["yes"] * 20 + ["no"] * 15 + ["no"] * 5 + ["yes"] * 10
    result = cohen_kappa(a, b)
    reference = sm_cohen(np.array([[15, 10], [5, 20]])).kappa  # rows a (no, yes), cols b
    assert result.kappa == pytest.approx(reference, abs=1e-9)
    assert result.kappa == pytest.approx(0.4, abs=1e-9)  # po 0.7, pe 0.5
    assert result.observed == pytest.approx(0.7) and result.n == 50 and result.raters == 2
    # With two labels, each label's one-vs-rest kappa is the overall kappa.
    assert result.per_label["yes"] == pytest.approx(0.4) == result.per_label["no"]


def test_cohen_leaves_out_missing_labels_and_counts_them():
    result = cohen_kappa(["a", "b", None, "a", "judge_error"], ["a", "b", "a", "b", "a"])
    assert result.n == 3 and result.missing == 2


def test_cohen_perfect_and_degenerate():
    assert cohen_kappa(["x", "y"], ["x", "y"]).kappa == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]).kappa)  # chance is already perfect
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no item has a label from both"):
        cohen_kappa([None], ["a"])


def test_per_label_kappa_with_three_labels():
    a = ["abusive", "clean", "clean", "rude", "abusive", "clean"]
    b = ["abusive", "clean", "rude", "rude", "clean", "clean"]
    result = cohen_kappa(a, b)
    assert set(result.per_label) == {"abusive", "clean", "rude"}
    # "abusive" vs not: a = [1,0,0,0,1,0], b = [1,0,0,0,0,0]: po 5/6, pe 1/3*1/6 + 2/3*5/6
    pe = (2 / 6) * (1 / 6) + (4 / 6) * (5 / 6)
    assert result.per_label["abusive"] == pytest.approx((5 / 6 - pe) / (1 - pe))


def test_fleiss_matches_statsmodels():
    ratings = [["a", "a", "a"], ["a", "b", "a"], ["b", "b", "b"], ["b", "a", "b"],
               ["a", "a", "b"], ["b", "b", "b"], ["a", "a", "a"], [None, "a", "a"]]
    result = fleiss_kappa(ratings)
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    counts = np.array([[r.count("a"), r.count("b")] for r in ratings[:-1]])
    assert result.kappa == pytest.approx(sm_fleiss(counts), abs=1e-9)
    assert result.n == 7 and result.missing == 1 and result.raters == 3
    assert result.per_label["a"] == pytest.approx(result.kappa)  # two labels: same


def test_fleiss_degenerate_and_bad_input():
    assert math.isnan(fleiss_kappa([["x", "x"], ["x", "x"]]).kappa)
    with pytest.raises(ValueError, match="no item has a label from every rater"):
        fleiss_kappa([[None, "a"]])
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([["a", "b"], ["a", "b", "a"]])
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([["a"]])


def test_agreement_serialises_for_reports():
    import json

    data = json.loads(json.dumps(cohen_kappa(["a", "b", "a"], ["a", "b", "b"]).to_dict()))
    assert set(data["per_label"]) == {"a", "b"} and data["n"] == 3
