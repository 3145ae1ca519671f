"""The SQLite store: named migrations, WAL, refusal of foreign files, batched writer."""

from __future__ import annotations

import sqlite3
import time

import pytest

from levelhead import open_store
from levelhead.errors import StoreError
from levelhead.records import Prompt, Turn
from levelhead.store import SampleRow


def test_blank_store_is_migrated_and_recorded(store_path):
    store = open_store(store_path)
    assert store.migrations_applied() == ["0001_initial", "0002_pair_verdicts", "0003_turns",
                                          "0004_run_leases", "0005_reviews",
                                          "0006_guard_decisions", "0007_monitor"]
    with sqlite3.connect(store_path) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"runs", "targets", "prompts", "samples", "judges", "verdicts", "pair_verdicts",
            "review_queues", "review_items", "review_labels"} <= tables
    assert open_store(store_path).migrate() == []  # reopening applies nothing twice


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="cannot open as a levelhead store"):
        open_store(bad)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing" / "x.db")


def _prompt(pid: str, text: str) -> Prompt:
    return Prompt(id=pid, messages=(Turn(role="user", content=text),))


def test_writer_is_idempotent_per_work_item(store_path):
    store = open_store(store_path)
    run = store.begin_run("r", {"x": 1}, seed=0, samples=2)
    tid = store.ensure_target(run.id, "t", "scripted", {"system": None}, "h")
    pid = store.ensure_prompts(run.id, "custom", [_prompt("a", "hi")])["a"]
    writer = store.writer()
    now = int(time.time() * 1000)
    for k in (0, 1, 1, 0):  # the same work item twice must not become two samples
        writer.put(SampleRow(run.id, tid, pid, k, "ok", f"reply {k}", None, 5, 1, 2, "stop",
                             None, 42, 1, now))
    writer.close()
    assert store.existing_indices(tid) == {pid: {0, 1}}
    samples = list(store.iter_samples(run.id))
    assert [(s.sample_index, s.text) for s in samples] == [(0, "reply 0"), (1, "reply 1")]
    assert [m.role for m in samples[0].messages] == ["user", "assistant"]


def test_changed_prompt_text_under_the_same_id_is_refused(store_path):
    from levelhead.errors import SpecError

    store = open_store(store_path)
    run = store.begin_run("r", {}, seed=0, samples=1)
    store.ensure_prompts(run.id, "custom", [_prompt("a", "hi")])
    assert store.ensure_prompts(run.id, "custom", [_prompt("a", "hi")])  # same: fine
    with pytest.raises(SpecError, match="prompt 'custom/a' of this run was sampled with other text"):
        store.ensure_prompts(run.id, "custom", [_prompt("a", "hello")])
    with pytest.raises(SpecError, match="exists with seed 0, not 5"):
        store.begin_run("r", {}, seed=5, samples=1)


def test_a_store_at_the_oldest_schema_is_migrated(store_path):
    from importlib import resources

    first = (resources.files("levelhead.store") / "migrations" / "0001_initial.sql").read_text()
    with sqlite3.connect(store_path) as c:
        c.executescript(first)
        c.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        c.execute("INSERT INTO schema_migrations VALUES ('0001_initial', 'then')")
        c.execute("INSERT INTO runs (name, created_at, spec_json, seed, samples, version)"
                  " VALUES ('old', 'then', '{}', 0, 1, '0.0')")
    store = open_store(store_path)
    assert store.migrations_applied() == ["0001_initial", "0002_pair_verdicts", "0003_turns",
                                          "0004_run_leases", "0005_reviews",
                                          "0006_guard_decisions", "0007_monitor"]
    assert store.find_run("old").name == "old"  # data kept
    assert store.turn_table(store.find_run("old").id) == []  # and the turns table is there
    assert store.review_queues() == []  # and the review tables


def test_in_memory_store_is_refused_with_a_reason():
    with pytest.raises(StoreError, match="give a file path"):
        open_store(":memory:")
