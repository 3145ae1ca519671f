"""The guard's decisions in the store (issue 18): the guard half of the store contract.

It runs once per entry of the contract's ``IMPLEMENTATIONS`` (SQLite today), and
``test_store_contract.py`` counts what it calls as exercised. The last test is about the SQLite
file itself: a store written before the guard's table existed, opened read-only.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
import test_store_contract as contract
from test_store_contract import Implementation

from levelhead import open_store
from levelhead.errors import StoreError
from levelhead.store import GuardDecisionRecord, GuardDecisionRow, GuardFinding, Store

# The contract's fixtures: every store implementation, and a fresh empty store of each.
implementation = contract.implementation
store = contract.store


def _row(at: str, action: str = "pass", *, request_id: str = "r", language: str = "en",
         label: str | None = "clean", text: str | None = None, choice: int = 0) -> GuardDecisionRow:
    finding = {"judge": "abuse.lexicon", "label": label, "action": action,
               "error": None if label is not None else "timed out"}
    return GuardDecisionRow(at, request_id, choice, "m1", language, False, action,
                            label is not None, 12.5, 0.25, json.dumps([finding]), text)


def test_decisions_are_appended_and_read_back_in_order_with_their_findings(store: Store) -> None:
    rows = [_row("2026-12-07T10:00:00.000+00:00", request_id="a"),
            _row("2026-12-07T10:00:01.000+00:00", "block", request_id="b", language="zh",
                 label="abusive", text="滚"),
            _row("2026-12-07T10:00:02.000+00:00", "block", request_id="c", label=None)]
    assert store.add_guard_decisions(rows) == 3
    assert store.add_guard_decisions([]) == 0
    got = store.guard_decisions()
    assert [d.request_id for d in got] == ["a", "b", "c"]
    assert [d.id for d in got] == sorted(d.id for d in got)
    b = got[1]
    assert isinstance(b, GuardDecisionRecord)
    assert (b.action, b.language, b.judged, b.streamed, b.model, b.text, b.latency_ms,
            b.judge_ms) == ("block", "zh", True, False, "m1", "滚", 12.5, 0.25)
    assert b.findings == (GuardFinding("abuse.lexicon", "abusive", "block", None),)
    # A judge that could not judge stays "not judged", never a pass.
    assert got[2].judged is False and got[2].findings[0].label is None
    assert got[2].findings[0].error == "timed out"
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.action = "pass"  # type: ignore[misc]


def test_decisions_are_read_by_time_and_on_from_an_id(store: Store) -> None:
    store.add_guard_decisions([_row(f"2026-12-0{d}T12:00:00.000+00:00", request_id=f"d{d}")
                               for d in (5, 6, 7)])
    assert [d.request_id for d in store.guard_decisions(since="2026-12-06")] == ["d6", "d7"]
    assert [d.request_id for d in store.guard_decisions(until="2026-12-06")] == ["d5"]
    assert [d.request_id for d in store.guard_decisions(since="2026-12-06",
                                                        until="2026-12-07")] == ["d6"]
    first = store.guard_decisions(limit=1)
    assert [d.request_id for d in first] == ["d5"]
    assert [d.request_id for d in store.guard_decisions(after_id=first[0].id)] == ["d6", "d7"]


def test_a_malformed_decision_is_refused_whole_with_one_line(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown action 'drop'"):
        store.add_guard_decisions([_row("2026-12-07T10:00:00+00:00"),
                                   _row("2026-12-07T10:00:01+00:00", "drop", request_id="x")])
    bad = _row("2026-12-07T10:00:00+00:00")._replace(verdicts_json="{not json")
    with pytest.raises(StoreError, match="not a JSON list"):
        store.add_guard_decisions([bad])
    assert store.guard_decisions() == []  # nothing of a refused batch is written


def test_a_read_only_store_refuses_to_record_decisions(implementation: Implementation,
                                                       tmp_path: Path) -> None:
    implementation.open(tmp_path).close()
    s = implementation.open(tmp_path, read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only"):
            s.add_guard_decisions([_row("2026-12-07T10:00:00+00:00")])
        assert s.guard_decisions() == []
    finally:
        s.close()


# -------------------------------------------------------------------------- the SQLite file
def test_a_store_from_before_the_guard_table_reads_as_having_no_decisions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:  # as a levelhead before migration 0006 left it
        for table in ("monitor_malformed", "monitor_sources", "monitor_verdicts", "monitor_turns",
                      "guard_decisions"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_migrations WHERE name >= '0006'")
    s = open_store(path, read_only=True)
    try:
        assert s.guard_decisions() == []
    finally:
        s.close()
    s = open_store(path)  # opened to write, it is migrated
    try:
        assert s.add_guard_decisions([_row("2026-12-07T10:00:00+00:00")]) == 1
    finally:
        s.close()


def test_times_are_kept_in_utc_and_bounds_in_any_iso_form_select_the_same(store: Store) -> None:
    store.add_guard_decisions([_row(f"2026-12-07T1{h}:00:00.000+00:00", request_id=f"h{h}")
                               for h in (0, 1, 2)])
    assert [d.at for d in store.guard_decisions()] == [
        "2026-12-07T10:00:00.000Z", "2026-12-07T11:00:00.000Z", "2026-12-07T12:00:00.000Z"]
    for since in ("2026-12-07T11:00Z", "2026-12-07T13:00:00+02:00", "2026-12-07 11:00",
                  "2026-12-07T11:00:00.000+00:00"):
        assert [d.request_id for d in store.guard_decisions(since=since)] == ["h1", "h2"], since
    with pytest.raises(StoreError, match="expected an ISO 8601 date or time"):
        store.guard_decisions(since="yesterday")
