"""The store's single writer: a thread that takes sample, turn and verdict rows from a queue and
commits them in batched transactions, in order, checking the run's lease in each."""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from typing import cast

from levelhead.errors import LeaseLostError, StoreError
from levelhead.store._connection import connect
from levelhead.store._rows import Row, SampleRow, TurnRow, TurnVerdictRow, VerdictRow

_INSERT_SAMPLE = (
    "INSERT OR IGNORE INTO samples (run_id, target_id, prompt_id, sample_index, status, text,"
    " messages_json, latency_ms, prompt_tokens, completion_tokens, finish_reason, error, seed,"
    " attempts, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


# One conflict rule for every row: the first written stands. A sample is never replaced; a
# verdict is never replaced either, except a ``judge_error`` (no verdict could be given), which
# a later judging may fill in. A verdict names its sample by work-item key *and* by the reply it
# judged: the sample row is written before it (one writer, one queue), and a verdict whose reply
# is not the stored one (a second writer's sample, ignored) is not stored at all, so no verdict
# can belong to a reply it did not judge.
def _keep_first(table: str, key: str) -> str:
    return (f" ON CONFLICT ({key}) DO UPDATE SET label = excluded.label, score = excluded.score,"
            " rationale = excluded.rationale, extra_json = excluded.extra_json,"
            f" created_ms = excluded.created_ms WHERE {table}.label = 'judge_error'")


_INSERT_VERDICT = (
    "INSERT INTO verdicts (sample_id, judge_id, label, score, rationale, extra_json,"
    " created_ms) SELECT id, ?, ?, ?, ?, ?, ? FROM samples"
    " WHERE target_id = ? AND prompt_id = ? AND sample_index = ? AND COALESCE(text, '') = ?"
    + _keep_first("verdicts", "sample_id, judge_id")
)
_INSERT_PAIR_VERDICT = (
    "INSERT INTO pair_verdicts (sample_a, sample_b, judge_id, label, score, rationale,"
    " extra_json, created_ms) VALUES (?,?,?,?,?,?,?,?)"
    + _keep_first("pair_verdicts", "sample_a, sample_b, judge_id")
)


_INSERT_TURN = (
    "INSERT OR IGNORE INTO turns (run_id, target_id, prompt_id, sample_index, turn, user_text,"
    " status, text, latency_ms, prompt_tokens, completion_tokens, finish_reason, error, seed,"
    " attempts, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_TURN_VERDICT = (
    "INSERT INTO turn_verdicts (turn_id, judge_id, label, score, rationale,"
    " extra_json, created_ms) SELECT id, ?, ?, ?, ?, ?, ? FROM turns"
    " WHERE target_id = ? AND prompt_id = ? AND sample_index = ? AND turn = ?"
    " AND COALESCE(text, '') = ?"
    + _keep_first("turn_verdicts", "turn_id, judge_id")
)


def _turn_verdict_params(r: TurnVerdictRow) -> tuple[object, ...]:
    return (r.judge_id, r.label, r.score, r.rationale, r.extra_json, r.created_ms,
            r.target_id, r.prompt_id, r.sample_index, r.turn, r.reply)


def _verdict_params(r: VerdictRow) -> tuple[object, ...]:
    return (r.judge_id, r.label, r.score, r.rationale, r.extra_json, r.created_ms,
            r.target_id, r.prompt_id, r.sample_index, r.reply)


class WriterThread:
    """The store's single writer: takes sample and verdict rows from a queue and commits them
    in batches, keeping their order."""

    BATCH = 2000
    LINGER_S = 0.1

    def __init__(self, path: str, lease: tuple[int, str] | None = None,
                 conn: sqlite3.Connection | None = None) -> None:
        self.path = path
        self._lease = lease
        # A connection of its own: the store's (SQLite's by default; the PostgreSQL store's
        # adapter speaks the same interface).
        self._conn = conn if conn is not None else connect(path)
        self._queue: queue.SimpleQueue[Row | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="levelhead-store-writer",
                                        daemon=True)
        self._thread.start()

    async def room(self) -> None:
        """Room for more rows: at once (this queue has no bound; see ``BoundedWriter``)."""
        return None

    def put(self, row: Row) -> None:
        """Queue one row (does not block on the disk)."""
        if self._error is not None:
            raise self._failure()
        self._queue.put(row)

    def close(self) -> None:
        """Write what is queued, then stop. Raises StoreError if a write failed."""
        self._queue.put(None)
        self._thread.join()
        self._conn.close()
        if self._error is not None:
            raise self._failure()

    def _failure(self) -> StoreError:
        if isinstance(self._error, StoreError):
            return self._error
        return StoreError(f"cannot write to the store {self.path}: {self._error}; what was "
                          "written before is kept")

    def _check_lease(self) -> None:
        if self._lease is None:
            return
        run_id, owner = self._lease
        row = self._conn.execute("SELECT owner, host, pid FROM run_leases WHERE run_id = ?",
                                 (run_id,)).fetchone()
        if row is None or row[0] != owner:
            who = "nobody" if row is None else f"pid {row[2]} on {row[1]}"
            raise LeaseLostError(
                f"this process no longer holds the lease of run {run_id} in {self.path} (now: "
                f"{who}), so it writes nothing more; its heartbeat stopped for longer than the "
                "lease lasts (a stalled or suspended process?). See who runs it with: "
                "levelhead runs")

    def _loop(self) -> None:
        q = self._queue
        stop = False
        while not stop:
            batch: list[Row] = []
            item = q.get()
            if item is None:
                break
            batch.append(item)
            deadline = time.monotonic() + self.LINGER_S
            while len(batch) < self.BATCH:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    item = q.get(timeout=timeout)
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                # IMMEDIATE: the lease is read and the rows written under one write lock.
                self._conn.execute("BEGIN IMMEDIATE")
                self._check_lease()
                self._write(batch)
                self._conn.execute("COMMIT")
                self.written += len(batch)
            except BaseException as exc:  # keep the thread alive to report it on close
                self._error = exc
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                break

    def _write(self, batch: list[Row]) -> None:
        # Consecutive rows of one kind go in one executemany; kinds keep their queue order.
        start = 0
        while start < len(batch):
            kind = type(batch[start])
            end = start
            while end < len(batch) and type(batch[end]) is kind:
                end += 1
            rows = batch[start:end]
            if kind is SampleRow:
                self._conn.executemany(_INSERT_SAMPLE, rows)
            elif kind is VerdictRow:
                self._conn.executemany(_INSERT_VERDICT, [_verdict_params(r)
                                                         for r in cast("list[VerdictRow]", rows)])
            elif kind is TurnRow:
                self._conn.executemany(_INSERT_TURN, rows)
            elif kind is TurnVerdictRow:
                self._conn.executemany(_INSERT_TURN_VERDICT,
                                       [_turn_verdict_params(r) for r in cast("list[TurnVerdictRow]", rows)])
            else:
                self._conn.executemany(_INSERT_PAIR_VERDICT, rows)
            start = end
