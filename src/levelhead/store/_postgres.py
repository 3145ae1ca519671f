"""The PostgreSQL store: the same :class:`~levelhead.store.Store` as the SQLite one, on a server
that many processes and machines share.

:class:`PostgresStore` is put together from the SQLite store's parts (schema, run bookkeeping,
leases, reads, reviews, browsing, the guard's and the monitor's rows), which run their SQL on a
:class:`~levelhead.store._postgres_connection.PgConnection`: SQLite's dialect rewritten in one
place (:mod:`levelhead.store._dialect`), ``sqlite3``'s exceptions raised for psycopg's. The
writer is the SQLite store's writer thread on such a connection. Chosen by a ``postgresql://``
URL as the store (``--store`` or ``LEVELHEAD_STORE``; see :func:`levelhead.store.open_store`);
needs the ``postgres`` extra (psycopg 3).

A store is a database the user may connect to and create tables in; opened to write, the
database gets the named migrations as a SQLite file does. Opened ``read_only``, the session is
read-only (``default_transaction_read_only``): nothing is created, migrated or written.
"""

from __future__ import annotations

import sqlite3
from typing import cast

from levelhead.errors import StoreError, StoreNotFoundError
from levelhead.store._bookkeeping import RunBookkeeping
from levelhead.store._bounded_writer import BoundedWriter
from levelhead.store._browse import SampleBrowsing
from levelhead.store._guard_rows import GuardRows
from levelhead.store._monitor_rows import MonitorRows
from levelhead.store._postgres_connection import WRITE_LOCK, PgConnection, redact_url
from levelhead.store._reads import RecordReads
from levelhead.store._reviews import ReviewRows
from levelhead.store._schema import Migrations

__all__ = ["PostgresStore", "PostgresWriter"]


def _connect(url: str, path: str) -> PgConnection:
    """A connection to the store at ``url`` (``path``: the URL without its password)."""
    try:
        return PgConnection(url)
    except sqlite3.Error as exc:
        if "does not exist" in str(exc) and "database" in str(exc):
            raise StoreNotFoundError(
                f"no database for the store {path} ({exc}); create it (createdb, or CREATE "
                "DATABASE) or check the URL (--store or LEVELHEAD_STORE)") from None
        raise StoreError(f"store {path}: cannot connect ({exc})") from None


class PostgresStore(Migrations, RunBookkeeping, RecordReads, ReviewRows, SampleBrowsing,
                    GuardRows, MonitorRows):
    """A levelhead store in a PostgreSQL database.

    Reads use the caller's connection; sample writes go through :meth:`writer`, a thread with a
    connection of its own that commits in batches.
    """

    def __init__(self, url: str, *, read_only: bool = False, create: bool = True) -> None:
        self._url = url
        self.path = redact_url(url)
        self.read_only = read_only
        conn = _connect(url, self.path)
        self._conn = cast("sqlite3.Connection", conn)
        try:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                ("schema_migrations",)).fetchone() is not None
            if not exists and (read_only or not create):
                raise StoreNotFoundError(
                    f"no store in {self.path} (the database has no levelhead tables); check the "
                    "URL (--store or LEVELHEAD_STORE): `levelhead run SPEC` creates a store")
            if read_only:
                self._check_schema()
                # Set last: the temporary tables of _check_schema are writes too.
                conn.execute("SET default_transaction_read_only = on")
            else:
                self.migrate()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"store {self.path}: cannot open as a levelhead store ({exc})"
                                 ) from None
            raise

    def migrate(self) -> list[str]:
        """Apply the named migrations not yet recorded; returns the names applied.

        Processes that open a new database at once take turns (a lock of the session), so that
        only one creates the tables: PostgreSQL's ``CREATE TABLE IF NOT EXISTS`` is no guard
        against another session creating the same table meanwhile.
        """
        self._conn.execute("SELECT pg_advisory_lock(?)", (WRITE_LOCK + 1,))
        try:
            return super().migrate()
        finally:
            self._conn.execute("SELECT pg_advisory_unlock(?)", (WRITE_LOCK + 1,))

    def writer(self, lease: tuple[int, str] | None = None) -> PostgresWriter:
        """A writer thread on a connection of its own, checking ``lease`` (``(run id, owner)``)
        in each transaction as the SQLite store's does; close it to flush."""
        if not self.read_only:
            return PostgresWriter(self._url, lease)
        raise StoreError(f"store {self.path} was opened read-only; it cannot be written")

    @property
    def url(self) -> str:
        """The URL it was opened with (password included: for processes that open the same
        store, such as Ray workers; never for messages, which use ``path``)."""
        return self._url


    def reopen(self) -> PostgresStore:
        """The same store on a connection of its own (for another thread)."""
        return PostgresStore(self._url, read_only=self.read_only)


class PostgresWriter(BoundedWriter):
    """The SQLite store's writer thread on a PostgreSQL connection of its own: a batch is one
    transaction that holds the store's write lock (see ``BEGIN IMMEDIATE`` in
    :class:`~levelhead.store._postgres_connection.PgConnection`)."""

    def __init__(self, url: str, lease: tuple[int, str] | None = None) -> None:
        path = redact_url(url)
        super().__init__(path, lease, cast("sqlite3.Connection", _connect(url, path)))
