"""A psycopg 3 connection that the SQLite store's parts can use as they use ``sqlite3``.

:class:`PgConnection` takes SQLite-flavoured SQL (rewritten by
:func:`~levelhead.store._dialect.translate`), runs it on PostgreSQL in autocommit mode with
explicit transactions, as the SQLite store does (``isolation_level=None``), and answers with a
cursor that has what the parts read: rows, ``rowcount`` and ``lastrowid``. Its failures are raised
as the ``sqlite3`` exceptions of the same kind (integrity, or operational), so that the parts'
``except sqlite3.Error`` handling holds for both stores.

Transactions keep SQLite's meaning: ``BEGIN IMMEDIATE`` (a write transaction) takes one
transaction-scoped advisory lock per database, so write transactions follow one another as
SQLite's do (a lease is read and written, and a writer's batch checks its lease, under one lock);
a plain ``BEGIN`` (a snapshot of several reads) is a ``REPEATABLE READ`` transaction, which sees
the store as of one moment. Waiting for a lock is bounded, as SQLite's busy timeout is.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from levelhead.errors import redact
from levelhead.store._dialect import is_server_url, returns_id, translate

#: Key of the advisory lock that a write transaction (``BEGIN IMMEDIATE``) holds.
WRITE_LOCK = 0x6C766C68  # "lvlh"
#: How long a statement waits for a lock before it fails (SQLite's busy timeout is 30 s).
LOCK_TIMEOUT = "30s"


def redact_url(url: str) -> str:
    """``url`` with its password (and any ``password=`` query parameter) shown as ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = userinfo.split(":", 1)[0] + ":***@" + host
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return redact(urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query,
                                           parts.fragment)), parts.password)


def _sqlite_error(exc: psycopg.Error, url: str) -> sqlite3.Error:
    """The ``sqlite3`` exception of the same kind as ``exc``, its text free of the password."""
    password = urllib.parse.urlsplit(url).password if is_server_url(url) else None
    text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                  password)
    if isinstance(exc, psycopg.errors.IntegrityError):
        return sqlite3.IntegrityError(text)
    if isinstance(exc, psycopg.OperationalError | psycopg.errors.InternalError):
        return sqlite3.OperationalError(text)
    return sqlite3.DatabaseError(text)


class PgCursor:
    """What a statement gave: its rows (tuples), ``rowcount`` and ``lastrowid``.

    Rows are made Python tuples one at a time as they are read, from the result the server sent
    (held by libpq in its compact form): a read of a million rows that the caller iterates never
    holds a million tuples at once."""

    def __init__(self, cursor: psycopg.Cursor[Any] | None, rowcount: int,
                 lastrowid: int | None) -> None:
        self._cursor = cursor
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._cursor is None:
            return None
        row: tuple[Any, ...] | None = self._cursor.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._cursor is None:
            return []
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        if self._cursor is None:
            return iter(())
        return iter(self._cursor)


class PgConnection:
    """A PostgreSQL connection that runs the SQLite store's SQL (see the module's text)."""

    def __init__(self, url: str) -> None:
        self._url = url
        try:
            self._conn = psycopg.connect(url, autocommit=True)
            self._conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        except psycopg.Error as exc:
            raise _sqlite_error(exc, url) from None

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as ``sqlite3.Connection.in_transaction``)."""
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        """Run one statement of SQLite's dialect with ``?`` placeholders."""
        head = sql.strip().upper()
        try:
            if head == "BEGIN IMMEDIATE":
                self._conn.execute("BEGIN")
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                return PgCursor(None, -1, None)
            if head == "BEGIN":
                self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                return PgCursor(None, -1, None)
            query = translate(sql)
            wants_id = returns_id(sql)
            if wants_id:
                query += " RETURNING id"
            cur = self._conn.execute(query, tuple(params))
            if wants_id:
                row = cur.fetchone()
                return PgCursor(None, cur.rowcount, int(row[0]) if row else None)
            return PgCursor(cur if cur.description is not None else None, cur.rowcount, None)
        except psycopg.Error as exc:
            raise _sqlite_error(exc, self._url) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        """Run one statement for each row of parameters."""
        try:
            with self._conn.cursor() as cur:
                cur.executemany(translate(sql), [tuple(r) for r in rows])
                return PgCursor(None, cur.rowcount, None)
        except psycopg.Error as exc:
            raise _sqlite_error(exc, self._url) from None

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self._conn.close()
