"""What the PostgreSQL store does beyond the contract suite (which runs every store method on it):
the migrations translated, opening a missing database or store, the password kept out of
messages, a read-only session. On the tests' throw-away server (``_postgres_server.py``)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import _postgres_server
import pytest

from levelhead.errors import StoreError, StoreNotFoundError
from levelhead.store import LeaseHolder, open_store
from levelhead.store._dialect import translate
from levelhead.store._schema import _migrations, _statements


def test_every_migration_runs_translated_on_postgresql(tmp_path: Path) -> None:
    import psycopg

    url = _postgres_server.server().database_url(tmp_path, create=True)
    with psycopg.connect(url, autocommit=True) as conn:
        for _, sql in _migrations():
            for statement in _statements(sql):
                conn.execute(translate(statement).replace("%%", "%"))
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert {"runs", "samples", "verdicts", "run_leases", "review_labels", "guard_decisions",
            "monitor_turns", "monitor_sources"} <= tables


def test_a_missing_database_or_store_is_not_found_and_the_password_never_shown(
        tmp_path: Path) -> None:
    server = _postgres_server.server()
    missing = server.url("lh_no_such_database").replace("postgres@", "postgres:s3cret-pw@")
    with pytest.raises(StoreNotFoundError, match="no database for the store") as caught:
        open_store(missing)
    assert "s3cret-pw" not in str(caught.value) and "//***@127.0.0.1" in str(caught.value)
    empty = server.database_url(tmp_path, create=True)
    for kwargs in ({"read_only": True}, {"create": False}):
        with pytest.raises(StoreNotFoundError, match="has no levelhead tables"):
            open_store(empty, **kwargs)
    open_store(empty).close()  # a writable open creates the tables
    open_store(empty, read_only=True).close()


def test_a_read_only_store_refuses_writes_in_its_session_too(tmp_path: Path) -> None:
    url = _postgres_server.server().database_url(tmp_path, create=True)
    open_store(url).close()
    ro = open_store(url, read_only=True)
    try:
        with pytest.raises(sqlite3.Error, match="read-only transaction"):
            ro._conn.execute("INSERT INTO judges (name, version, args_json) VALUES (?, ?, ?)",
                             ("x", "1", "{}"))
        with pytest.raises(StoreError, match="read-only"):
            ro.undo_review_label(1, "ann")
    finally:
        ro.close()


def test_processes_racing_for_a_lease_leave_it_with_exactly_one(tmp_path: Path) -> None:
    """``try_lease`` reads then writes the lease row: on a server that many processes share, its
    write transaction holds the store's write lock, so that no two both find the lease free."""
    url = _postgres_server.server().database_url(tmp_path, create=True)
    first = open_store(url)
    run = first.begin_run("raced", {}, seed=1, samples=1)
    stores = [first, *(first.reopen() for _ in range(7))]
    go = threading.Barrier(len(stores))
    won: list[str] = []

    def race(k: int) -> None:
        now = int(time.time() * 1000)
        holder = LeaseHolder(owner=f"p{k}", host="elsewhere.example", pid=k, command="run",
                             acquired_ms=now, heartbeat_ms=now, expires_ms=now + 60_000)
        go.wait()
        if stores[k].try_lease(run.id, holder) is None:
            won.append(holder.owner)

    threads = [threading.Thread(target=race, args=(k,)) for k in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert len(won) == 1, won
        holder = first.lease_of(run.id)
        assert holder is not None and holder.owner == won[0]
    finally:
        for s in stores:
            s.close()


SPEC = """
[run]
name = "on-postgres"
samples = 2
seed = 1
[[targets]]
name = "bot"
kind = "scripted"
replies = ["You idiot.", "Fine."]
[[probes]]
name = "custom"
judges = ["abuse.lexicon"]
prompts = [ { id = "a", text = "Say something." } ]
"""


def test_the_cli_runs_and_reads_a_run_on_a_postgresql_store(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from click.testing import CliRunner

    from levelhead.cli import cli

    url = _postgres_server.server().database_url(tmp_path, create=True)
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    ran = CliRunner().invoke(cli, ["--store", url, "run", str(spec), "-q"])
    assert ran.exit_code == 0, ran.output
    monkeypatch.setenv("LEVELHEAD_STORE", url)  # the store chosen by the environment
    runs = CliRunner().invoke(cli, ["runs"])
    assert runs.exit_code == 0, runs.output
    assert "on-postgres" in runs.output
    store = open_store(url, read_only=True)
    try:
        run = store.find_run("on-postgres")
        assert store.count_samples(run.id) == 2
        assert len(store.verdict_table(run.id)) == 2
    finally:
        store.close()


def test_processes_opening_a_new_database_at_once_all_get_the_store(tmp_path: Path) -> None:
    url = _postgres_server.server().database_url(tmp_path, create=True)
    go = threading.Barrier(6)
    failures: list[BaseException] = []

    def open_it() -> None:
        go.wait()
        try:
            open_store(url).close()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    store = open_store(url, read_only=True)
    try:
        assert store.migrations_applied()[-1] == "0007_monitor"
    finally:
        store.close()


def test_a_store_from_before_a_migration_reads_as_it_is_and_migrates_on_a_write(
        tmp_path: Path) -> None:
    import psycopg

    url = _postgres_server.server().database_url(tmp_path, create=True)
    open_store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:  # as a levelhead before 0006 left it
        for table in ("monitor_malformed", "monitor_sources", "monitor_verdicts",
                      "monitor_turns", "guard_decisions"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_migrations WHERE name >= '0006'")
    old = open_store(url, read_only=True)
    try:
        assert old.guard_decisions() == [] and old.monitor_sources() == []
        assert old.migrations_applied()[-1] == "0005_reviews"
    finally:
        old.close()
    store = open_store(url)
    try:
        assert store.migrations_applied()[-1] == "0007_monitor"
        assert store.monitor_turn_count() == 0
    finally:
        store.close()
