"""Copying runs from one store to another (SQLite to PostgreSQL, PostgreSQL to SQLite, or alike),
with everything that hangs off them: targets, prompts, samples, turns, the judge identities
their verdicts name, verdicts on samples, pairs and turns, and review queues with their items
and reviewers' labels.

Row ids differ between stores, so nothing is copied by id: a run's targets, prompts, judges and
review queues are few and mapped id to id in memory; the rows that come by the million (samples,
turns, verdicts, labels) are streamed in pages ordered by id (keyset pages: the memory stays
flat however large the run) and name their sample or turn by its work-item key (target, prompt,
sample index, turn), looked up in the destination as it is inserted, as the writer does. Rows
are inserted in the order of their source ids, so every read ordered "as stored" reads alike in
both stores.

A run is copied in one transaction of the destination: whole or not at all. The source is read
in one snapshot. The counts of rows of each kind are compared between the two stores before the
copy commits. Leases (live state of a process), the guard's decisions and the monitor's turns
(which belong to no run) are not copied.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from levelhead.errors import StoreError
from levelhead.store._dialect import is_server_url

if TYPE_CHECKING:
    from levelhead.store._postgres import PostgresStore
    from levelhead.store._sqlite import SQLiteStore

    AnyStore = SQLiteStore | PostgresStore

__all__ = ["TABLES", "CopiedRun", "copy_runs"]

#: The kinds of rows copied with a run, in the order they are copied.
TABLES = ("targets", "prompts", "judges", "samples", "verdicts", "pair_verdicts", "turns",
          "turn_verdicts", "review_queues", "review_items", "review_labels")

#: Rows read and written at a time.
BATCH = 2000

# The judge identities a run's rows name (``?``: the run's id, four times).
_USED_JUDGES = (
    "SELECT v.judge_id FROM verdicts v JOIN samples s ON s.id = v.sample_id WHERE s.run_id = ?"
    " UNION SELECT v.judge_id FROM pair_verdicts v JOIN samples s ON s.id = v.sample_a"
    " WHERE s.run_id = ? UNION SELECT v.judge_id FROM turn_verdicts v JOIN turns u"
    " ON u.id = v.turn_id WHERE u.run_id = ? UNION SELECT judge_id FROM review_queues"
    " WHERE run_id = ?")
# How many rows of each kind a run has (``?``: the run's id, as often as it appears).
_COUNTS = {
    "targets": "SELECT COUNT(*) FROM targets WHERE run_id = ?",
    "prompts": "SELECT COUNT(*) FROM prompts WHERE run_id = ?",
    "judges": f"SELECT COUNT(*) FROM ({_USED_JUDGES}) AS used",
    "samples": "SELECT COUNT(*) FROM samples WHERE run_id = ?",
    "verdicts": ("SELECT COUNT(*) FROM verdicts v JOIN samples s ON s.id = v.sample_id"
                 " WHERE s.run_id = ?"),
    "pair_verdicts": ("SELECT COUNT(*) FROM pair_verdicts v JOIN samples a ON a.id = v.sample_a"
                      " JOIN samples b ON b.id = v.sample_b WHERE a.run_id = ? AND b.run_id = ?"),
    "turns": "SELECT COUNT(*) FROM turns WHERE run_id = ?",
    "turn_verdicts": ("SELECT COUNT(*) FROM turn_verdicts v JOIN turns u ON u.id = v.turn_id"
                      " WHERE u.run_id = ?"),
    "review_queues": "SELECT COUNT(*) FROM review_queues WHERE run_id = ?",
    "review_items": ("SELECT COUNT(*) FROM review_items i JOIN review_queues q"
                     " ON q.id = i.queue_id WHERE q.run_id = ?"),
    "review_labels": ("SELECT COUNT(*) FROM review_labels l JOIN review_queues q"
                      " ON q.id = l.queue_id WHERE q.run_id = ?"),
}

_SAMPLE_COLS = ("status, text, messages_json, latency_ms, prompt_tokens, completion_tokens,"
                " finish_reason, error, seed, attempts, created_ms")
_TURN_COLS = ("turn, user_text, status, text, latency_ms, prompt_tokens, completion_tokens,"
              " finish_reason, error, seed, attempts, created_ms")
_VERDICT_COLS = "label, score, rationale, extra_json, created_ms"
_AT_SAMPLE = " FROM samples WHERE target_id = ? AND prompt_id = ? AND sample_index = ?"


@dataclass(frozen=True, slots=True)
class CopiedRun:
    """One run copied.

    Attributes:
        name: The run's name (the same in both stores).
        source_id: Its id in the source store.
        copy_id: Its id in the destination store.
        rows: Rows of each kind (:data:`TABLES`) copied; the destination holds as many as the
            source (checked before the copy committed).
    """

    name: str
    source_id: int
    copy_id: int
    rows: dict[str, int]


#: Told of the rows of one kind copied so far: (run name, kind, rows so far, rows in all).
ProgressCallback = Callable[[str, str, int, int], None]


def copy_runs(source: AnyStore, destination: AnyStore, runs: Sequence[str | int] = (), *,
              progress: ProgressCallback | None = None, batch: int = BATCH) -> list[CopiedRun]:
    """Copy runs from ``source`` to ``destination``, oldest first.

    Args:
        source: The store to copy from (may be opened read-only).
        destination: The store to copy into, opened to write.
        runs: Names or ids of the runs to copy (default: every run of ``source``).
        progress: Called after each page of rows written.
        batch: Rows read and written at a time.

    Returns:
        What was copied, run by run.

    Raises:
        RunNotFoundError: a run named is not in ``source``.
        StoreError: ``destination`` is read-only or is ``source``; a run of that name is already
            in ``destination``, or is being run now in ``source``; or the counts of rows differ
            after the copy (nothing of that run is then kept).
    """
    if destination.read_only:
        raise StoreError(f"store {destination.path} was opened read-only; it cannot be copied "
                         "into")
    if same_place(source.path, destination.path):
        raise StoreError(f"{source.path} is both the source and the destination of the copy")
    found = ([source.find_run(ref) for ref in runs] if runs else
             [source.find_run(info.id) for info in reversed(source.list_runs())])
    chosen = list({r.id: r for r in found}.values())  # a run named twice is copied once
    for run in chosen:
        holder = source.lease_of(run.id)
        if holder is not None:
            raise StoreError(f"run '{run.name}' is being run now ({holder.command} by pid "
                             f"{holder.pid} on {holder.host}); copy it once it has finished")
        if destination._conn.execute("SELECT 1 FROM runs WHERE name = ?",
                                     (run.name,)).fetchone() is not None:
            raise StoreError(f"run '{run.name}' already exists in {destination.path}; a copy "
                             "never overwrites a run (copy into another store, or leave that "
                             "run out with --run)")
    return [_copy_run(source, destination, run.id, progress, batch) for run in chosen]


def same_place(a: str, b: str) -> bool:
    """Whether two store paths (files or URLs) name one store."""
    if is_server_url(a) or is_server_url(b):
        return a == b
    return os.path.realpath(a) == os.path.realpath(b)


@contextlib.contextmanager
def _bulk_transaction(s: AnyStore) -> Iterator[None]:
    """One transaction for the whole copy of a run. On SQLite it takes the write lock (one
    writer at a time). On PostgreSQL it does not take the store's write lock, which orders short
    writes (a writer's batch, a lease): a long copy would keep every other writer waiting; the
    run's new rows are its own, and the unique name of the run still admits one run by a name."""
    conn = s._conn
    conn.execute("BEGIN" if is_server_url(s.path) else "BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def _read_snapshot(s: AnyStore) -> Iterator[None]:
    conn = s._conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _counts(s: AnyStore, run_id: int) -> dict[str, int]:
    return {table: int(s._conn.execute(sql, (run_id,) * sql.count("?")).fetchone()[0])
            for table, sql in _COUNTS.items()}


def _pages(s: AnyStore, sql: str, args: tuple[Any, ...], batch: int, start: int = 0
           ) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` (which ends ``... > ? ORDER BY <key> LIMIT ?`` and selects its key
    first), a page at a time: each page starts after the last key of the one before."""
    last = start
    while True:
        rows = s._conn.execute(sql, (*args, last, batch)).fetchall()
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        last = rows[-1][0]


class _Copy:
    """The copy of one run: the id maps of its small tables, and the streaming of its rows."""

    def __init__(self, source: AnyStore, destination: AnyStore, run_id: int,
                 totals: dict[str, int], progress: ProgressCallback | None, batch: int,
                 name: str) -> None:
        self.src, self.dst, self.run_id = source, destination, run_id
        self.totals, self.progress, self.batch, self.name = totals, progress, batch, name
        self.copied = dict.fromkeys(TABLES, 0)
        self.targets: dict[int, int] = {}
        self.prompts: dict[int, int] = {}
        self.judges: dict[int, int] = {}
        self.queues: dict[int, int] = {}

    def _done(self, table: str, rows: int) -> None:
        self.copied[table] += rows
        if self.progress is not None:
            self.progress(self.name, table, self.copied[table], self.totals[table])

    def _stream(self, table: str, select: str, insert: str,
                params: Callable[[tuple[Any, ...]], tuple[Any, ...]],
                args: tuple[Any, ...] | None = None, start: int = 0) -> None:
        for page in _pages(self.src, select, args if args is not None else (self.run_id,),
                           self.batch, start):
            self.dst._conn.executemany(insert, [params(row) for row in page])
            self._done(table, len(page))

    def _sample_key(self, tid: int, pid: int, k: int) -> tuple[int, int, int]:
        return (self.targets[tid], self.prompts[pid], k)

    def run(self, new_run_id: int) -> None:
        src, dst = self.src._conn, self.dst._conn
        for old, name, kind, settings, settings_hash in src.execute(
                "SELECT id, name, kind, settings_json, settings_hash FROM targets"
                " WHERE run_id = ? ORDER BY id", (self.run_id,)).fetchall():
            self.targets[old] = int(dst.execute(
                "INSERT INTO targets (run_id, name, kind, settings_json, settings_hash)"
                " VALUES (?,?,?,?,?)", (new_run_id, name, kind, settings, settings_hash)
            ).lastrowid or 0)
        self._done("targets", len(self.targets))
        for old, probe, prompt_id, messages, tags in src.execute(
                "SELECT id, probe, prompt_id, messages_json, tags_json FROM prompts"
                " WHERE run_id = ? ORDER BY id", (self.run_id,)).fetchall():
            self.prompts[old] = int(dst.execute(
                "INSERT INTO prompts (run_id, probe, prompt_id, messages_json, tags_json)"
                " VALUES (?,?,?,?,?)", (new_run_id, probe, prompt_id, messages, tags)
            ).lastrowid or 0)
        self._done("prompts", len(self.prompts))
        for old, name, version, args_json in _used_judges(self.src, self.run_id):
            # Made (and committed) before the bulk transaction: see _ensure_judges.
            self.judges[old] = int(dst.execute(
                "SELECT id FROM judges WHERE name = ? AND version = ? AND args_json = ?",
                (name, version, args_json)).fetchone()[0])
        self._done("judges", len(self.judges))

        self._stream(
            "samples",
            f"SELECT id, target_id, prompt_id, sample_index, {_SAMPLE_COLS} FROM samples"
            " WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?",
            "INSERT INTO samples (run_id, target_id, prompt_id, sample_index, "
            f"{_SAMPLE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            lambda r: (new_run_id, *self._sample_key(r[1], r[2], r[3]), *r[4:]))
        self._stream(
            "verdicts",
            "SELECT v.id, s.target_id, s.prompt_id, s.sample_index, v.judge_id, v.label, v.score,"
            " v.rationale, v.extra_json, v.created_ms FROM verdicts v JOIN samples s"
            " ON s.id = v.sample_id WHERE s.run_id = ? AND v.id > ? ORDER BY v.id LIMIT ?",
            f"INSERT INTO verdicts (sample_id, judge_id, {_VERDICT_COLS})"
            " SELECT id, ?, ?, ?, ?, ?, ?" + _AT_SAMPLE,
            lambda r: (self.judges[r[4]], *r[5:], *self._sample_key(r[1], r[2], r[3])))
        self._stream(
            "pair_verdicts",
            "SELECT v.id, a.target_id, a.prompt_id, a.sample_index, b.target_id, b.prompt_id,"
            " b.sample_index, v.judge_id, v.label, v.score, v.rationale, v.extra_json,"
            " v.created_ms FROM pair_verdicts v JOIN samples a ON a.id = v.sample_a"
            " JOIN samples b ON b.id = v.sample_b WHERE a.run_id = ? AND b.run_id = ?"
            " AND v.id > ? ORDER BY v.id LIMIT ?",
            f"INSERT INTO pair_verdicts (sample_a, sample_b, judge_id, {_VERDICT_COLS})"
            " SELECT a.id, b.id, ?, ?, ?, ?, ?, ? FROM samples a, samples b"
            " WHERE a.target_id = ? AND a.prompt_id = ? AND a.sample_index = ?"
            " AND b.target_id = ? AND b.prompt_id = ? AND b.sample_index = ?",
            lambda r: (self.judges[r[7]], *r[8:], *self._sample_key(r[1], r[2], r[3]),
                       *self._sample_key(r[4], r[5], r[6])),
            args=(self.run_id, self.run_id))
        self._stream(
            "turns",
            # `+run_id`: walk the primary key from the last id (SQLite, without statistics,
            # would walk the run's index and sort each page: quadratic in the run's turns).
            f"SELECT id, target_id, prompt_id, sample_index, {_TURN_COLS} FROM turns"
            " WHERE +run_id = ? AND id > ? ORDER BY id LIMIT ?",
            f"INSERT INTO turns (run_id, target_id, prompt_id, sample_index, {_TURN_COLS})"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            lambda r: (new_run_id, *self._sample_key(r[1], r[2], r[3]), *r[4:]))
        self._stream(
            "turn_verdicts",
            "SELECT v.id, u.target_id, u.prompt_id, u.sample_index, u.turn, v.judge_id, v.label,"
            " v.score, v.rationale, v.extra_json, v.created_ms FROM turn_verdicts v"
            " JOIN turns u ON u.id = v.turn_id WHERE +u.run_id = ? AND v.id > ?"
            " ORDER BY v.id LIMIT ?",
            f"INSERT INTO turn_verdicts (turn_id, judge_id, {_VERDICT_COLS})"
            " SELECT id, ?, ?, ?, ?, ?, ? FROM turns"
            " WHERE target_id = ? AND prompt_id = ? AND sample_index = ? AND turn = ?",
            lambda r: (self.judges[r[5]], *r[6:], *self._sample_key(r[1], r[2], r[3]), r[4]))
        self._reviews(new_run_id)

    def _reviews(self, new_run_id: int) -> None:
        src, dst = self.src._conn, self.dst._conn
        for old, name, judge_id, labels, design, created in src.execute(
                "SELECT id, name, judge_id, labels_json, design_json, created_at"
                " FROM review_queues WHERE run_id = ? ORDER BY id", (self.run_id,)).fetchall():
            self.queues[old] = int(dst.execute(
                "INSERT INTO review_queues (run_id, name, judge_id, labels_json, design_json,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (new_run_id, name, self.judges[judge_id], labels, design, created)
            ).lastrowid or 0)
        self._done("review_queues", len(self.queues))
        for old, new in self.queues.items():
            def item(r: tuple[Any, ...], queue: int = new) -> tuple[Any, ...]:
                return (queue, r[0], r[4], r[5], *self._sample_key(r[1], r[2], r[3]))

            self._stream(
                "review_items",
                "SELECT i.position, s.target_id, s.prompt_id, s.sample_index, i.stratum,"
                " i.inclusion_prob FROM review_items i JOIN samples s ON s.id = i.sample_id"
                " WHERE i.queue_id = ? AND i.position > ? ORDER BY i.position LIMIT ?",
                "INSERT INTO review_items (queue_id, position, sample_id, stratum, inclusion_prob)"
                " SELECT ?, ?, id, ?, ?" + _AT_SAMPLE, item, args=(old,), start=-1)
        self._stream(
            "review_labels",
            "SELECT l.id, l.queue_id, s.target_id, s.prompt_id, s.sample_index, l.reviewer,"
            " l.label, l.note, l.created_at, l.undone FROM review_labels l"
            " JOIN review_queues q ON q.id = l.queue_id JOIN samples s ON s.id = l.sample_id"
            " WHERE q.run_id = ? AND l.id > ? ORDER BY l.id LIMIT ?",
            "INSERT INTO review_labels (queue_id, sample_id, reviewer, label, note, created_at,"
            " undone) SELECT ?, id, ?, ?, ?, ?, ?" + _AT_SAMPLE,
            lambda r: (self.queues[r[1]], *r[5:], *self._sample_key(r[2], r[3], r[4])))


def _used_judges(source: AnyStore, run_id: int) -> list[tuple[int, str, str, str]]:
    """The judge identities a run's verdicts and queues name: (id, name, version, arguments)."""
    return [(int(r[0]), r[1], r[2], r[3]) for r in source._conn.execute(
        f"SELECT id, name, version, args_json FROM judges WHERE id IN ({_USED_JUDGES})"
        " ORDER BY id", (run_id,) * 4).fetchall()]


def _ensure_judges(source: AnyStore, destination: AnyStore, run_id: int) -> None:
    """Make the run's judge identities in DST in a short transaction of their own, before the
    long one: a run starting meanwhile with the same judge would otherwise wait, holding the
    store's write lock, for the copy's uncommitted identity row (and every writer behind it). An
    identity left behind by a copy that then fails is harmless: identities are shared."""
    judges = _used_judges(source, run_id)
    if not judges:
        return
    with destination.transaction():
        for _, name, version, args_json in judges:
            destination._conn.execute(
                "INSERT OR IGNORE INTO judges (name, version, args_json) VALUES (?,?,?)",
                (name, version, args_json))


def _copy_run(source: AnyStore, destination: AnyStore, run_id: int,
              progress: ProgressCallback | None, batch: int) -> CopiedRun:
    with _read_snapshot(source):
        run = source.find_run(run_id)
        row = source._conn.execute("SELECT created_at, spec_json, seed, samples, planned, version"
                                   " FROM runs WHERE id = ?", (run_id,)).fetchone()
        totals = _counts(source, run_id)
        copy = _Copy(source, destination, run_id, totals, progress, batch, run.name)
        try:
            _ensure_judges(source, destination, run_id)
            with _bulk_transaction(destination):
                # Under a name of its own until the end: a run started meanwhile under the real
                # name (which would then make this copy fail) does not wait on this one's row.
                new_id = int(destination._conn.execute(
                    "INSERT INTO runs (name, created_at, spec_json, seed, samples, planned,"
                    " version) VALUES (?,?,?,?,?,?,?)",
                    (f"\x1fcopy-{uuid.uuid4().hex}", *row)).lastrowid or 0)
                copy.run(new_id)
                destination._conn.execute("UPDATE runs SET name = ? WHERE id = ?",
                                          (run.name, new_id))
                landed = _counts(destination, new_id)
                if landed != totals:
                    differ = ", ".join(f"{t} {totals[t]} -> {landed[t]}" for t in TABLES
                                       if landed[t] != totals[t])
                    raise StoreError(f"copy of run '{run.name}' to {destination.path}: the "
                                     f"counts of rows differ ({differ}); nothing of it was kept")
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"copy of run '{run.name}' to {destination.path} failed ({exc}); "
                             "nothing of it was kept") from None
        except sqlite3.Error as exc:
            raise StoreError(f"copy of run '{run.name}' to {destination.path} failed ({exc}); "
                             "nothing of it was kept: try again") from None
    return CopiedRun(run.name, run_id, new_id, totals)
