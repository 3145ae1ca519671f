"""The SQLite store: WAL, one writer thread with batched transactions, named migrations."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from levelhead import __version__
from levelhead.errors import RunNotFoundError, SpecError, StoreError
from levelhead.records import Prompt, RunInfo, Sample, conversation, dump_turns
from levelhead.store._protocol import RunRecord, SampleRow, TargetPromptSummary

_INSERT_SAMPLE = (
    "INSERT OR IGNORE INTO samples (run_id, target_id, prompt_id, sample_index, status, text,"
    " messages_json, latency_ms, prompt_tokens, completion_tokens, finish_reason, error, seed,"
    " attempts, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def default_store_path() -> str:
    """``$LEVELHEAD_STORE`` or ``./levelhead.db``."""
    return os.environ.get("LEVELHEAD_STORE") or "levelhead.db"


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("levelhead.store") / "migrations"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable against a killed process in WAL mode; only a power cut may lose the
    # last transactions, never corrupt the file.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def open_store(path: str | os.PathLike[str] | None = None) -> SQLiteStore:
    """Open (creating and migrating as needed) the SQLite store at ``path``.

    Raises:
        StoreError: the file cannot be opened or is not a levelhead store.
    """
    return SQLiteStore(str(path) if path is not None else default_store_path())


class SQLiteStore:
    """A levelhead store in one SQLite file.

    Reads use the caller's connection; sample writes go through :meth:`writer`, a single
    thread that commits in batches so a fast run does not wait on the disk.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"store {path}: folder {parent} does not exist")
        try:
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
            try:
                c.executescript(f"BEGIN IMMEDIATE;\n{sql}\n;INSERT INTO schema_migrations"
                                f" VALUES ('{name}', '{_now()}');\nCOMMIT;")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
            applied.append(name)
        return applied

    def migrations_applied(self) -> list[str]:
        """Names of the migrations recorded in this store, in order."""
        return [r[0] for r in self._conn.execute("SELECT name FROM schema_migrations ORDER BY name")]

    def close(self) -> None:
        """Close the read connection."""
        self._conn.close()

    # -- runs, targets, prompts ---------------------------------------------------------------
    def begin_run(self, name: str, spec: dict[str, Any], seed: int, samples: int) -> RunRecord:
        """The run called ``name``: created, or found again to resume (then seed must match)."""
        row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            run = self.find_run(row[0])
            if run.seed != seed:
                raise SpecError(
                    f"run '{name}' exists with seed {run.seed}, not {seed}; resume it with the "
                    f"same seed or give this run another name (--run-name)")
            if run.samples != samples or run.spec != spec:
                self._conn.execute("UPDATE runs SET samples = ?, spec_json = ? WHERE id = ?",
                                   (samples, json.dumps(spec), run.id))
            return RunRecord(run.id, run.name, run.created_at, spec, seed, samples, run.planned,
                             resumed=True)
        cur = self._conn.execute(
            "INSERT INTO runs (name, created_at, spec_json, seed, samples, version)"
            " VALUES (?,?,?,?,?,?)", (name, _now(), json.dumps(spec), seed, samples, __version__))
        return RunRecord(int(cur.lastrowid or 0), name, _now(), spec, seed, samples, 0)

    def set_planned(self, run_id: int, planned: int) -> None:
        """Record how many samples the run is meant to hold in all."""
        self._conn.execute("UPDATE runs SET planned = ? WHERE id = ?", (planned, run_id))

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
        self._conn.execute("BEGIN")
        try:
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
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return ids

    def existing_indices(self, target_id: int) -> dict[int, set[int]]:
        """Sample indices already stored for a target, by prompt row id (errors included)."""
        out: dict[int, set[int]] = defaultdict(set)
        for prompt_id, k in self._conn.execute(
                "SELECT prompt_id, sample_index FROM samples WHERE target_id = ?", (target_id,)):
            out[prompt_id].add(k)
        return out

    def delete_error_samples(self, run_id: int) -> int:
        """Remove the run's error samples so that a resume samples them again."""
        cur = self._conn.execute("DELETE FROM samples WHERE run_id = ? AND status = 'error'",
                                 (run_id,))
        return cur.rowcount

    def writer(self) -> _WriterThread:
        """A writer for sample rows; close it to flush."""
        return _WriterThread(self.path)

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
        return [RunInfo(id=r[0], name=r[1], created_at=r[2], planned=r[3], done=r[4], errors=r[5],
                        targets=(r[6] or "").split(",") if r[6] else []) for r in rows]

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


class _WriterThread:
    """The store's single writer: takes rows from a queue and commits them in batches."""

    BATCH = 2000
    LINGER_S = 0.1

    def __init__(self, path: str) -> None:
        self._conn = _connect(path)
        self._queue: queue.SimpleQueue[SampleRow | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name="levelhead-store-writer",
                                        daemon=True)
        self._thread.start()

    def put(self, row: SampleRow) -> None:
        """Queue one row (does not block on the disk)."""
        if self._error is not None:
            raise StoreError(f"the store writer failed: {self._error}")
        self._queue.put(row)

    def close(self) -> None:
        """Write what is queued, then stop. Raises StoreError if a write failed."""
        self._queue.put(None)
        self._thread.join()
        self._conn.close()
        if self._error is not None:
            raise StoreError(f"the store writer failed: {self._error}")

    def _loop(self) -> None:
        q = self._queue
        stop = False
        while not stop:
            batch: list[SampleRow] = []
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
                self._conn.execute("BEGIN")
                self._conn.executemany(_INSERT_SAMPLE, batch)
                self._conn.execute("COMMIT")
                self.written += len(batch)
            except BaseException as exc:  # keep the thread alive to report it on close
                self._error = exc
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                break


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
