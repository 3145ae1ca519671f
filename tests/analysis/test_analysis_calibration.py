"""A judge's calibration file: written and read back, refused with one clear line when it is
malformed, and applied only to the judge, version and settings it measured."""

from __future__ import annotations

import json
import math

import pytest

from levelhead.analysis import (
    Calibration,
    Counts,
    LabelCounts,
    RunData,
    corrected_estimate,
    load_calibrations,
    match_calibrations,
)
from levelhead.errors import CalibrationError, SpecError

ARGS = '{"count_mentions": false, "min_severity": 1}'


def _calibration(**changes) -> Calibration:
    fields = dict(judge="abuse.lexicon", judge_version="2", judge_args=ARGS,
                  source="gold.jsonl (split report, 300 items)",
                  labels={"abusive": LabelCounts(tp=60, fn=40, tn=198, fp=2),
                          "clean": LabelCounts(tp=198, fn=2, tn=60, fp=40)},
                  created_at="2026-01-02T03:04:05+00:00")
    return Calibration(**{**fields, **changes})


def _run(**judges: tuple[str, str, dict]) -> RunData:
    """A run whose judges are identity -> (name, version, settings)."""
    return RunData(1, "nightly", [], judge_versions={i: (n, v) for i, (n, v, _) in judges.items()},
                   judge_args={i: a for i, (_, _, a) in judges.items()})


def test_label_counts_give_sensitivity_and_specificity():
    counts = LabelCounts(tp=60, fn=40, tn=198, fp=2)
    assert (counts.positives, counts.negatives) == (100, 200)
    assert counts.sensitivity == 0.6 and counts.specificity == 0.99
    empty = LabelCounts(tp=0, fn=0, tn=0, fp=0)
    assert math.isnan(empty.sensitivity) and math.isnan(empty.specificity)
    with pytest.raises(ValueError, match="fp: must be a whole number >= 0"):
        LabelCounts(tp=1, fn=1, tn=1, fp=-1)


def test_a_calibration_is_saved_as_versioned_json_and_read_back(tmp_path):
    path = tmp_path / "abuse.calibration.json"
    cal = _calibration()
    cal.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"]) == ("levelhead-calibration", 1)
    assert data["judge_args"] == ARGS and data["labels"]["abusive"] == {
        "tp": 60, "fn": 40, "tn": 198, "fp": 2}
    assert Calibration.load(path) == cal
    assert load_calibrations([path, path]) == [cal, cal]
    assert cal.describe() == ("abuse.lexicon 2 calibration (gold.jsonl (split report, 300 items), "
                              "2026-01-02T03:04:05+00:00)")


def _write(tmp_path, content) -> str:
    path = tmp_path / "cal.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


GOOD = _calibration().to_json()


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON: Expecting property name"),
    ([1, 2], "not a levelhead calibration file (format None, expected 'levelhead-calibration')"),
    ({**GOOD, "format": "levelhead-findings"}, "not a levelhead calibration file (format "
                                                 "'levelhead-findings'"),
    ({**GOOD, "version": 2}, "version: calibration format 2 cannot be read by this levelhead (it "
                             "reads version 1)"),
    ({**GOOD, "judges": "x"}, "judges: unknown field"),
    ({k: v for k, v in GOOD.items() if k != "judge"}, "judge: required field is missing"),
    ({**GOOD, "judge_version": 2}, "judge_version: expected a non-empty string (got 2)"),
    ({**GOOD, "judge_args": "[1]"}, "judge_args: expected the judge's settings as a JSON object"),
    ({**GOOD, "judge_args": "{oops"}, "judge_args: expected the judge's settings"),
    ({**GOOD, "labels": {}}, "labels: expected an object of label -> {tp, fn, tn, fp} counts"),
    ({**GOOD, "labels": {"abusive": {"tp": 1}}}, "labels.abusive: expected exactly the counts"),
    ({**GOOD, "labels": {"abusive": {"tp": 1, "fn": -3, "tn": 1, "fp": 0}}},
     "labels.abusive.fn: must be a whole number >= 0 (got -3)"),
    ({**GOOD, "labels": {"abusive": {"tp": 1.5, "fn": 3, "tn": 1, "fp": 0}}},
     "labels.abusive.tp: must be a whole number >= 0 (got 1.5)"),
])
def test_a_malformed_file_is_refused_in_one_line_naming_the_field(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(CalibrationError) as caught:
        Calibration.load(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert isinstance(caught.value, SpecError) and caught.value.exit_code == 2


def test_a_missing_or_unreadable_file_says_how_to_make_one(tmp_path):
    with pytest.raises(CalibrationError, match=r"no such calibration file \(`levelhead judge eval "
                                               r"--save-calibration FILE` writes one\)"):
        Calibration.load(tmp_path / "nope.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CalibrationError, match="cannot read"):
        Calibration.load(tmp_path / "bin.json")


def test_a_calibration_applies_to_its_judge_version_and_settings_only():
    settings = json.loads(ARGS)
    run = _run(**{"abuse.lexicon": ("abuse.lexicon", "2", settings),
                  "refusal.rules": ("refusal.rules", "1", {})})
    cal = _calibration()
    assert match_calibrations(run, [cal]) == {"abuse.lexicon": cal}
    assert match_calibrations(run, []) == {}
    # Two identities of one judge, settings apart: only the one measured is corrected.
    two = _run(**{"abuse.lexicon": ("abuse.lexicon", "2", {"min_severity": 2}),
                  "abuse.lexicon#2": ("abuse.lexicon", "2", settings)})
    assert match_calibrations(two, [cal]) == {"abuse.lexicon#2": cal}


def test_a_calibration_that_does_not_fit_is_refused_naming_both_sides():
    run = _run(**{"abuse.lexicon": ("abuse.lexicon", "2", {"min_severity": 2}),
                  "refusal.rules": ("refusal.rules", "1", {})})
    with pytest.raises(CalibrationError) as caught:
        match_calibrations(run, [_calibration()])
    text = str(caught.value)
    assert f"measured abuse.lexicon with settings {ARGS}" in text
    assert "but run 'nightly' judged with {\"min_severity\": 2}" in text
    with pytest.raises(CalibrationError, match="measured version 1, but run 'nightly' was judged "
                                               "by abuse.lexicon version 2"):
        match_calibrations(run, [_calibration(judge_version="1")])
    with pytest.raises(CalibrationError, match=r"gave no verdict in run 'nightly' \(its judges: "
                                               r"abuse.lexicon, refusal.rules\)"):
        match_calibrations(run, [_calibration(judge="hedging.rules")])
    fits = _run(**{"abuse.lexicon": ("abuse.lexicon", "2", json.loads(ARGS))})
    with pytest.raises(CalibrationError, match="two calibrations for judge abuse.lexicon"):
        match_calibrations(fits, [_calibration(), _calibration(source="other.jsonl")])


def test_the_corrected_estimate_of_a_label_and_of_one_without_counts():
    counts = Counts()
    for prompt, flagged in (("a", 26), ("b", 25), ("c", 27), ("d", 24)):
        for i in range(200):
            counts.add(prompt, i < flagged)
    est = corrected_estimate(counts, "abusive", _calibration())
    assert est.informative and est.estimate == pytest.approx((0.1275 + 0.99 - 1) / 0.59)
    assert est.ci_low < 0.2 < est.ci_high
    assert (est.sensitivity, est.specificity, est.positives, est.negatives) == (0.6, 0.99, 100, 200)
    assert est.calibration == "gold.jsonl (split report, 300 items)"
    assert est.calibrated_at == "2026-01-02T03:04:05+00:00" and est.method.startswith("Rogan")
    none = corrected_estimate(counts, "threat", _calibration())
    assert not none.informative and none.estimate is None and none.ci_low is None
    assert none.note == ("uninformative: the calibration has no counts for the label 'threat' "
                         "(it has abusive, clean)")
    blind = corrected_estimate(counts, "abusive", _calibration(
        labels={"abusive": LabelCounts(tp=0, fn=0, tn=10, fp=0)}))
    assert blind.sensitivity is None and not blind.informative
