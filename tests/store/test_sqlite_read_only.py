"""Reading commands open the store read-only: an archived store on a read-only file, folder or
mount can be inspected, nothing is created at a mistyped path, and an older store is read as it
is, without being migrated.

Tests run as root in CI, where file modes stop no write; so the commands that must work on a
truly read-only store run in a child process as ``nobody`` (as this user when it is not root).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from levelhead import open_store, run_audit
from levelhead.cli import cli
from levelhead.errors import StoreError, StoreNotFoundError
from levelhead.spec import spec_from_dict

NOBODY = 65534


def _make_run(path: str | Path, name: str = "r") -> None:
    spec = spec_from_dict({
        "run": {"name": name, "samples": 3, "seed": 1},
        "targets": [{"name": "bot", "kind": "scripted", "replies": ["Sure.", "I can't help."]}],
        "probes": [{"name": "custom", "judges": ["refusal.rules"],
                    "prompts": [{"id": "a", "text": "Help?"}, {"id": "b", "text": "More?"}]}]})
    store = open_store(path)
    run_audit(spec, store)
    store.close()


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of ``folder`` with its bytes and modification time (ns)."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


# ----------------------------------------------------------------------------------- in process


def test_read_only_open_reads_and_leaves_no_trace(tmp_path):
    db = tmp_path / "s.db"
    _make_run(db)
    before = _snapshot(tmp_path)
    assert list(before) == ["s.db"]  # closed cleanly: no -wal, no -shm
    store = open_store(db, read_only=True)
    run = store.find_run("r")
    assert [r.name for r in store.list_runs()] == ["r"]
    assert len(list(store.iter_samples(run.id))) == 6
    with pytest.raises(StoreError, match="opened read-only"):
        store.writer()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # PRAGMA query_only
        store.begin_run("another", {}, seed=0, samples=1)
    store.close()
    assert _snapshot(tmp_path) == before


def test_reading_never_creates_a_store(tmp_path):
    missing = tmp_path / "typo.db"
    for kwargs in ({"read_only": True}, {"create": False}):
        with pytest.raises(StoreNotFoundError, match=f"no store at {missing}"):
            open_store(missing, **kwargs)
        with pytest.raises(StoreNotFoundError, match="is a folder"):
            open_store(tmp_path, **kwargs)
    assert list(tmp_path.iterdir()) == []
    assert StoreNotFoundError.exit_code == 2


def _oldest_store(path: Path) -> None:
    """A store as the first levelhead wrote it: migration 0001 only, one run."""
    from importlib import resources

    first = (resources.files("levelhead.store") / "migrations" / "0001_initial.sql").read_text()
    with sqlite3.connect(path) as c:
        c.executescript(first)
        c.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        c.execute("INSERT INTO schema_migrations VALUES ('0001_initial', 'then')")
        c.execute("INSERT INTO runs (name, created_at, spec_json, seed, samples, version)"
                  " VALUES ('old', 'then', '{}', 0, 1, '0.0')")
    c.close()


def test_an_older_store_is_read_as_it_is_without_being_migrated(tmp_path):
    db = tmp_path / "old.db"
    _oldest_store(db)
    before = _snapshot(tmp_path)
    store = open_store(db, read_only=True)
    run = store.find_run("old")
    # The tables of later migrations read as empty: an older levelhead could not fill them.
    assert store.turn_table(run.id) == [] and store.pair_verdict_table(run.id) == []
    assert store.review_queues(run.id) == []
    assert [r.name for r in store.list_runs()] == ["old"]
    assert store.migrations_applied() == ["0001_initial"]
    store.close()
    assert _snapshot(tmp_path) == before
    assert len(open_store(db).migrations_applied()) > 1  # a writing open still migrates


def test_an_older_store_that_needs_a_changing_migration_is_refused_in_one_line(tmp_path,
                                                                                monkeypatch):
    from levelhead.store import _schema

    db = tmp_path / "s.db"
    _make_run(db)
    real = _schema._migrations()
    monkeypatch.setattr(_schema, "_migrations", lambda: [
        *real, ("9999_flavour", "-- a later change\nALTER TABLE samples ADD COLUMN flavour TEXT;")])
    with pytest.raises(StoreError, match=r"written by an older levelhead and needs migration "
                                         r"9999_flavour to be read; open it once where it is "
                                         r"writable"):
        open_store(db, read_only=True)


# ---------------------------------------------------------------------------- truly read-only


@dataclass
class Outcome:
    """What a command run as the reader did."""

    code: int
    stdout: str
    stderr: str
    exception: str | None  # an exception that escaped: a traceback for the user


def _levelhead_as_reader(*argv: str) -> Outcome:
    """``levelhead ARGV`` in a child process that cannot write what this user made: as root
    (where file modes stop nothing) the child drops to ``nobody``.

    A fork, not a new interpreter: the interpreter may live where ``nobody`` cannot reach (a
    pyenv under /root); the fixture runs the same commands once first, so that every module
    they import is loaded before the fork.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            result = CliRunner().invoke(cli, list(argv))
            escaped = result.exception
            payload = {"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr,
                       "exception": None if escaped is None or isinstance(escaped, SystemExit)
                       else repr(escaped)}
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
            payload = {"code": -1, "stdout": "", "stderr": "", "exception": repr(exc)}
        try:
            with os.fdopen(write, "w", encoding="utf-8") as out:
                out.write(json.dumps(payload))
        finally:
            os._exit(0)  # never run pytest's own teardown in the child
    os.close(write)
    with os.fdopen(read, encoding="utf-8") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return Outcome(**json.loads(data))


COMMANDS = (("runs",), ("show", "r"), ("findings", "r", "--format", "json"), ("export", "r"))


@pytest.fixture
def reader_folder() -> Iterator[Path]:
    """A folder the reader can reach (pytest's own are private to this user), with every module
    the reading commands import loaded."""
    folder = Path(tempfile.mkdtemp(prefix="levelhead-ro-"))
    folder.chmod(0o755)
    warm = folder / "warm"
    warm.mkdir()
    _make_run(warm / "s.db")
    for argv in COMMANDS:
        assert CliRunner().invoke(cli, ["--store", str(warm / "s.db"), *argv]).exit_code == 0
    shutil.rmtree(warm)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(stat.S_IRWXU)
        shutil.rmtree(folder)


def test_an_archived_store_in_a_read_only_folder_can_be_inspected(reader_folder):
    archive = reader_folder / "archive"
    archive.mkdir()
    db = archive / "audit.db"
    _make_run(db)
    db.chmod(0o444)
    archive.chmod(0o555)
    before = _snapshot(archive)

    listed, shown, found, exported = (_levelhead_as_reader("--store", str(db), *argv)
                                      for argv in COMMANDS)
    for outcome in (listed, shown, found, exported):
        assert outcome.code == 0 and outcome.exception is None, outcome
    assert "6/6" in listed.stdout and "complete" in listed.stdout
    assert "run 'r' is complete: 6 of 6 samples stored" in shown.stdout
    assert any(f["metric"] == "rate:refusal.rules" for f in json.loads(found.stdout))
    assert len(exported.stdout.splitlines()) == 6
    assert _snapshot(archive) == before  # not a byte, not a -wal or -shm file


def test_a_read_only_file_in_a_writable_folder_can_be_inspected(reader_folder):
    shared = reader_folder / "shared"
    shared.mkdir()
    db = shared / "audit.db"
    _make_run(db)
    db.chmod(0o444)
    shared.chmod(0o777)
    content = db.read_bytes()
    result = _levelhead_as_reader("--store", str(db), "findings", "r", "--format", "json")
    assert result.code == 0 and result.exception is None, result
    assert any(f["metric"] == "rate:refusal.rules" for f in json.loads(result.stdout))
    assert db.read_bytes() == content


def test_unmerged_changes_in_a_read_only_folder_are_one_line(reader_folder):
    """A store copied while a writer had it open: its -wal holds committed changes, and with no
    -shm to share SQLite cannot read them from a read-only folder. Reading the main file alone
    (immutable) would silently miss them, so the command says what to do instead."""
    source, archive = reader_folder / "live", reader_folder / "archive"
    source.mkdir()
    archive.mkdir()
    db = source / "audit.db"
    _make_run(db)
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE runs SET name = 'renamed'")
    writer.commit()
    shutil.copy(db, archive / "audit.db")
    shutil.copy(f"{db}-wal", archive / "audit.db-wal")
    writer.close()
    for path in archive.iterdir():
        path.chmod(0o444)
    archive.chmod(0o555)
    result = _levelhead_as_reader("--store", str(archive / "audit.db"), "runs")
    assert result.code == 1 and result.exception is None, result
    assert result.stderr.strip().splitlines() == [
        f"error: store {archive / 'audit.db'}: cannot be read where it is: audit.db-wal holds "
        "changes not yet merged into the store and the folder is read-only; copy audit.db with "
        "audit.db-wal to a writable folder and read it there"]
