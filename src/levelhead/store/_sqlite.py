"""The SQLite store: WAL, one writer thread with batched transactions, named migrations.

:class:`SQLiteStore` is put together from its parts, one module each: the connection and the
lookups every part shares (``_connection``), the named migrations (``_schema``), run
bookkeeping (``_bookkeeping``), lease rows (``_lease_rows``), the reads that build records
(``_reads``), review queues and their labels (``_reviews``), pages of samples to browse
(``_browse``), the guard's decisions (``_guard_rows``), the monitor's turns
(``_monitor_rows``) and the writer thread (``_writer``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from levelhead.errors import StoreError, StoreNotFoundError
from levelhead.store._bookkeeping import RunBookkeeping
from levelhead.store._bounded_writer import BoundedWriter
from levelhead.store._browse import SampleBrowsing
from levelhead.store._connection import (
    connect,
    connect_read_only,
    default_store_path,
)
from levelhead.store._dialect import is_server_url
from levelhead.store._guard_rows import GuardRows
from levelhead.store._monitor_rows import MonitorRows
from levelhead.store._reads import RecordReads
from levelhead.store._reviews import ReviewRows
from levelhead.store._schema import Migrations

if TYPE_CHECKING:
    from levelhead.store._postgres import PostgresStore

__all__ = ["SQLiteStore", "default_store_path", "open_store"]


def open_store(path: str | os.PathLike[str] | None = None, *, read_only: bool = False,
               create: bool = True) -> SQLiteStore | PostgresStore:
    """Open the SQLite store at ``path``: by default creating and migrating it as needed; a
    ``postgresql://`` URL opens a PostgreSQL store (:class:`~levelhead.store._postgres.
    PostgresStore`, the ``postgres`` extra) the same way.

    Args:
        path: the store file (default: :func:`default_store_path`), or a PostgreSQL URL.
        read_only: for commands that only read: never create, migrate or write the store, so
            that a read-only file, folder or mount can be inspected (see :class:`SQLiteStore`).
        create: create the store when no file is at ``path``; False for commands that need
            what a store holds (a mistyped path is then an error, not a new empty store).

    Raises:
        StoreNotFoundError: no file at ``path``, and ``read_only`` or not ``create``.
        StoreError: the file cannot be opened or is not a levelhead store.
    """
    where = str(path) if path is not None else default_store_path()
    if is_server_url(where):
        try:
            from levelhead.store._postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(f"a PostgreSQL store needs psycopg ({exc}); install it with "
                             "`pip install 'levelhead[postgres]'`") from None
        return PostgresStore(where, read_only=read_only, create=create)
    return SQLiteStore(where, read_only=read_only, create=create)


class SQLiteStore(Migrations, RunBookkeeping, RecordReads, ReviewRows, SampleBrowsing,
                  GuardRows, MonitorRows):
    """A levelhead store in one SQLite file.

    Reads use the caller's connection; sample writes go through :meth:`writer`, a single
    thread that commits in batches so a fast run does not wait on the disk.

    Opened ``read_only`` (the reading commands), the store is neither created, migrated nor
    written, and its journal mode is left as it is: the connection cannot write (see
    :func:`~levelhead.store._connection.connect_read_only`), and a store written by an older
    levelhead is read as it is (see :meth:`_check_schema`).
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
                self._conn = connect_read_only(path)
                self._check_schema()
                # Set last: the temporary tables of _check_schema are writes too.
                self._conn.execute("PRAGMA query_only=ON")
            else:
                self._conn = connect(path)
                self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {path}: cannot open as a levelhead store ({exc})") from None

    def writer(self, lease: tuple[int, str] | None = None) -> BoundedWriter:
        """A writer for sample and verdict rows; close it to flush.

        Args:
            lease: ``(run id, owner)`` of the lease this process holds: each transaction then
                first checks that the lease is still this process's, and writes nothing if not.
        """
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only; it cannot be written")
        return BoundedWriter(self.path, lease)


    def reopen(self) -> SQLiteStore:
        """The same store on a connection of its own (for another thread)."""
        return SQLiteStore(self.path, read_only=self.read_only)

