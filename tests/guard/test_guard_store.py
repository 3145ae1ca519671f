"""Every decision of the guard in the store, and `levelhead guard-stats` on them (issue 18, item 4).

A real mock upstream and a real guard (aiohttp on 127.0.0.1), a real SQLite store, and the
official `openai` SDK as the client; the command line through click and, once, as a process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_guard import Upstream, _start

from conftest import need
from levelhead import open_store
from levelhead.analysis import percent
from levelhead.cli import cli
from levelhead.guard import REQUEST_ID_HEADER, create_app, default_policy, policy_from_dict
from levelhead.stats import rate

KEY = "sk-test-guard-store-key-0123456789"
RULE = {"judge": "abuse.lexicon", "labels": ["abusive"], "action": "block"}


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[Any]:
    """Start the mock upstream and a guard recording into ``tmp_path/s.db``; ``stop()`` stops the
    guard (which writes what it has queued) and gives the store's decisions."""
    mock = Upstream()
    up_runner, up_url = await _start(mock.app())
    runners = []

    class Guarded:
        upstream = mock
        db = tmp_path / "s.db"

        async def start(self, policy: Any = None) -> str:
            if isinstance(policy, dict):
                policy = policy_from_dict(policy, "test policy")
            app = create_app(up_url + "/v1", policy or default_policy(), store=open_store(self.db))
            runner, url = await _start(app)
            runners.append(runner)
            return url + "/v1"

        async def stop(self) -> list[Any]:
            while runners:
                await runners.pop().cleanup()
            store = open_store(self.db, read_only=True)
            try:
                return store.guard_decisions()
            finally:
                store.close()

    yield Guarded()
    for runner in runners:
        await runner.cleanup()
    await up_runner.cleanup()


def _client(url: str) -> Any:
    openai = need("openai", "pip install -e '.[dev]'  (the official OpenAI SDK is a dev extra)")
    return openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)


async def _ask(client: Any, prompt: str, *, stream: bool = False, **kwargs: Any) -> str:
    messages = [{"role": "user", "content": prompt}]
    if not stream:
        done = await client.chat.completions.create(model="mock-1", messages=messages, **kwargs)
        return str(done.choices[0].message.content)
    text = ""
    async for chunk in await client.chat.completions.create(model="mock-1", messages=messages,
                                                            stream=True, **kwargs):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    return text


async def test_every_decision_is_stored_passes_too_without_the_text_or_the_key(guarded):
    url = await guarded.start()
    client = _client(url)
    mock = guarded.upstream
    try:
        mock.reply = "Here is the revised paragraph."
        raw = await client.chat.completions.with_raw_response.create(
            model="mock-1", messages=[{"role": "user", "content": "Revise it"}],
            extra_headers={REQUEST_ID_HEADER: "req-42"})
        assert raw.headers[REQUEST_ID_HEADER] == "req-42"  # the client's id comes back
        mock.reply = "改来改去不烦吗？滚。"
        await _ask(client, "帮我再改一次")
        mock.reply = "Fine. You idiot, do it yourself."
        mock.chunks = [mock.reply[i:i + 5] for i in range(0, len(mock.reply), 5)]
        await _ask(client, "Once more please", stream=True)
    finally:
        await client.close()
    decisions = await guarded.stop()

    assert [(d.action, d.language, d.streamed) for d in decisions] == [
        ("pass", "en", False), ("block", "zh", False), ("block", "en", True)]
    first, second, third = decisions
    assert first.request_id == "req-42" and len(second.request_id) == 32  # the guard's own id
    assert {d.model for d in decisions} == {"mock-1"}  # as the upstream named it
    assert all(d.judged and d.text is None for d in decisions)  # no text unless store_text
    assert [(f.judge, f.label, f.action) for f in second.findings] == [
        ("abuse.lexicon", "abusive", "block")]
    assert first.findings[0].label == "clean" and first.findings[0].action == "pass"
    assert all(d.latency_ms >= d.judge_ms > 0 for d in decisions)
    # Neither the key nor a word of any reply is anywhere in the store's files.
    for path in guarded.db.parent.iterdir():
        data = path.read_bytes()
        assert KEY.encode() not in data and "事逼".encode() not in data
        assert "滚".encode() not in data and b"idiot" not in data


async def test_store_text_keeps_the_reply_as_the_upstream_sent_it(guarded):
    url = await guarded.start({"rules": [RULE], "store_text": True})
    client = _client(url)
    guarded.upstream.reply = "你就是个SB，自己改去吧"
    try:
        assert "SB" not in await _ask(client, "请再改一次")  # the user did not see it ...
    finally:
        await client.close()
    (decision,) = await guarded.stop()
    assert (decision.action, decision.text) == ("block", "你就是个SB，自己改去吧")  # ... the store did


async def test_guard_stats_gives_block_rates_per_language_and_judge_with_intervals(guarded):
    url = await guarded.start({"rules": [RULE, {**RULE, "judge": "refusal.rules",
                                                "labels": ["full_refusal", "partial_refusal"],
                                                "action": "flag"}]})
    client = _client(url)
    mock = guarded.upstream
    try:
        for k in range(10):  # English: 3 of 10 abusive
            mock.reply = "You idiot, read the manual." if k < 3 else "The manual covers it."
            await _ask(client, "How do I reset it?")
        for k in range(4):  # Chinese: 1 of 4 abusive, 1 a refusal (flagged)
            mock.reply = ["滚。", "我不能帮你做这个。", "好的，这是答案。", "好的。"][k]
            await _ask(client, "怎么重置？")
    finally:
        await client.close()
    await guarded.stop()

    runner = CliRunner()
    result = runner.invoke(cli, ["--store", str(guarded.db), "guard-stats", "--format", "json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["decisions"] == 14
    langs = {s["key"]: s for s in stats["by_language"]}
    en, zh = rate(3, 10), rate(1, 4)
    assert (langs["en"]["k"], langs["en"]["n"]) == (3, 10)
    assert langs["en"]["interval"]["low"] == pytest.approx(en.interval.low)
    assert langs["en"]["interval"]["high"] == pytest.approx(en.interval.high)
    assert (langs["zh"]["k"], langs["zh"]["n"], langs["zh"]["actions"]) == (
        1, 4, {"block": 1, "flag": 1, "pass": 2})
    assert langs["zh"]["interval"]["high"] == pytest.approx(zh.interval.high)
    judges = {s["key"]: s for s in stats["by_judge"]}
    assert (judges["abuse.lexicon"]["k"], judges["abuse.lexicon"]["n"]) == (4, 14)
    assert judges["refusal.rules"]["k"] >= 1  # the Chinese refusal, flagged

    table = runner.invoke(cli, ["--store", str(guarded.db), "guard-stats"])
    assert table.exit_code == 0, table.output
    assert "14 replies screened" in table.output
    assert f"{percent(0.3)} ({percent(en.interval.low)} – {percent(en.interval.high)})" in (
        table.output)
    assert "Blocked, by language" in table.output and "abuse.lexicon" in table.output

    since = runner.invoke(cli, ["--store", str(guarded.db), "guard-stats", "--since", "2999-01-01"])
    assert since.exit_code == 0 and "no guard decisions" in since.output
    bad = runner.invoke(cli, ["--store", str(guarded.db), "guard-stats", "--since", "yesterday"])
    assert bad.exit_code == 2 and "expected a time in ISO 8601" in bad.output


def test_guard_stats_on_a_missing_store_says_so_in_one_line(tmp_path: Path):
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "none.db"), "guard-stats"])
    assert result.exit_code != 0
    assert "no store at" in result.output and "Traceback" not in result.output


def _decision(i: int, model: str | None, action: str) -> Any:
    from levelhead.store import GuardDecisionRow

    finding = {"judge": "abuse.lexicon", "label": "abusive" if action == "block" else "clean",
               "action": action, "error": None}
    return GuardDecisionRow(f"2026-12-07T10:{i // 60:02d}:{i % 60:02d}.000Z", f"r{i}", 0, model,
                            "en", False, action, True, 5.0 + i, 0.5, json.dumps([finding]), None)


def test_guard_stats_reads_the_store_in_pages_with_the_same_numbers(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import levelhead.cli._guard as guard_cli
    from levelhead.store import SQLiteStore

    db = tmp_path / "s.db"
    store = open_store(db)
    store.add_guard_decisions([_decision(i, f"m{i % 3}", "block" if i % 4 == 0 else "pass")
                               for i in range(23)])
    store.close()
    runner = CliRunner()
    whole = runner.invoke(cli, ["--store", str(db), "guard-stats", "--format", "json"])
    assert whole.exit_code == 0, whole.output
    pages: list[tuple[int, int | None]] = []
    read = SQLiteStore.guard_decisions

    def spy(self: Any, **kwargs: Any) -> Any:
        found = read(self, **kwargs)
        pages.append((kwargs["after_id"], kwargs["limit"]))
        assert len(found) <= kwargs["limit"]
        return found

    monkeypatch.setattr(guard_cli, "PAGE_ROWS", 5)
    monkeypatch.setattr(SQLiteStore, "guard_decisions", spy)
    paged = runner.invoke(cli, ["--store", str(db), "guard-stats", "--format", "json"])
    assert paged.exit_code == 0, paged.output
    assert json.loads(paged.output) == json.loads(whole.output)
    assert json.loads(paged.output)["decisions"] == 23
    assert pages == [(0, 5), (5, 5), (10, 5), (15, 5), (20, 5)]  # 5 pages: never all at once


def test_guard_stats_shows_hostile_model_names_as_text_not_markup_or_escapes(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = open_store(db)
    hostile = ["[/x]", "[bold]m[/bold]", "evil\x1b]0;owned\x07\x1b[2J\nforged\x9b"]
    store.add_guard_decisions([_decision(i, hostile[i % 3], "pass") for i in range(6)])
    store.close()
    table = CliRunner().invoke(cli, ["--store", str(db), "guard-stats"])
    assert table.exit_code == 0, table.output  # a MarkupError before the fix
    assert "[/x]" in table.output and "[bold]m[/bold]" in table.output
    assert not any(c in table.output for c in "\x1b\x07\x9b")
    assert "evil\\x1b]0;owned\\x07\\x1b[2J\\x0aforged\\x9b" in table.output
    assert not any(line.lstrip("│ ").startswith("forged") for line in table.output.splitlines())
    # JSON keeps the names exact.
    data = json.loads(CliRunner().invoke(cli, ["--store", str(db), "guard-stats", "--format",
                                               "json"]).output)
    assert {s["key"] for s in data["by_model"]} == set(hostile)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_command_records_into_the_store_and_writes_it_all_when_stopped(tmp_path):
    """`levelhead guard` as a user starts it: decisions go to --store, the last ones when it stops."""
    mock_runner, mock_url = await _start(Upstream().app())
    port = _free_port()
    db = tmp_path / "cmd.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "levelhead", "--store", str(db), "guard",
                             "--upstream", mock_url + "/v1", "--port", str(port)],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = proc.stderr.readline() if proc.stderr else ""
        assert f"decisions recorded in {db}" in banner
        client = _client(f"http://127.0.0.1:{port}/v1")
        try:
            for _ in range(50):  # the port opens a moment after the banner
                try:
                    await _ask(client, "Hi")
                    break
                except Exception:
                    time.sleep(0.1)
            await _ask(client, "Hi again", stream=True)
        finally:
            await client.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        await mock_runner.cleanup()
    store = open_store(db, read_only=True)
    try:
        decisions = store.guard_decisions()
    finally:
        store.close()
    assert [(d.action, d.streamed) for d in decisions][-2:] == [("pass", False), ("pass", True)]


async def test_a_store_that_cannot_be_written_drops_its_batch_with_a_warning_not_the_guard(
        tmp_path, caplog):
    """A full disk or a read-only store must not stop the guard screening replies."""
    mock = Upstream()
    up_runner, up_url = await _start(mock.app())
    open_store(tmp_path / "ro.db").close()
    app = create_app(up_url + "/v1", default_policy(),
                     store=open_store(tmp_path / "ro.db", read_only=True))
    runner, url = await _start(app)
    client = _client(url + "/v1")
    try:
        mock.reply = "滚。"
        assert "滚" not in await _ask(client, "再改一次")  # still screened and blocked
    finally:
        await client.close()
        with caplog.at_level("WARNING", logger="levelhead.guard"):
            await runner.cleanup()
        await up_runner.cleanup()
    assert "1 decisions not recorded" in caplog.text and "read-only" in caplog.text
