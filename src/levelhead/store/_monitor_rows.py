"""The monitor's rows: production conversations' assistant turns with their verdicts, where
ingesting each source got to, and the lines that could not be read.

A batch of turns, the source's new position and its malformed lines are written in one
transaction, so that a restart resumes exactly after the last line whose turns are stored:
every line is ingested once. A conversation logged again with more turns adds only the turns not
stored yet (they are unique per conversation and turn).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from levelhead.errors import StoreError
from levelhead.store._connection import SQLiteConnection, time_bounds, timestamp, utc_text
from levelhead.store._records import MonitorCountRecord, MonitorSourceRecord
from levelhead.store._rows import MonitorTurnRow

#: The most malformed lines kept per source (the newest); the count of all of them is kept.
MALFORMED_KEPT = 1_000
_FEEDBACK = frozenset({"up", "down", None})
_PERIODS = {"day": 10, "hour": 13}


class MonitorRows(SQLiteConnection):
    """Writing and reading the monitor's turns, verdicts and sources."""

    def add_monitor_batch(self, source: str, turns: Sequence[MonitorTurnRow], *,
                          position: tuple[int | None, int | None, str, int, int],
                          records: int, malformed: Sequence[tuple[int, str]] = ()) -> int:
        """Store a batch read from ``source``, and where reading it got to, in one transaction.

        Args:
            source: the source's name (a file path as given, or ``guard``).
            turns: the assistant turns read, with their verdicts.
            position: ``(device, inode, fingerprint, offset, line)`` after the batch's last line.
            records: the conversations (lines) the batch holds.
            malformed: ``(line, reason)`` of the lines that could not be read.

        Returns:
            The turns stored (those already there are skipped).

        Raises:
            StoreError: a turn number below 1, a feedback other than up/down, an inclusion
                probability outside (0, 1]; a read-only store; a store locked for too long.
        """
        for t in turns:
            if t.turn < 1 or t.feedback not in _FEEDBACK:
                raise StoreError(f"monitor turn {t.conversation}#{t.turn}: turn must be 1 or "
                                 "more and feedback up, down or none")
            if any(not 0 < p <= 1 for _, _, p in t.verdicts):
                raise StoreError(f"monitor turn {t.conversation}#{t.turn}: an inclusion "
                                 "probability must be in (0, 1]")
        now = timestamp()
        stored = 0
        with self._writing(f"record the monitor's batch from {source}"):
            c = self._conn
            for t in turns:
                cur = c.execute(
                    "INSERT OR IGNORE INTO monitor_turns (source, conversation, turn, at, model,"
                    " language, feedback, text, text_hash, ingested_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (source, t.conversation, t.turn, t.at and utc_text(t.at), t.model,
                     t.language, t.feedback, t.text, t.text_hash, now))
                if t.feedback is not None:
                    # The newest thumbs of a conversation count once, on its last turn.
                    c.execute("UPDATE monitor_turns SET feedback = CASE WHEN turn = ? THEN ?"
                              " ELSE NULL END WHERE source = ? AND conversation = ?"
                              " AND (feedback IS NOT NULL OR turn = ?)",
                              (t.turn, t.feedback, source, t.conversation, t.turn))
                if cur.rowcount != 1:
                    continue
                stored += 1
                turn_id = cur.lastrowid
                c.executemany("INSERT INTO monitor_verdicts (turn_id, judge_id, label,"
                              " inclusion_prob) VALUES (?, ?, ?, ?)",
                              [(turn_id, j, label, p) for j, label, p in t.verdicts])
            device, inode, fingerprint, offset, line = position
            c.execute(
                "INSERT INTO monitor_sources (source, device, inode, fingerprint, offset, line,"
                " records, malformed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET device = excluded.device,"
                " inode = excluded.inode, fingerprint = excluded.fingerprint,"
                " offset = excluded.offset, line = excluded.line,"
                " records = records + excluded.records,"
                " malformed = malformed + excluded.malformed, updated_at = excluded.updated_at",
                (source, device, inode, fingerprint, offset, line, records, len(malformed), now))
            if malformed:
                c.executemany("INSERT INTO monitor_malformed (source, line, reason, at)"
                              " VALUES (?, ?, ?, ?)",
                              [(source, n, reason, now) for n, reason in malformed])
                c.execute("DELETE FROM monitor_malformed WHERE source = ? AND id <= (SELECT id"
                          " FROM monitor_malformed WHERE source = ? ORDER BY id DESC"
                          " LIMIT 1 OFFSET ?)", (source, source, MALFORMED_KEPT))
        return stored

    def monitor_sources(self) -> list[MonitorSourceRecord]:
        """Every source ingested from, with where reading it got to, by name."""
        rows = self._conn.execute(
            "SELECT source, device, inode, fingerprint, offset, line, records, malformed,"
            " updated_at"
            " FROM monitor_sources ORDER BY source")
        return [MonitorSourceRecord(*r) for r in rows]

    def monitor_malformed(self, source: str) -> list[tuple[int, str]]:
        """The newest malformed lines of ``source`` kept, ``(line, reason)``, in line order."""
        rows = self._conn.execute("SELECT line, reason FROM monitor_malformed WHERE source = ?"
                                  " ORDER BY id", (source,))
        return [(int(n), str(reason)) for n, reason in rows]

    def monitor_turn_count(self) -> int:
        """How many turns the monitor holds."""
        return int(self._conn.execute("SELECT COUNT(*) FROM monitor_turns").fetchone()[0])

    def monitor_counts(self, *, by: str = "order", step: int = 1_000, since: str | None = None,
                       until: str | None = None) -> list[MonitorCountRecord]:
        """Verdict counts per judge identity, label, model, language, feedback and bucket.

        Args:
            by: ``order`` (buckets of ``step`` turns in the order ingested: bucket ``k`` holds
                turns ``k*step+1 .. (k+1)*step``), ``day`` or ``hour`` (of the turn's time;
                turns with none are left out).
            step: the turns per bucket when ``by`` is ``order``.
            since: only turns at or after this UTC time (ISO 8601).
            until: only turns before this time.

        Raises:
            StoreError: an unknown ``by`` or a ``step`` below 1.
        """
        if by == "order":
            if step < 1:
                raise StoreError(f"a bucket of turns must hold at least 1 (got {step})")
            bucket = f"(t.id - 1) / {int(step)}"
        elif by in _PERIODS:
            bucket = f"substr(t.at, 1, {_PERIODS[by]})"
        else:
            raise StoreError(f"monitor counts by {by!r}: expected order, day or hour")
        where, args = time_bounds("t.at", since, until)
        where.insert(0, "1 = 1" if by == "order" else "t.at IS NOT NULL")
        sql = (f"SELECT v.judge_id, j.name, j.version, v.label, t.model, t.language, t.feedback,"
               f" {bucket} AS b, COUNT(*), SUM(1.0 / v.inclusion_prob),"
               " SUM(1.0 / (v.inclusion_prob * v.inclusion_prob))"
               " FROM monitor_verdicts v JOIN monitor_turns t ON t.id = v.turn_id"
               " JOIN judges j ON j.id = v.judge_id"
               f" WHERE {' AND '.join(where)}"
               " GROUP BY v.judge_id, v.label, t.model, t.language, t.feedback, b"
               " ORDER BY b, v.judge_id, v.label")
        return [_count(r) for r in self._conn.execute(sql, args)]


def _count(row: tuple[Any, ...]) -> MonitorCountRecord:
    return MonitorCountRecord(int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4],
                              str(row[5]), row[6], str(row[7]), int(row[8]), float(row[9]),
                              float(row[10]))
