"""The guard's decisions: one row per screened reply, appended in batches, read back in order
(for ``levelhead guard-stats`` and, later, the monitor)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from levelhead.errors import StoreError
from levelhead.store._connection import SQLiteConnection, time_bounds, utc_text
from levelhead.store._records import GuardDecisionRecord, GuardFinding
from levelhead.store._rows import GuardDecisionRow

_ACTIONS = frozenset({"pass", "flag", "redact", "block"})
_COLUMNS = ("at, request_id, choice, model, language, streamed, action, judged, latency_ms,"
            " judge_ms, verdicts_json, text")


class GuardRows(SQLiteConnection):
    """Writing and reading the guard's decisions."""

    def add_guard_decisions(self, rows: Sequence[GuardDecisionRow]) -> int:
        """Append the guard's decisions in one transaction; returns how many were written.

        Raises:
            StoreError: a row with an unknown action, or with findings that are not a JSON list;
                a read-only store; a store locked for too long.
        """
        for row in rows:
            if row.action not in _ACTIONS:
                raise StoreError(f"guard decision {row.request_id}: unknown action {row.action!r}")
            try:
                ok = isinstance(json.loads(row.verdicts_json), list)
            except ValueError:
                ok = False
            if not ok:
                raise StoreError(f"guard decision {row.request_id}: its findings are not a JSON "
                                 "list")
        if not rows:
            return 0
        with self._writing("record the guard's decisions"):
            self._conn.executemany(
                f"INSERT INTO guard_decisions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                [(utc_text(r.at), r.request_id, r.choice, r.model, r.language, int(r.streamed), r.action,
                  int(r.judged), r.latency_ms, r.judge_ms, r.verdicts_json, r.text) for r in rows])
        return len(rows)

    def guard_decisions(self, *, since: str | None = None, until: str | None = None,
                        after_id: int = 0, limit: int | None = None) -> list[GuardDecisionRecord]:
        """The guard's decisions in the order written.

        Args:
            since: only those made at or after this UTC time (ISO 8601, e.g. ``2026-12-07`` or
                ``2026-12-07T10:00:00``).
            until: only those made before this time.
            after_id: only rows after this id (to read on from where a reader stopped).
            limit: at most this many rows.
        """
        where, args = time_bounds("at", since, until)
        where.insert(0, "id > ?")
        args.insert(0, after_id)
        sql = (f"SELECT id, {_COLUMNS} FROM guard_decisions WHERE {' AND '.join(where)}"
               " ORDER BY id")
        if limit is not None:
            sql += " LIMIT ?"
            args.append(max(0, int(limit)))
        return [_record(r) for r in self._conn.execute(sql, args)]


def _record(row: tuple[Any, ...]) -> GuardDecisionRecord:
    findings = tuple(GuardFinding(str(f["judge"]), f.get("label"), str(f["action"]),
                                  f.get("error")) for f in json.loads(row[11]))
    return GuardDecisionRecord(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]),
                               row[7], bool(row[8]), row[9], row[10], findings, row[12])
