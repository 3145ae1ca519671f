"""The SQLite store: WAL, one writer thread with batched transactions, named migrations."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import sqlite3
import statistics
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from levelhead import __version__
from levelhead.errors import (
    LeaseLostError,
    RunNotFoundError,
    SpecError,
    StoreError,
    StoreNotFoundError,
)
from levelhead.records import Prompt, RunInfo, Sample, conversation, dump_turns
from levelhead.store._lease import takes_over
from levelhead.store._protocol import (
    LeaseHolder,
    PairVerdictRecord,
    PairVerdictRow,
    PromptProgress,
    RunProgress,
    RunRecord,
    SampleRow,
    StoredSample,
    StoredTurn,
    TaggedSample,
    TargetPromptSummary,
    TurnRecord,
    TurnRow,
    TurnVerdictRecord,
    TurnVerdictRow,
    VerdictRecord,
    VerdictRow,
)

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


_Row = SampleRow | VerdictRow | PairVerdictRow | TurnRow | TurnVerdictRow


def default_store_path() -> str:
    """``$LEVELHEAD_STORE`` or ``./levelhead.db``."""
    return os.environ.get("LEVELHEAD_STORE") or "levelhead.db"


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("levelhead.store") / "migrations"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def _statements(sql: str) -> list[str]:
    """The SQL statements of a migration file, split where SQLite says one is complete."""
    out: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip() and not all(ln.strip().startswith("--") or not ln.strip()
                                   for ln in current.splitlines()):
        raise StoreError(f"incomplete SQL statement in a migration: {current.strip()[:80]}")
    return out


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable against a killed process in WAL mode; only a power cut may lose the
    # last transactions, never corrupt the file.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _additive(statement: str) -> str | None:
    """The statement with its comment lines dropped when it only adds a table or an index, else
    None (it changes what is there: an ALTER, an UPDATE...)."""
    sql = "\n".join(ln for ln in statement.splitlines() if not ln.strip().startswith("--")).strip()
    head = " ".join(sql.split()[:3]).upper()
    return sql if head.startswith(("CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX")) else None


def _connect_read_only(path: str) -> sqlite3.Connection:
    """A connection that cannot change the store at ``path`` (an existing file).

    Where this process may write the file and its folder, a normal connection locked with
    ``PRAGMA query_only``: closing it removes the ``-wal`` and ``-shm`` files as every levelhead
    process does, where a ``mode=ro`` connection would leave them behind. Elsewhere (a read-only
    file, folder or mount) a ``mode=ro`` connection; and where even that cannot open a WAL
    store (a read-only folder with no ``-shm`` file to share), ``immutable=1``, which reads the
    file without locks. That is safe only when nothing writes the store meanwhile, so it is used
    only when there is no ``-wal`` file with changes in it: a writer would have one, and an
    archived store whose last writer closed cleanly does not.
    """
    file = Path(path)
    if os.access(file, os.W_OK) and os.access(file.resolve().parent, os.W_OK):
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:  # access() can be wrong (an -shm file of another user)
            conn.close()
    if not os.access(file, os.R_OK):
        raise StoreError(f"store {path}: cannot read the file (permission denied)")
    uri = "file:" + urllib.parse.quote(str(file.resolve())) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        # SQLITE_READONLY_DIRECTORY / _CANTINIT, or CANTOPEN: no -shm file can be made. Anything
        # else (a lock held too long) is not a reason to read without locks.
        if not getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")):
            raise
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"store {path}: cannot be read where it is: {wal.name} holds changes not yet merged "
            f"into the store and the folder is read-only; copy {file.name} with {wal.name} to a "
            "writable folder and read it there")
    conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None,
                           check_same_thread=False)
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    return conn


def open_store(path: str | os.PathLike[str] | None = None, *, read_only: bool = False,
               create: bool = True) -> SQLiteStore:
    """Open the SQLite store at ``path``: by default creating and migrating it as needed.

    Args:
        path: the store file (default: :func:`default_store_path`).
        read_only: for commands that only read: never create, migrate or write the store, so
            that a read-only file, folder or mount can be inspected (see :class:`SQLiteStore`).
        create: create the store when no file is at ``path``; False for commands that need
            what a store holds (a mistyped path is then an error, not a new empty store).

    Raises:
        StoreNotFoundError: no file at ``path``, and ``read_only`` or not ``create``.
        StoreError: the file cannot be opened or is not a levelhead store.
    """
    return SQLiteStore(str(path) if path is not None else default_store_path(),
                       read_only=read_only, create=create)


class SQLiteStore:
    """A levelhead store in one SQLite file.

    Reads use the caller's connection; sample writes go through :meth:`writer`, a single
    thread that commits in batches so a fast run does not wait on the disk.

    Opened ``read_only`` (the reading commands), the store is neither created, migrated nor
    written, and its journal mode is left as it is: the connection cannot write (see
    :func:`_connect_read_only`), and a store written by an older levelhead is read as it is
    (see :meth:`_check_schema`).
    """

    def __init__(self, path: str, *, read_only: bool = False, create: bool = True) -> None:
        path = str(Path(path).expanduser()) if path.startswith("~") else path
        self.path = path
        self.read_only = read_only
        if path == ":memory:" or path.startswith("file::memory:"):
            raise StoreError("an in-memory store cannot be shared with the writer thread; "
                             "give a file path (a temporary directory will do)")
        file = Path(path).expanduser()
        if file.is_dir():
            raise StoreNotFoundError(f"store {path} is a folder; give the store's file "
                                     f"(e.g. {file / 'levelhead.db'})")
        if (read_only or not create) and not file.exists():
            raise StoreNotFoundError(f"no store at {path}; check the path (--store or "
                                     "LEVELHEAD_STORE): `levelhead run SPEC` creates a store")
        parent = file.resolve().parent
        if not parent.is_dir():
            raise StoreError(f"store {path}: folder {parent} "
                             + ("is a file" if parent.exists() else "does not exist"))
        try:
            if read_only:
                self._conn = _connect_read_only(path)
                self._check_schema()
                # Set last: the temporary tables of _check_schema are writes too.
                self._conn.execute("PRAGMA query_only=ON")
            else:
                self._conn = _connect(path)
                self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {path}: cannot open as a levelhead store ({exc})") from None

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the named migrations not yet recorded; returns the names applied."""
        c = self._conn
        c.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                  " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in c.execute("SELECT name FROM schema_migrations")}
        applied = []
        for name, sql in _migrations():
            if name in done:
                continue
            c.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have applied it while we waited for the write lock.
                if not c.execute("SELECT 1 FROM schema_migrations WHERE name = ?",
                                 (name,)).fetchone():
                    for statement in _statements(sql):
                        c.execute(statement)
                    c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, _now()))
                    applied.append(name)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return applied

    def _check_schema(self) -> None:
        """Make a store opened read-only readable by this version without changing it.

        A store written by an older levelhead lacks the latest migrations. Those that only add
        tables are stood in for by empty temporary tables of the same shape (an older store
        holds no such rows: it could not have written them), so that the store reads as it is;
        a missing migration that changes existing tables cannot be, and is refused.

        Raises:
            StoreError: the file is not a levelhead store, or needs a migration that cannot be
                stood in for.
        """
        c = self._conn
        if not c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                         " AND name = 'schema_migrations'").fetchone():
            raise StoreError(f"store {self.path}: not a levelhead store (an SQLite file without "
                             "levelhead's tables)")
        done = {r[0] for r in c.execute("SELECT name FROM schema_migrations")}
        for name, sql in _migrations():
            if name in done:
                continue
            statements = [_additive(st) for st in _statements(sql)]
            if any(st is None for st in statements):
                raise StoreError(
                    f"store {self.path} was written by an older levelhead and needs migration "
                    f"{name} to be read; open it once where it is writable with a command that "
                    "writes (levelhead run or judge), or read it with the version that wrote it")
            for statement in filter(None, statements):
                # Indexes only speed reads up; a temporary one cannot index a main table.
                temp = re.sub(r"(?i)^CREATE\s+TABLE\b", "CREATE TEMP TABLE", statement)
                if temp != statement:
                    c.execute(temp)

    def migrations_applied(self) -> list[str]:
        """Names of the migrations recorded in this store, in order."""
        return [r[0] for r in self._conn.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def close(self) -> None:
        """Close the read connection."""
        self._conn.close()

    # -- runs, targets, prompts ---------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (the preparation of a run)."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def begin_run(self, name: str, spec: dict[str, Any], seed: int, samples: int) -> RunRecord:
        """The run called ``name``: created, or found again to resume.

        A resume must keep the seed and may raise N but not lower it (samples beyond the new N
        would stay in the run). Nothing about an existing run is changed here: see
        :meth:`update_run`, called once every check has passed.
        """
        row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            run = self.find_run(row[0])
            if run.seed != seed:
                raise SpecError(
                    f"run '{name}' exists with seed {run.seed}, not {seed}; resume it with the "
                    f"same seed or give this run another name (--run-name)")
            if samples < run.samples:
                raise SpecError(
                    f"run '{name}' has {run.samples} samples per prompt; a resume may raise N but "
                    f"not lower it to {samples} (give this run another name: --run-name)")
            return RunRecord(run.id, run.name, run.created_at, run.spec, seed, run.samples,
                             run.planned, resumed=True)
        cur = self._conn.execute(
            "INSERT INTO runs (name, created_at, spec_json, seed, samples, version)"
            " VALUES (?,?,?,?,?,?)", (name, _now(), json.dumps(spec), seed, samples, __version__))
        return RunRecord(int(cur.lastrowid or 0), name, _now(), spec, seed, samples, 0)

    def update_run(self, run_id: int, spec: dict[str, Any], samples: int) -> int:
        """Record the spec and N a run now follows; returns the samples it is to hold in all:
        every prompt of the run for every target of the run, N times (targets or prompts left
        out of a later spec still count, so the run shows as incomplete rather than done)."""
        targets = self._conn.execute("SELECT COUNT(*) FROM targets WHERE run_id = ?",
                                     (run_id,)).fetchone()[0]
        prompts = self._conn.execute("SELECT COUNT(*) FROM prompts WHERE run_id = ?",
                                     (run_id,)).fetchone()[0]
        planned = targets * prompts * samples
        self._conn.execute("UPDATE runs SET spec_json = ?, samples = ?, planned = ? WHERE id = ?",
                           (json.dumps(spec), samples, planned, run_id))
        return int(planned)

    def ensure_target(self, run_id: int, name: str, kind: str, settings: dict[str, Any],
                      settings_hash: str) -> int:
        """The id of the run's target ``name``; refuses a resume with other reply settings."""
        row = self._conn.execute(
            "SELECT id, settings_hash, settings_json FROM targets WHERE run_id = ? AND name = ?",
            (run_id, name)).fetchone()
        if row is None:
            cur = self._conn.execute(
                "INSERT INTO targets (run_id, name, kind, settings_json, settings_hash)"
                " VALUES (?,?,?,?,?)", (run_id, name, kind, json.dumps(settings), settings_hash))
            return int(cur.lastrowid or 0)
        if row[1] != settings_hash:
            old = json.loads(row[2])
            changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise SpecError(
                f"target '{name}' of this run was sampled with other settings "
                f"({', '.join(changed)} changed); samples with different settings must not mix: "
                f"restore them or start a new run (--run-name)")
        self._conn.execute("UPDATE targets SET settings_json = ? WHERE id = ?",
                           (json.dumps(settings), row[0]))
        return int(row[0])

    def ensure_prompts(self, run_id: int, probe: str, prompts: list[Prompt]) -> dict[str, int]:
        """Row ids of the probe's prompts in this run, inserting new ones.

        Raises:
            SpecError: a prompt id already stored with other messages.
        """
        existing = {
            r[0]: (r[1], r[2]) for r in self._conn.execute(
                "SELECT prompt_id, id, messages_json FROM prompts WHERE run_id = ? AND probe = ?",
                (run_id, probe))
        }
        ids: dict[str, int] = {}
        with self.transaction():
            for p in prompts:
                messages = json.dumps(dump_turns(p.messages), ensure_ascii=False)
                if p.id in existing:
                    rowid, old = existing[p.id]
                    if old != messages:
                        raise SpecError(
                            f"prompt '{probe}/{p.id}' of this run was sampled with other text; "
                            f"give the changed prompt a new id or start a new run (--run-name)")
                    ids[p.id] = rowid
                    continue
                cur = self._conn.execute(
                    "INSERT INTO prompts (run_id, probe, prompt_id, messages_json, tags_json)"
                    " VALUES (?,?,?,?,?)",
                    (run_id, probe, p.id, messages, json.dumps(p.tags, ensure_ascii=False)))
                ids[p.id] = int(cur.lastrowid or 0)
        return ids

    def existing_indices(self, target_id: int) -> dict[int, set[int]]:
        """Sample indices already stored for a target, by prompt row id (errors included)."""
        out: dict[int, set[int]] = defaultdict(set)
        for prompt_id, k in self._conn.execute(
                "SELECT prompt_id, sample_index FROM samples WHERE target_id = ?", (target_id,)):
            out[prompt_id].add(k)
        return out

    def count_samples(self, run_id: int) -> int:
        """Samples stored for the run, errors included."""
        return int(self._conn.execute("SELECT COUNT(*) FROM samples WHERE run_id = ?",
                                      (run_id,)).fetchone()[0])

    def delete_error_samples(self, run_id: int) -> int:
        """Remove the run's error samples so that a resume samples them again (and the failed
        turns of conversations, which resume from their last good turn)."""
        cur = self._conn.execute("DELETE FROM samples WHERE run_id = ? AND status = 'error'",
                                 (run_id,))
        self._conn.execute("DELETE FROM turns WHERE run_id = ? AND status = 'error'", (run_id,))
        return cur.rowcount

    # -- multi-turn conversations --------------------------------------------------------------
    def stored_turns(self, target_id: int) -> dict[tuple[int, int], list[StoredTurn]]:
        """The turns stored for a target's unfinished and finished conversations, by (prompt
        row id, sample index), in turn order, each with its verdicts (judge id -> label)."""
        labels: dict[int, dict[int, str]] = defaultdict(dict)
        for turn_id, judge_id, label in self._conn.execute(
                "SELECT v.turn_id, v.judge_id, v.label FROM turn_verdicts v"
                " JOIN turns t ON t.id = v.turn_id WHERE t.target_id = ?", (target_id,)):
            labels[turn_id][judge_id] = label
        out: dict[tuple[int, int], list[StoredTurn]] = defaultdict(list)
        for tid, pid, k, turn, user, status, text, ptok, ctok in self._conn.execute(
                "SELECT id, prompt_id, sample_index, turn, user_text, status, text,"
                " prompt_tokens, completion_tokens FROM turns WHERE target_id = ?"
                " ORDER BY prompt_id, sample_index, turn", (target_id,)):
            out[(pid, k)].append(StoredTurn(turn, user, status, text, ptok, ctok,
                                            labels.get(tid, {})))
        return dict(out)

    def turn_tokens(self, run_id: int) -> int:
        """Tokens spent on the run's stored turns (prompt + completion, as the targets said)."""
        row = self._conn.execute(
            "SELECT COALESCE(SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)), 0)"
            " FROM turns WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0])

    def turn_table(self, run_id: int) -> list[TurnRecord]:
        """Every stored turn of the run, by target, prompt, sample index and turn; the turns of
        one prompt share one tags dict."""
        with self._snapshot():
            names = self._names_of(run_id)
            return [TurnRecord(names.targets[tid], *names.prompts[pid], k, turn, user, status,
                               text, error, ptok, ctok, latency, names.tags[pid])
                    for (tid, pid, k, turn, user, status, text, error, ptok, ctok,
                         latency) in self._conn.execute(
                "SELECT target_id, prompt_id, sample_index, turn, user_text, status, text, error,"
                " prompt_tokens, completion_tokens, latency_ms FROM turns WHERE run_id = ?"
                " ORDER BY target_id, prompt_id, sample_index, turn", (run_id,))]

    def turn_verdict_table(self, run_id: int) -> list[TurnVerdictRecord]:
        """Every verdict on the run's turns, by judge, target, prompt, sample index and turn."""
        with self._snapshot():
            names = self._names_of(run_id)
            return [TurnVerdictRecord(names.targets[tid], *names.prompts[pid], k, turn,
                                      *names.judges[jid], label, score)
                    for tid, pid, k, turn, jid, label, score in self._conn.execute(
                "SELECT u.target_id, u.prompt_id, u.sample_index, u.turn, v.judge_id, v.label,"
                " v.score FROM turn_verdicts v JOIN turns u ON u.id = v.turn_id"
                " WHERE u.run_id = ?"
                " ORDER BY v.judge_id, u.target_id, u.prompt_id, u.sample_index, u.turn",
                (run_id,))]

    # The bulk reads (a row per verdict or turn: millions in a large run) select ids and name
    # them from these small tables, so that each name is one shared string.
    def _names_of(self, run_id: int) -> _RunNames:
        targets = dict(self._conn.execute("SELECT id, name FROM targets WHERE run_id = ?",
                                          (run_id,)).fetchall())
        prompts: dict[int, tuple[str, str]] = {}
        tags: dict[int, dict[str, str]] = {}
        for pid, probe, prompt_id, tags_json in self._conn.execute(
                "SELECT id, probe, prompt_id, tags_json FROM prompts WHERE run_id = ?",
                (run_id,)):
            prompts[pid] = (probe, prompt_id)
            tags[pid] = json.loads(tags_json)
        judges = {jid: (name, version, args) for jid, name, version, args in self._conn.execute(
            "SELECT id, name, version, args_json FROM judges")}
        return _RunNames(targets, prompts, tags, judges)

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several reads that see the store as of one moment (a writer may be adding to it)."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def writer(self, lease: tuple[int, str] | None = None) -> _WriterThread:
        """A writer for sample and verdict rows; close it to flush.

        Args:
            lease: ``(run id, owner)`` of the lease this process holds: each transaction then
                first checks that the lease is still this process's, and writes nothing if not.
        """
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only; it cannot be written")
        return _WriterThread(self.path, lease)

    def reopen(self) -> SQLiteStore:
        """The same store on a connection of its own (for another thread)."""
        return SQLiteStore(self.path, read_only=self.read_only)

    # -- leases: one writer per run (see levelhead.store._lease) -------------------------------
    _LEASE_COLS = "owner, host, pid, command, acquired_ms, heartbeat_ms, expires_ms, node"

    def _lease_row(self, run_id: int) -> LeaseHolder | None:
        row = self._conn.execute(f"SELECT {self._LEASE_COLS} FROM run_leases WHERE run_id = ?",
                                 (run_id,)).fetchone()
        return None if row is None else LeaseHolder(*row)

    def try_lease(self, run_id: int, holder: LeaseHolder) -> LeaseHolder | None:
        """Take the run's lease for ``holder``; returns None when taken, else the live holder
        that keeps it. A lapsed lease, or one whose process on this host is gone, is taken
        over."""
        with self.transaction():
            current = self._lease_row(run_id)
            if current is not None and not takes_over(current, holder.acquired_ms):
                return current
            self._conn.execute(
                f"INSERT OR REPLACE INTO run_leases (run_id, {self._LEASE_COLS})"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (run_id, holder.owner, holder.host, holder.pid, holder.command,
                 holder.acquired_ms, holder.heartbeat_ms, holder.expires_ms, holder.node))
        return None

    def renew_lease(self, run_id: int, owner: str, expires_ms: int) -> bool:
        """Extend ``owner``'s lease; False when it is no longer theirs."""
        try:
            cur = self._conn.execute(
                "UPDATE run_leases SET heartbeat_ms = ?, expires_ms = ? WHERE run_id = ?"
                " AND owner = ?", (int(time.time() * 1000), expires_ms, run_id, owner))
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot renew the lease of run {run_id} ({exc})"
                             ) from None
        return cur.rowcount == 1

    def release_lease(self, run_id: int, owner: str) -> None:
        """Give up ``owner``'s lease (nothing happens if it is no longer theirs)."""
        try:
            self._conn.execute("DELETE FROM run_leases WHERE run_id = ? AND owner = ?",
                               (run_id, owner))
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot release the lease of run {run_id} "
                             f"({exc})") from None

    def lease_of(self, run_id: int) -> LeaseHolder | None:
        """The live holder of the run's lease, or None (a lapsed lease is no holder)."""
        current = self._lease_row(run_id)
        if current is None or takes_over(current, int(time.time() * 1000)):
            return None
        return current

    def progress(self, run_id: int) -> RunProgress:
        """What of the run's plan is stored: every target x prompt, with its samples below N."""
        run = self.find_run(run_id)
        rows = self._conn.execute(
            "SELECT t.name, p.probe, p.prompt_id, COUNT(s.id),"
            " COALESCE(SUM(s.status = 'error'), 0) FROM targets t"
            " JOIN prompts p ON p.run_id = t.run_id"
            " LEFT JOIN samples s ON s.target_id = t.id AND s.prompt_id = p.id"
            " AND s.sample_index < ? WHERE t.run_id = ? GROUP BY t.id, p.id ORDER BY t.id, p.id",
            (run.samples, run.id)).fetchall()
        return RunProgress(run.name, run.samples, tuple(PromptProgress(*r) for r in rows),
                           self.lease_of(run.id))

    # -- reading ------------------------------------------------------------------------------
    def find_run(self, ref: str | int) -> RunRecord:
        """A run by numeric id or by name.

        Raises:
            RunNotFoundError: with the names of the most recent runs.
        """
        cols = "id, name, created_at, spec_json, seed, samples, planned"
        row = None
        if isinstance(ref, int) or str(ref).isdigit():
            row = self._conn.execute(f"SELECT {cols} FROM runs WHERE id = ?", (int(ref),)).fetchone()
        if row is None:
            row = self._conn.execute(f"SELECT {cols} FROM runs WHERE name = ?",
                                     (str(ref),)).fetchone()
        if row is None:
            recent = [r[0] for r in self._conn.execute(
                "SELECT name FROM runs ORDER BY id DESC LIMIT 5")]
            hint = f"recent runs: {', '.join(recent)}" if recent else "the store has no runs yet"
            raise RunNotFoundError(f"no run '{ref}' in {self.path} ({hint})")
        return RunRecord(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first, with its progress."""
        rows = self._conn.execute(
            "SELECT r.id, r.name, r.created_at, r.planned,"
            " (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id),"
            " (SELECT COUNT(*) FROM samples s WHERE s.run_id = r.id AND s.status = 'error'),"
            " (SELECT group_concat(name, ',') FROM targets t WHERE t.run_id = r.id)"
            " FROM runs r ORDER BY r.id DESC").fetchall()
        now_ms = int(time.time() * 1000)
        holders = {row[0]: LeaseHolder(*row[1:]) for row in self._conn.execute(
            f"SELECT run_id, {self._LEASE_COLS} FROM run_leases")}
        live = {run_id: h.describe(now_ms) for run_id, h in holders.items()
                if not takes_over(h, now_ms)}
        return [RunInfo(id=r[0], name=r[1], created_at=r[2], planned=r[3], done=r[4], errors=r[5],
                        targets=(r[6] or "").split(",") if r[6] else [], running=live.get(r[0]))
                for r in rows]

    def summary(self, run_id: int) -> list[TargetPromptSummary]:
        """Per target x prompt: counts, errors, median latency and tokens."""
        groups: dict[tuple[str, str, str], list[tuple[Any, ...]]] = defaultdict(list)
        query = (
            "SELECT t.name, p.probe, p.prompt_id, s.status, s.latency_ms, s.prompt_tokens,"
            " s.completion_tokens FROM samples s JOIN targets t ON t.id = s.target_id"
            " JOIN prompts p ON p.id = s.prompt_id WHERE s.run_id = ? ORDER BY t.id, p.id")
        for row in self._conn.execute(query, (run_id,)):
            groups[(row[0], row[1], row[2])].append(row[3:])
        out = []
        for (target, probe, prompt_id), rows in groups.items():
            ok = [r for r in rows if r[0] == "ok"]
            lat = [r[1] for r in ok if r[1] is not None]
            comp = [r[3] for r in ok if r[3] is not None]
            out.append(TargetPromptSummary(
                target=target, probe=probe, prompt_id=prompt_id, samples=len(rows),
                errors=len(rows) - len(ok),
                median_latency_ms=statistics.median(lat) if lat else None,
                prompt_tokens=sum(r[2] or 0 for r in rows),
                completion_tokens=sum(r[3] or 0 for r in rows),
                median_completion_tokens=statistics.median(comp) if comp else None,
            ))
        return out

    def samples_with_tags(self, run_id: int) -> Iterator[TaggedSample]:
        """Every sample of the run (as :meth:`iter_samples`) with its prompt's tags."""
        tags = {(probe, pid): json.loads(t) for probe, pid, t in self._conn.execute(
            "SELECT probe, prompt_id, tags_json FROM prompts WHERE run_id = ?", (run_id,))}
        for sample in self.iter_samples(run_id):
            yield TaggedSample(sample, tags[(sample.probe, sample.prompt_id)])

    def iter_samples(self, run_id: int) -> Iterator[Sample]:
        """Every sample of a run with its whole transcript, in target/prompt/index order."""
        run = self.find_run(run_id)
        systems: dict[int, str | None] = {}
        names: dict[int, str] = {}
        for tid, name, settings in self._conn.execute(
                "SELECT id, name, settings_json FROM targets WHERE run_id = ?", (run_id,)):
            systems[tid] = json.loads(settings).get("system")
            names[tid] = name
        prompts: dict[int, tuple[str, str, list[dict[str, str]]]] = {}
        for pid, probe, prompt_id, messages in self._conn.execute(
                "SELECT id, probe, prompt_id, messages_json FROM prompts WHERE run_id = ?",
                (run_id,)):
            prompts[pid] = (probe, prompt_id, json.loads(messages))
        cursor = self._conn.execute(
            "SELECT target_id, prompt_id, sample_index, status, text, messages_json, latency_ms,"
            " finish_reason, error, seed, prompt_tokens, completion_tokens, attempts, created_ms"
            " FROM samples WHERE run_id = ? ORDER BY target_id, prompt_id, sample_index",
            (run_id,))
        for (tid, pid, k, status, text, extra, latency, finish, error, seed, ptok, ctok, attempts,
             created) in cursor:
            probe, prompt_id, turns = prompts[pid]
            messages = conversation(systems[tid], turns)
            if extra:
                messages.extend(json.loads(extra))
            elif status == "ok" and text is not None:
                messages.append({"role": "assistant", "content": text})
            yield Sample(
                run=run.name, target=names[tid], probe=probe, prompt_id=prompt_id,
                sample_index=k, status=status, text=text, messages=messages,
                latency_ms=latency, finish_reason=finish, error=error, seed=seed,
                prompt_tokens=ptok, completion_tokens=ctok, attempts=attempts,
                created_at=datetime.fromtimestamp(created / 1000, UTC).isoformat(timespec="milliseconds"),
            )

    # -- judges and verdicts -------------------------------------------------------------------
    def ensure_judge(self, name: str, version: str, args_json: str) -> int:
        """The id of a judge identity (name, version, arguments), created if new."""
        self._conn.execute("INSERT OR IGNORE INTO judges (name, version, args_json) VALUES (?,?,?)",
                           (name, version, args_json))
        row = self._conn.execute(
            "SELECT id FROM judges WHERE name = ? AND version = ? AND args_json = ?",
            (name, version, args_json)).fetchone()
        return int(row[0])

    def _targets_of(self, run_id: int) -> tuple[dict[int, str | None], dict[int, str]]:
        systems: dict[int, str | None] = {}
        names: dict[int, str] = {}
        for tid, name, settings in self._conn.execute(
                "SELECT id, name, settings_json FROM targets WHERE run_id = ?", (run_id,)):
            systems[tid] = json.loads(settings).get("system")
            names[tid] = name
        return systems, names

    _STORED = ("SELECT s.id, s.target_id, s.prompt_id, s.sample_index, s.text, s.messages_json,"
               " p.probe, p.prompt_id, p.messages_json, p.tags_json"
               " FROM samples s JOIN prompts p ON p.id = s.prompt_id")

    def samples_to_judge(self, run_id: int, judge_id: int,
                         probes: set[str] | None = None) -> Iterator[StoredSample]:
        """The run's good samples that have no verdict yet from this judge identity (a
        ``judge_error`` verdict counts as none, so it is judged again)."""
        systems, names = self._targets_of(run_id)
        rows = self._conn.execute(
            self._STORED + " WHERE s.run_id = ? AND s.status = 'ok' AND NOT EXISTS ("
            "SELECT 1 FROM verdicts v WHERE v.sample_id = s.id AND v.judge_id = ?"
            " AND v.label != 'judge_error') ORDER BY s.id", (run_id, judge_id)).fetchall()
        for row in rows:
            if probes is None or row[6] in probes:
                yield _sample_from_row(row, systems, names)

    def stored_samples(self, run_id: int, probes: set[str] | None = None) -> list[StoredSample]:
        """Every good sample of the run (for pairing)."""
        systems, names = self._targets_of(run_id)
        rows = self._conn.execute(self._STORED + " WHERE s.run_id = ? AND s.status = 'ok'"
                                  " ORDER BY s.id", (run_id,)).fetchall()
        return [_sample_from_row(r, systems, names) for r in rows
                if probes is None or r[6] in probes]

    def probes_of(self, run_id: int) -> list[str]:
        """The probe ids of a run."""
        return [r[0] for r in self._conn.execute(
            "SELECT DISTINCT probe FROM prompts WHERE run_id = ? ORDER BY probe", (run_id,))]

    def judged_pairs(self, judge_id: int) -> set[tuple[int, int]]:
        """Pairs of sample ids this judge identity has a (non-error) verdict on."""
        return {(a, b) for a, b in self._conn.execute(
            "SELECT sample_a, sample_b FROM pair_verdicts WHERE judge_id = ?"
            " AND label != 'judge_error'", (judge_id,))}

    def verdict_table(self, run_id: int) -> list[VerdictRecord]:
        """Every verdict on the run's samples, by judge, target, prompt and sample index."""
        with self._snapshot():
            names = self._names_of(run_id)
            return [VerdictRecord(names.targets[tid], *names.prompts[pid], k, *names.judges[jid],
                                  label, score)
                    for tid, pid, k, jid, label, score in self._conn.execute(
                "SELECT s.target_id, s.prompt_id, s.sample_index, v.judge_id, v.label, v.score"
                " FROM verdicts v JOIN samples s ON s.id = v.sample_id WHERE s.run_id = ?"
                " ORDER BY v.judge_id, s.target_id, s.prompt_id, s.sample_index", (run_id,))]

    def pair_verdict_table(self, run_id: int) -> list[PairVerdictRecord]:
        """Every pair verdict on the run's samples, in the order stored."""
        return [PairVerdictRecord(*row) for row in self._conn.execute(
            "SELECT ta.name, pa.probe, pa.prompt_id, tb.name, pb.prompt_id, sa.sample_index,"
            " j.name, j.version, j.args_json, v.label, v.score, v.extra_json FROM pair_verdicts v"
            " JOIN samples sa ON sa.id = v.sample_a JOIN samples sb ON sb.id = v.sample_b"
            " JOIN targets ta ON ta.id = sa.target_id JOIN targets tb ON tb.id = sb.target_id"
            " JOIN prompts pa ON pa.id = sa.prompt_id JOIN prompts pb ON pb.id = sb.prompt_id"
            " JOIN judges j ON j.id = v.judge_id WHERE sa.run_id = ? ORDER BY v.id",
            (run_id,))]


@dataclass(frozen=True, slots=True)
class _RunNames:
    """The names of a run's targets, prompts (probe, prompt id; tags) and of the judges, by
    row id."""

    targets: dict[int, str]
    prompts: dict[int, tuple[str, str]]
    tags: dict[int, dict[str, str]]
    judges: dict[int, tuple[str, str, str]]


def _sample_from_row(row: tuple[Any, ...], systems: dict[int, str | None],
                     names: dict[int, str]) -> StoredSample:
    sid, tid, pid, k, text, extra, probe, prompt_key, messages_json, tags_json = row
    messages = conversation(systems[tid], json.loads(messages_json))
    if extra:
        messages.extend(json.loads(extra))
    else:
        messages.append({"role": "assistant", "content": text or ""})
    return StoredSample(sid, tid, names[tid], pid, probe, prompt_key, k, text or "", messages,
                        json.loads(tags_json))


class _WriterThread:
    """The store's single writer: takes sample and verdict rows from a queue and commits them
    in batches, keeping their order."""

    BATCH = 2000
    LINGER_S = 0.1

    def __init__(self, path: str, lease: tuple[int, str] | None = None) -> None:
        self.path = path
        self._lease = lease
        self._conn = _connect(path)
        self._queue: queue.SimpleQueue[_Row | None] = (
            queue.SimpleQueue())
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="levelhead-store-writer",
                                        daemon=True)
        self._thread.start()

    def put(self, row: _Row) -> None:
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
            batch: list[_Row] = []
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


    def _write(self, batch: list[_Row]) -> None:
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
                self._conn.executemany(_INSERT_VERDICT, [_verdict_params(r) for r in rows])
            elif kind is TurnRow:
                self._conn.executemany(_INSERT_TURN, rows)
            elif kind is TurnVerdictRow:
                self._conn.executemany(_INSERT_TURN_VERDICT,
                                       [_turn_verdict_params(r) for r in rows])
            else:
                self._conn.executemany(_INSERT_PAIR_VERDICT, rows)
            start = end


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
