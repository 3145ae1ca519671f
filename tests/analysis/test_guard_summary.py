"""The guard's decisions as block rates (issue 18): what `levelhead guard-stats` and the monitor
read. The records are the store's own, written to and read back from a real SQLite store."""

from __future__ import annotations

import json
import math
from pathlib import Path

from levelhead import open_store
from levelhead.analysis import guard_summary
from levelhead.stats import rate
from levelhead.store import GuardDecisionRecord, GuardDecisionRow


def _stored(tmp_path: Path, rows: list[GuardDecisionRow]) -> list[GuardDecisionRecord]:
    store = open_store(tmp_path / "s.db")
    try:
        store.add_guard_decisions(rows)
        return store.guard_decisions()
    finally:
        store.close()


def _row(i: int, language: str, action: str, label: str | None, latency: float = 10.0,
         model: str | None = "m1") -> GuardDecisionRow:
    finding = {"judge": "abuse.lexicon", "label": label,
               "action": action if label is not None else "block",
               "error": None if label is not None else "timed out"}
    return GuardDecisionRow(f"2026-12-07T10:00:{i:02d}.000+00:00", f"r{i}", 0, model, language,
                            False, action, label is not None, latency, 0.5, json.dumps([finding]),
                            None)


def test_block_rates_per_language_count_what_the_user_saw_and_name_what_was_not_judged(tmp_path):
    rows = ([_row(i, "en", "block", "abusive") for i in range(2)]
            + [_row(i, "en", "pass", "clean") for i in range(2, 10)]
            + [_row(10, "zh", "block", None)]  # a judge timed out; on_error blocked it
            + [_row(i, "zh", "pass", "clean", model=None) for i in range(11, 14)])
    records = _stored(tmp_path, rows)
    summary = guard_summary(records)
    # The times as the store keeps them (it writes every time in one UTC form).
    assert (summary.decisions, summary.first, summary.last) == (14, records[0].at, records[-1].at)
    assert str(summary.first).startswith("2026-12-07T10:00:00.000")
    assert str(summary.last).startswith("2026-12-07T10:00:13.000")
    by_language = {s.key: s for s in summary.by_language}
    assert [s.key for s in summary.by_language] == ["en", "zh"]  # most decisions first
    en, zh = by_language["en"], by_language["zh"]
    assert (en.k, en.n, en.not_judged) == (2, 10, 0)
    assert en.interval == rate(2, 10).interval
    # The user saw a block: it counts in the block rate, and is named as not judged beside it.
    assert (zh.k, zh.n, zh.not_judged, zh.actions) == (1, 4, 1, {"block": 1, "pass": 3})
    # For the judge, what it could not judge is outside the denominator, never a clean verdict.
    (judge,) = summary.by_judge
    assert (judge.key, judge.k, judge.n, judge.not_judged) == ("abuse.lexicon", 2, 13, 1)
    assert judge.interval == rate(2, 13).interval
    assert {s.key: s.n for s in summary.by_model} == {"m1": 11, "(unnamed)": 3}
    assert summary.overall is not None and (summary.overall.k, summary.overall.n) == (3, 14)


def test_latency_quantiles_are_latencies_some_request_had(tmp_path):
    rows = [_row(i, "en", "pass", "clean", latency=float(i + 1)) for i in range(50)]
    summary = guard_summary(_stored(tmp_path, rows), confidence=0.9)
    assert summary.latency_ms == {"median": 25.0, "p99": 50.0, "max": 50.0}
    assert summary.by_language[0].interval.confidence == 0.9
    assert json.loads(json.dumps(summary.to_dict()))["by_language"][0]["n"] == 50


def test_a_judge_that_never_judged_has_no_rate_and_nothing_stored_gives_an_empty_summary(tmp_path):
    rows = [_row(i, "en", "block", None) for i in range(3)]
    (judge,) = guard_summary(_stored(tmp_path, rows)).by_judge
    assert (judge.n, judge.not_judged) == (0, 3) and math.isnan(judge.estimate)
    assert judge.to_dict()["estimate"] is None and judge.to_dict()["interval"] is None
    empty = guard_summary([])
    assert (empty.decisions, empty.overall, empty.by_language) == (0, None, [])


def test_the_summary_is_one_pass_over_a_generator_with_the_same_numbers(tmp_path: Path) -> None:
    rows = ([_row(i, "en", "block", "abusive", latency=float(i)) for i in range(5)]
            + [_row(i, "zh", "pass", "clean", latency=float(i), model=None) for i in range(5, 40)]
            + [_row(40, "fr", "block", None, latency=99.5)])
    records = _stored(tmp_path, rows)
    once = (r for r in records)  # what guard-stats feeds it: the store's pages, read once
    streamed = guard_summary(once, confidence=0.9)
    assert next(once, None) is None
    assert streamed.to_dict() == guard_summary(list(records), confidence=0.9).to_dict()
    assert [s.key for s in streamed.by_language] == ["zh", "en", "fr"]
    assert streamed.latency_ms == {"median": 20.0, "p99": 99.5, "max": 99.5}
