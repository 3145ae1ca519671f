"""`levelhead monitor ingest` (issue 19): production logs judged into a real SQLite store, every
line once, through restarts, appends, rotation, sampled judges and the guard's decisions."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from levelhead import open_store
from levelhead.cli import cli
from levelhead.store import GuardDecisionRow


def _line(i: int, *, lang: str = "en", bad: bool = False, feedback: str | None = None,
          turns: int = 1) -> str:
    messages: list[dict[str, str]] = []
    for t in range(turns):
        messages.append({"role": "user", "content": "请再改一次" if lang == "zh" else
                         f"Please revise it ({t})"})
        rude = bad and t == turns - 1
        if lang == "zh":
            reply = "滚，事逼。" if rude else "好的，这是修改后的段落。"
        else:
            reply = "You idiot, do it yourself." if rude else "Sure, here is the revised text."
        messages.append({"role": "assistant", "content": reply})
    record: dict[str, Any] = {"id": f"c{i}", "timestamp": "2026-12-07T10:00:00Z", "model": "v2",
                              "messages": messages}
    if feedback:
        record["feedback"] = feedback
    return json.dumps(record, ensure_ascii=False) + "\n"


def _ingest(db: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--store", str(db), "monitor", "ingest", *args])


def _turns(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT conversation, turn, language, feedback, text, text_hash"
                         " FROM monitor_turns ORDER BY id").fetchall()


def _verdicts(db: Path) -> list[tuple[str, str, str, float]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT t.conversation, j.name, v.label, v.inclusion_prob"
                         " FROM monitor_verdicts v JOIN monitor_turns t ON t.id = v.turn_id"
                         " JOIN judges j ON j.id = v.judge_id ORDER BY t.id, j.name").fetchall()


def test_every_turn_is_judged_by_the_default_judges_and_malformed_lines_are_named(tmp_path):
    log, db = tmp_path / "app.jsonl", tmp_path / "m.db"
    log.write_text(_line(1) + _line(2, lang="zh", bad=True, feedback="down") + "{oops\n"
                   + _line(3, bad=True, turns=2) + "\n", encoding="utf-8")
    result = _ingest(db, str(log))
    assert result.exit_code == 0, result.output
    assert "line 3: not JSON" in result.output
    assert "ingested 3 conversations (4 new turns of 4 judged, 1 malformed lines)" in result.output
    assert [t[:4] for t in _turns(db)] == [("c1", 1, "en", None), ("c2", 1, "zh", "down"),
                                           ("c3", 1, "en", None), ("c3", 2, "en", None)]
    verdicts = _verdicts(db)
    assert {v[1] for v in verdicts} == {"abuse.lexicon", "flattery.lexicon", "refusal.rules"}
    abuse = [(v[0], v[2]) for v in verdicts if v[1] == "abuse.lexicon"]
    assert abuse == [("c1", "clean"), ("c2", "abusive"), ("c3", "clean"), ("c3", "abusive")]
    assert all(v[3] == 1.0 for v in verdicts)
    assert all(t[4] is None and t[5] is None for t in _turns(db))  # no text kept by default
    store = open_store(db, read_only=True)
    try:
        (source,) = store.monitor_sources()
        assert (source.source, source.records, source.malformed, source.line) == (
            str(log.resolve()), 3, 1, 4)  # the blank line 5 is no conversation
        assert store.monitor_malformed(str(log.resolve()))[0][0] == 3
    finally:
        store.close()


def test_ingesting_again_takes_only_what_was_added_and_a_longer_conversation_adds_its_new_turn(
        tmp_path):
    log, db = tmp_path / "app.jsonl", tmp_path / "m.db"
    log.write_text(_line(1) + _line(2), encoding="utf-8")
    assert _ingest(db, str(log)).exit_code == 0
    again = _ingest(db, str(log))
    assert "going on from line 2" in again.output and "ingested 0 conversations" in again.output
    with log.open("a", encoding="utf-8") as f:
        f.write(_line(3) + _line(1, turns=2))  # c1 logged again, one turn longer
    more = _ingest(db, str(log))
    assert "ingested 2 conversations (2 new turns of 3 judged" in more.output
    assert [t[:2] for t in _turns(db)] == [("c1", 1), ("c2", 1), ("c3", 1), ("c1", 2)]


def test_a_sampled_judge_runs_on_its_share_and_each_verdict_keeps_its_probability(tmp_path):
    log, db = tmp_path / "app.jsonl", tmp_path / "m.db"
    log.write_text("".join(_line(i) for i in range(1000)), encoding="utf-8")
    result = _ingest(db, str(log), "--judge", "abuse.lexicon", "--judge", "flattery.lexicon",
                     "--sample", "flattery.lexicon=0.3", "--seed", "5")
    assert result.exit_code == 0, result.output
    verdicts = _verdicts(db)
    abuse = [v for v in verdicts if v[1] == "abuse.lexicon"]
    flattery = [v for v in verdicts if v[1] == "flattery.lexicon"]
    assert len(abuse) == 1000 and {v[3] for v in abuse} == {1.0}
    assert 240 <= len(flattery) <= 360 and {v[3] for v in flattery} == {0.3}
    # The draw is a hash of seed, judge and turn: the same log and seed draw the same turns.
    db2 = tmp_path / "m2.db"
    _ingest(db2, str(log), "--judge", "abuse.lexicon", "--judge", "flattery.lexicon",
            "--sample", "flattery.lexicon=0.3", "--seed", "5")
    assert [v for v in _verdicts(db2) if v[1] == "flattery.lexicon"] == flattery
    bad = _ingest(db, str(log), "--judge", "abuse.lexicon", "--sample", "llm.rubric=0.1")
    assert bad.exit_code == 2 and "--sample llm.rubric: not one of the judges run" in bad.output
    worse = _ingest(db, str(log), "--sample", "flattery.lexicon=2")
    assert worse.exit_code == 2 and "above 0 and at most 1" in worse.output


def test_store_text_keeps_nothing_a_hash_or_the_text_as_the_user_chose(tmp_path):
    log = tmp_path / "app.jsonl"
    log.write_text(_line(1, lang="zh", bad=True), encoding="utf-8")
    for mode in ("hash", "full"):
        db = tmp_path / f"{mode}.db"
        assert _ingest(db, str(log), "--store-text", mode).exit_code == 0
        (turn,) = _turns(db)
        if mode == "hash":
            assert turn[4] is None and len(turn[5]) == 64
            assert "滚".encode() not in db.read_bytes()
        else:
            assert (turn[4], turn[5]) == ("滚，事逼。", None)


def test_the_guards_decisions_are_a_source_with_their_verdicts_or_judged_again_from_text(
        tmp_path):
    guard_db, db = tmp_path / "guard.db", tmp_path / "m.db"
    store = open_store(guard_db)
    finding = [{"judge": "abuse.lexicon", "label": "abusive", "action": "block", "error": None}]
    timeout = [{"judge": "abuse.lexicon", "label": None, "action": "block", "error": "timed out"}]
    store.add_guard_decisions([
        GuardDecisionRow("2026-12-07T10:00:00.000+00:00", "r1", 0, "m1", "zh", False, "block",
                         True, 5.0, 0.1, json.dumps(finding), None),
        GuardDecisionRow("2026-12-07T10:00:01.000+00:00", "r1", 0, "m1", "en", True, "block",
                         False, 5.0, 0.1, json.dumps(timeout), None),
        GuardDecisionRow("2026-12-07T10:00:02.000+00:00", "r3", 0, "m1", "en", False, "pass",
                         True, 5.0, 0.1, json.dumps([{**finding[0], "label": "clean",
                                                      "action": "pass"}]),
                         "What a brilliant question, you are so smart!")])
    store.close()
    result = _ingest(db, "--format", "guard", str(guard_db))
    assert result.exit_code == 0, result.output
    verdicts = _verdicts(db)
    # 1: the guard's verdict (no text to judge again); 2 (the same request id, sent again by the
    # client): not judged, so no verdict at all, yet a turn of its own; 3: kept with its text,
    # so the monitor's own judges judged it.
    assert [v[:3] for v in verdicts if v[0] == "guard:1"] == [
        ("guard:1", "abuse.lexicon", "abusive")]
    assert [v for v in verdicts if v[0] == "guard:2"] == []
    assert [t[0] for t in _turns(db)] == ["guard:1", "guard:2", "guard:3"]
    assert {v[1] for v in verdicts if v[0] == "guard:3"} == {
        "abuse.lexicon", "flattery.lexicon", "refusal.rules"}
    with sqlite3.connect(db) as c:
        vias = c.execute("SELECT DISTINCT j.args_json FROM monitor_verdicts v JOIN judges j"
                         " ON j.id = v.judge_id JOIN monitor_turns t ON t.id = v.turn_id"
                         " WHERE t.conversation = 'guard:1'").fetchall()
    assert vias == [('{"via": "guard"}',)]
    again = _ingest(db, "--format", "guard", str(guard_db))
    assert "ingested 0 conversations" in again.output


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return int(c.execute("SELECT COUNT(*) FROM monitor_turns").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


def _wait_for(db: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while _count(db) < n:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "ingest exited"
        assert time.monotonic() < deadline, f"only {_count(db)} of {n} turns after 60 s"
        time.sleep(0.1)


def test_follow_takes_every_line_once_through_appends_and_a_rotation(tmp_path):
    log, db = tmp_path / "app.jsonl", tmp_path / "m.db"
    log.write_text("".join(_line(i) for i in range(50)), encoding="utf-8")
    # Its own process group, as under a service manager: the stop signal reaches the worker
    # processes too, and must end everything without a traceback.
    # stderr to a file, not a pipe: a helper process that outlived the stop would hold a pipe
    # open and hang the read (seen once); the file is read when the process has ended.
    err = (tmp_path / "stderr.txt").open("w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "levelhead", "--store", str(db), "monitor",
                             "ingest", str(log), "--follow", "-q", "--workers", "2"],
                            stderr=err, text=True, env={**os.environ},
                            start_new_session=True)
    try:
        _wait_for(db, 50, proc)
        with log.open("a", encoding="utf-8") as f:
            f.write("".join(_line(i) for i in range(50, 80)))
        _wait_for(db, 80, proc)
        log.rename(tmp_path / "app.jsonl.1")  # rotated: the old file is finished first
        with (tmp_path / "app.jsonl.1").open("a", encoding="utf-8") as f:
            f.write(_line(80))
        log.write_text("".join(_line(i) for i in range(81, 120)), encoding="utf-8")
        _wait_for(db, 120, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    err.close()
    errors = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert proc.returncode == 0 and "Traceback" not in errors, errors
    ids = [t[0] for t in _turns(db)]
    assert sorted(ids, key=lambda x: int(x[1:])) == [f"c{i}" for i in range(120)]
    assert len(ids) == len(set(ids)) == 120


def test_lines_parsed_by_the_judging_processes_are_stored_as_lines_parsed_while_reading(tmp_path):
    """The reading process hands raw lines to the worker processes, which parse and judge them:
    the turns, verdicts, counts and malformed lines (with their numbers, in order) are the same
    as when the reader parses the lines and this process judges them."""
    import asyncio

    from levelhead.cli._judge_configs import judge_configs_from
    from levelhead.monitor import DEFAULT_JUDGES, Monitor, ingest_batches
    from levelhead.monitor._batches import log_batches

    log = tmp_path / "app.jsonl"
    log.write_text("".join([
        _line(1), "{oops\n", _line(2, lang="zh", bad=True, feedback="down"), "\n",
        '{"messages": [{"role": "user", "content": "hi"}]}\n',
        '{"messages": [{"role": "assistant", "content": "No id: a default one."}]}\n',
        *(_line(i, bad=i % 7 == 0, turns=1 + i % 3) for i in range(3, 40)),
        '{"id": 5, "messages": "not a list"}\n', _line(40, lang="zh")]), encoding="utf-8")

    def ingest(db: Path, *, parse: bool, workers: int) -> tuple[Any, list[tuple[int, str]]]:
        store = open_store(db)
        monitor = Monitor(store, [(c, 1.0) for c in judge_configs_from(DEFAULT_JUDGES, None)],
                          workers=workers)
        reported: list[tuple[int, str]] = []

        async def run() -> Any:
            try:
                return await ingest_batches(
                    monitor, str(log), log_batches(log, size=7, parse=parse),
                    on_batch=lambda totals, batch: reported.extend(batch.malformed))
            finally:
                await monitor.close()

        try:
            totals = asyncio.run(run())
            malformed = store.monitor_malformed(str(log))
        finally:
            store.close()
        return (totals.conversations, totals.turns_judged, totals.malformed,
                [(m[0], m[1]) for m in malformed]), reported

    raw, raw_reported = ingest(tmp_path / "raw.db", parse=False, workers=2)
    parsed, parsed_reported = ingest(tmp_path / "parsed.db", parse=True, workers=1)
    assert raw == parsed and raw_reported == parsed_reported
    assert [line for line, _ in raw_reported] == [2, 5, 44]
    assert raw_reported[0][1].startswith("not JSON")
    assert _turns(tmp_path / "raw.db") == _turns(tmp_path / "parsed.db")
    assert _verdicts(tmp_path / "raw.db") == _verdicts(tmp_path / "parsed.db")
