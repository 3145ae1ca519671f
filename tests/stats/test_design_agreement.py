"""A judge's agreement with people, from a spot check stratified by the judge's label and weighted
back to the run: figures by hand, the unweighted case, coverage by simulation, edges, bad input.
"""

import json
import math

import numpy as np
import pytest

from levelhead.stats import (
    cohen_kappa,
    corrected_rate,
    design_agreement,
    rate_interval,
    weighted_label_counts,
)

# The worked example of docs/statistics.md: the judge flagged 10 of 60 replies; all 10 flagged
# ones were labelled (weight 1), and 10 of the 50 it passed (weight 5).
JUDGE = ["abusive"] * 10 + ["clean"] * 10
HUMAN = ["abusive"] * 8 + ["clean"] * 2 + ["abusive"] + ["clean"] * 9
SIZES = {"abusive": 10, "clean": 50}
POSITIVE = {"abusive"}


def test_figures_worked_by_hand_on_two_strata_with_weights_1_and_5():
    result = design_agreement(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE)
    # Weighted table: tp 8·1, fp 2·1, fn 1·5, tn 9·5: 60 replies.
    assert (result.tp, result.fp, result.fn, result.tn) == (8.0, 2.0, 5.0, 45.0)
    assert weighted_label_counts(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE) == (8.0, 5.0, 45.0, 2.0)
    assert result.table == {"abusive": {"abusive": 8.0, "clean": 2.0},
                            "clean": {"abusive": 5.0, "clean": 45.0}}
    assert result.sensitivity.value == pytest.approx(8 / 13)
    assert result.specificity.value == pytest.approx(45 / 47)
    assert result.precision.value == pytest.approx(8 / 10)
    assert result.accuracy.value == pytest.approx(53 / 60) == result.binary_accuracy.value
    # p_o = 53/60, p_e = (10·13 + 50·47)/60² = 2480/3600: κ = 700/1120.
    assert result.kappa.value == pytest.approx(0.625) == result.binary_kappa.value
    assert (result.n, result.population) == (20, 60)
    assert result.effective_n == pytest.approx(60**2 / (10 * 1 + 10 * 25))
    # Unweighted, the oversampled flags make the judge look far more sensitive.
    assert result.naive_sensitivity == pytest.approx(8 / 9)
    assert result.naive_specificity == pytest.approx(9 / 11)
    assert result.naive_accuracy == pytest.approx(17 / 20)
    # The flagged stratum was labelled in full: precision is exact there.
    assert (result.precision.low, result.precision.high) == (0.8, 0.8)
    for name in ("sensitivity", "specificity", "accuracy", "kappa"):
        estimate = getattr(result, name)
        assert estimate.low < estimate.value < estimate.high, name
    # One labelled false negative: wide (the numbers docs/statistics.md quotes, seed 0).
    assert (result.sensitivity.low, result.sensitivity.high) == pytest.approx((4 / 13, 8 / 9))
    assert (result.specificity.low, result.specificity.high) == pytest.approx((48 / 51, 49 / 51))
    assert result.notes == ("sensitivity rests on 1 labelled false negative: most of its "
                            "interval's width is theirs; label more of the replies the judge "
                            "called negative to narrow it",)
    assert result.method.endswith("percentile, 2,000 draws") and result.confidence == 0.95


def test_kappa_over_all_labels_differs_from_the_binary_one():
    # Positive = {abusive, rude}; judge strata abusive (4 of 4, w 1) and clean (2 of 10, w 5).
    judge = ["abusive"] * 4 + ["clean"] * 2
    human = ["abusive", "abusive", "rude", "clean", "clean", "rude"]
    result = design_agreement(judge, human, judge, {"abusive": 4, "clean": 10},
                              {"abusive", "rude"})
    assert result.table == {"abusive": {"abusive": 2.0, "clean": 1.0, "rude": 1.0},
                            "clean": {"clean": 5.0, "rude": 5.0}}
    assert (result.tp, result.fn, result.fp, result.tn) == (3.0, 5.0, 1.0, 5.0)
    assert result.accuracy.value == pytest.approx(7 / 14)
    assert result.binary_accuracy.value == pytest.approx(8 / 14)
    assert result.kappa.value == pytest.approx(30 / 128)   # p_e = (4·2 + 10·6)/14²
    assert result.binary_kappa.value == pytest.approx(20 / 104)  # p_e = (4·8 + 10·6)/14²
    assert result.kappa.low < result.kappa.value < result.kappa.high


def test_equal_inclusion_probabilities_give_the_unweighted_figures():
    rng = np.random.default_rng(4)
    judge = rng.choice(["abusive", "clean", "rude"], 300).tolist()
    human = [j if rng.random() < 0.8 else "clean" for j in judge]
    drawn = {label: judge.count(label) for label in set(judge)}
    result = design_agreement(judge, human, judge, {k: 10 * v for k, v in drawn.items()},
                              {"abusive", "rude"})
    assert result.sensitivity.value == pytest.approx(result.naive_sensitivity)
    assert result.specificity.value == pytest.approx(result.naive_specificity)
    assert result.accuracy.value == pytest.approx(result.naive_accuracy)
    assert result.kappa.value == pytest.approx(cohen_kappa(judge, human).kappa)
    assert result.effective_n == pytest.approx(300) and result.population == 3000
    tp = sum(j != "clean" and h != "clean" for j, h in zip(judge, human, strict=True))
    assert result.tp == pytest.approx(10 * tp)


def test_calibration_counts_carry_the_design_uncertainty_not_the_run_size():
    rng = np.random.default_rng(8)
    judge = ["abusive"] * 200 + ["clean"] * 300
    human = ([("abusive" if rng.random() < 0.7 else "clean") for _ in range(200)]
             + [("abusive" if rng.random() < 0.03 else "clean") for _ in range(300)])
    result = design_agreement(judge, human, judge, {"abusive": 1000, "clean": 19000}, POSITIVE)
    counts = result.calibration_counts
    assert set(counts) == {"tp", "fn", "tn", "fp"}
    assert counts["tp"] + counts["fn"] < result.tp + result.fn  # far fewer than the run holds
    # Their Jeffreys interval is the design's, within a few points.
    jeffreys = rate_interval(counts["tp"], counts["tp"] + counts["fn"], method="jeffreys")
    assert jeffreys.low == pytest.approx(result.sensitivity.low, abs=0.04)
    assert jeffreys.high == pytest.approx(result.sensitivity.high, abs=0.04)
    assert counts["tp"] / (counts["tp"] + counts["fn"]) == pytest.approx(
        result.sensitivity.value, abs=0.05)
    # ... and they plug straight into a corrected rate.
    corrected = corrected_rate([30, 25], [200, 200], **counts, draws=1000)
    assert corrected.positives == counts["tp"] + counts["fn"]


@pytest.mark.parametrize("seed", [0, 1])
def test_results_are_reproducible_and_json_ready(seed):
    first = design_agreement(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE, seed=seed)
    assert first == design_agreement(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE, seed=seed)
    other = design_agreement(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE,
                             seed=np.random.default_rng(seed + 10))
    assert other.sensitivity.value == first.sensitivity.value
    payload = json.loads(json.dumps(first.to_dict()))
    assert payload["sensitivity"]["value"] == first.sensitivity.value
    assert payload["calibration_counts"] == first.calibration_counts


# --- coverage ---------------------------------------------------------------------------------

RUN = 20_000
AUDITS = 500
# (sensitivity, specificity, prevalence, labelled flagged, labelled passed): the judge's rare
# "abusive" verdicts are oversampled (7-19 % of them against 1-2 % of the rest).
SETTINGS = [(0.6, 0.99, 0.05, 150, 250), (0.8, 0.95, 0.02, 100, 300), (0.95, 0.9, 0.30, 250, 150)]


def _simulate(setting, audits, seed):
    """Per audit, a fresh run of RUN replies with a scripted judge, a spot check stratified by
    its label, and the design's figures against the run's true ones."""
    se, sp, prevalence, flagged, passed = setting
    rng = np.random.default_rng(seed)
    rows = []
    for audit in range(audits):
        human = rng.random(RUN) < prevalence
        judge = np.where(human, rng.random(RUN) < se, rng.random(RUN) >= sp)
        truth = ((human & judge).sum() / human.sum(), (~human & ~judge).sum() / (~human).sum())
        yes, no = np.flatnonzero(judge), np.flatnonzero(~judge)
        drawn = np.concatenate([rng.choice(yes, flagged, replace=False),
                                rng.choice(no, passed, replace=False)])
        labels = np.where(judge[drawn], "abusive", "clean").tolist()
        result = design_agreement(labels, np.where(human[drawn], "abusive", "clean").tolist(),
                                  labels, {"abusive": yes.size, "clean": no.size}, POSITIVE,
                                  seed=audit)
        rows.append((*truth, result.sensitivity.contains(truth[0]),
                     result.specificity.contains(truth[1]), result.sensitivity.value,
                     result.specificity.value, result.naive_sensitivity, result.naive_specificity))
    return np.array(rows, dtype=float)


def test_design_intervals_cover_the_run_and_the_naive_figures_are_biased():
    covered = []
    for i, setting in enumerate(SETTINGS):
        rows = _simulate(setting, AUDITS, seed=[17, i])
        true_se, true_sp, cover_se, cover_sp, se, sp, naive_se, naive_sp = rows.T
        # 500 audits: Monte Carlo SE about 1 point, so the band is about 2 SE or more each side.
        assert 0.91 <= cover_se.mean() <= 0.985, (setting, cover_se.mean())
        assert 0.91 <= cover_sp.mean() <= 0.985, (setting, cover_sp.mean())
        # Weighting removes the oversampling's bias (what is left in the sensitivity is a
        # ratio's small-sample bias with a handful of labelled false negatives) ...
        assert abs(np.mean(se - true_se)) < 0.03 and abs(np.mean(sp - true_sp)) < 0.005
        # ... which the unweighted tally keeps: too sensitive, not specific enough.
        assert np.mean(naive_se - true_se) > 0.025 and np.mean(naive_sp - true_sp) < -0.1
        covered += [cover_se, cover_sp]
    assert 0.93 <= np.mean(covered) <= 0.97


# --- edges ------------------------------------------------------------------------------------


def test_no_human_positive_leaves_sensitivity_undefined_with_a_note():
    judge = ["abusive"] * 3 + ["clean"] * 5
    result = design_agreement(judge, ["clean"] * 8, judge, {"abusive": 3, "clean": 90},
                              POSITIVE)
    assert result.sensitivity.value is None and result.sensitivity.low is None
    assert not result.sensitivity.contains(0.5)
    assert result.naive_sensitivity is None
    assert "sensitivity is undefined: no labelled reply has a positive human label (abusive)" in \
        result.notes
    assert result.calibration_counts["tp"] == result.calibration_counts["fn"] == 0
    # The flags were labelled in full (3 false positives, exact); the unlabelled passed replies
    # can only hold more true negatives or false negatives: 90/93 is the highest it can be.
    assert result.specificity.value == pytest.approx(90 / 93) == result.specificity.high
    assert result.specificity.low < result.specificity.value


def test_one_label_throughout_leaves_kappa_undefined_and_says_why():
    judge = ["clean"] * 6
    result = design_agreement(judge, judge, judge, {"clean": 60}, POSITIVE)
    assert result.kappa.value is None and result.binary_kappa.value is None
    assert result.precision.value is None and result.accuracy.value == 1.0
    assert any(note.startswith("kappa is undefined: judge and people used one and the same")
               for note in result.notes)
    assert any(note.startswith("binary kappa is undefined") for note in result.notes)
    assert any(note.startswith("precision is undefined: the judge gave no labelled reply a "
                               "positive label") for note in result.notes)
    no_negative = design_agreement(["abusive"] * 2, ["abusive"] * 2, ["abusive"] * 2,
                                   {"abusive": 5}, POSITIVE)
    assert no_negative.specificity.value is None
    assert any(note.startswith("specificity is undefined: no labelled reply has a negative")
               for note in no_negative.notes)


def test_a_stratum_of_one_reply_gives_a_wide_interval_and_a_note():
    judge = ["abusive"] * 40 + ["clean"]
    human = ["abusive"] * 30 + ["clean"] * 10 + ["clean"]
    result = design_agreement(judge, human, judge, {"abusive": 40, "clean": 400}, POSITIVE)
    assert result.sensitivity.value == 1.0  # the one passed reply was clean
    assert result.sensitivity.high == 1.0 and result.sensitivity.low < 0.3
    assert any(note.startswith("stratum 'clean' rests on one labelled reply standing for 400")
               for note in result.notes)


def test_a_census_is_exact_and_says_so():
    result = design_agreement(JUDGE, HUMAN, JUDGE, {"abusive": 10, "clean": 10}, POSITIVE)
    assert result.sensitivity.low == result.sensitivity.value == result.sensitivity.high == 8 / 9
    assert result.notes == ("every stratum was labelled in full: the figures are exact",)
    assert result.calibration_counts == {"tp": 8, "fn": 1, "tn": 9, "fp": 2}


def test_strata_of_another_kind_leave_room_for_unseen_judge_labels():
    # Strata by prompt: p2's sample shows only "clean" verdicts, but its unlabelled replies may
    # hold flags, so its false positives are uncertain too (not an exact zero).
    judge = ["abusive", "clean", "abusive", "clean"] * 5 + ["clean"] * 20
    human = ["abusive", "clean", "clean", "abusive"] * 5 + ["clean"] * 20
    strata = ["p1"] * 20 + ["p2"] * 20
    result = design_agreement(judge, human, strata, {"p1": 100, "p2": 400}, POSITIVE)
    by_judge = design_agreement(judge, human, judge, {"abusive": 50, "clean": 450}, POSITIVE)
    assert result.precision.high - result.precision.low > 0.1
    assert by_judge.specificity.value != result.specificity.value
    assert result.specificity.low < result.specificity.value < result.specificity.high


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "message"), [
    (lambda: design_agreement(JUDGE, HUMAN[:-1], JUDGE, SIZES, POSITIVE),
     "one entry per labelled reply (got 20, 19 and 20)"),
    (lambda: design_agreement([], [], [], {}, POSITIVE), "no labelled reply"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, {"abusive": 10, "clean": 50, "rude": 7},
                              POSITIVE),
     "stratum 'rude' holds 7 replies in the run but none was labelled"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, {"abusive": 8, "clean": 50}, POSITIVE),
     "stratum 'abusive' has 10 labelled replies but holds only 8 in the run (n_h > N_h)"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, {"abusive": 10}, POSITIVE),
     "stratum 'clean' has labelled replies but no entry in stratum_sizes"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, {"abusive": 10, "clean": -1}, POSITIVE),
     "stratum_sizes['clean'] must be a whole number >= 0"),
    (lambda: design_agreement(JUDGE, [*HUMAN[:-1], None], JUDGE, SIZES, POSITIVE),
     "human[19] must be a non-empty label (got None)"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, SIZES, "abusive"),
     "positive must be a non-empty collection of labels"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, SIZES, set()),
     "positive must be a non-empty collection of labels"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE, draws=999),
     "draws must be a whole number >= 1000"),
    (lambda: design_agreement(JUDGE, HUMAN, JUDGE, SIZES, POSITIVE, confidence=1.0),
     "confidence must be between 0 and 1"),
    (lambda: weighted_label_counts(JUDGE, HUMAN, JUDGE, {"abusive": 10, "clean": 0}, POSITIVE),
     "stratum 'clean' has 10 labelled replies but holds only 0"),
])
def test_bad_input_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        call()


def test_an_empty_stratum_of_the_run_is_fine():
    result = design_agreement(JUDGE, HUMAN, JUDGE, {**SIZES, "rude": 0}, POSITIVE)
    assert result.population == 60 and not math.isnan(result.effective_n)
