"""The guard's decision log: a thread that writes decisions to the store in batches, and lives
on whatever a batch does (issue 18)."""

from __future__ import annotations

import json

from levelhead import open_store
from levelhead.guard import DecisionLog
from levelhead.store import GuardDecisionRow


def _row(model: str, request_id: str = "r") -> GuardDecisionRow:
    finding = [{"judge": "abuse.lexicon", "label": "clean", "action": "pass", "error": None}]
    return GuardDecisionRow("2026-12-07T10:00:00.000Z", request_id, 0, model, "en", False, "pass",
                            True, 1.0, 0.1, json.dumps(finding), None)


def test_a_batch_the_store_refuses_is_dropped_and_the_next_ones_are_written(tmp_path):
    store = open_store(tmp_path / "s.db")
    log = DecisionLog(store, every_s=0.01)
    log.put(_row("bad \ud800 model"))  # a lone surrogate: SQLite cannot encode it
    log._stop.wait(0.3)  # let the thread meet the bad batch on its own
    log.put(_row("good", "r2"))
    log.close()
    assert (log.dropped, log.written) == (1, 1)
    check = open_store(tmp_path / "s.db", read_only=True)
    try:
        assert [d.request_id for d in check.guard_decisions()] == ["r2"]
    finally:
        check.close()
