"""Opening an SQLite store file, and what every part of :class:`SQLiteStore` shares.

A writing connection is in WAL mode; a read-only one can never change the file (see
:func:`connect_read_only`). :class:`SQLiteConnection` holds the store's read connection with
its transactions, snapshots and the one lookup every part needs (:meth:`find_run`); the parts
of the store (schema, run bookkeeping, leases, reads) build on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from levelhead.errors import RunNotFoundError, StoreError
from levelhead.store._records import RunRecord


def default_store_path() -> str:
    """``$LEVELHEAD_STORE`` or ``./levelhead.db``."""
    return os.environ.get("LEVELHEAD_STORE") or "levelhead.db"


def utc_text(value: str, what: str = "time") -> str:
    """``value`` (ISO 8601: a date, a time with or without an offset, naive as UTC) as the
    guard's and the monitor's tables store times, ``YYYY-MM-DDTHH:MM:SS.mmmZ``, so that a bound
    compares with them as text.

    Raises:
        StoreError: ``value`` is not an ISO 8601 date or time.
    """
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise StoreError(f"{what} {value!r}: expected an ISO 8601 date or time, e.g. 2026-12-07 "
                         "or 2026-12-07T10:00:00Z") from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def time_bounds(column: str, since: str | None, until: str | None
                ) -> tuple[list[str], list[object]]:
    """SQL conditions (and their arguments) for ``since <= column < until``, either bound
    optional, each bound read as :func:`utc_text` reads it."""
    where: list[str] = []
    args: list[object] = []
    for bound, op, what in ((since, ">=", "since"), (until, "<", "until")):
        if bound is not None:
            where.append(f"{column} {op} ?")
            args.append(utc_text(bound, what))
    return where, args


def timestamp() -> str:
    """Now, in UTC, to the second (as runs and migrations record it)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: str) -> sqlite3.Connection:
    """A connection that may write the store at ``path`` (created if missing), in WAL mode."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable against a killed process in WAL mode; only a power cut may lose the
    # last transactions, never corrupt the file.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def connect_read_only(path: str) -> sqlite3.Connection:
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


class SQLiteConnection:
    """The store's read connection and what every part of the store does with it."""

    path: str
    read_only: bool
    _conn: sqlite3.Connection

    def close(self) -> None:
        """Close the read connection."""
        self._conn.close()

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

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """A write transaction whose SQLite failures (a store locked for too long) are one line."""
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only; cannot {what}")
        try:
            with self.transaction():
                yield
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot {what} ({exc}); try again") from None

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
