"""The store's schema: named migrations applied in order and recorded in a table, and how a
store opened read-only is made readable without changing it."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

from levelhead.errors import StoreError
from levelhead.store._connection import SQLiteConnection, timestamp


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("levelhead.store") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
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


def _additive(statement: str) -> str | None:
    """The statement with its comment lines dropped when it only adds a table or an index, else
    None (it changes what is there: an ALTER, an UPDATE...)."""
    sql = "\n".join(ln for ln in statement.splitlines() if not ln.strip().startswith("--")).strip()
    head = " ".join(sql.split()[:3]).upper()
    return sql if head.startswith(("CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX")) else None


class Migrations(SQLiteConnection):
    """Applying and checking the named migrations of ``levelhead/store/migrations``."""

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
                    c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, timestamp()))
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
