"""``levelhead monitor status`` and ``levelhead monitor check`` (issue 19) on real SQLite stores
filled with seeded simulated streams, and a real aiohttp webhook receiver on 127.0.0.1.

The ``monitor`` group itself is built in ``levelhead.cli._monitor``; these tests put the two
commands in a group of their own, as that group does.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from levelhead.cli._monitor_check import monitor_check, monitor_status
from levelhead.errors import SpecError
from levelhead.store import MonitorTurnRow, open_store


def _through_levelhead() -> bool:
    """Whether ``levelhead monitor`` holds these commands yet (then tests go through it, with its
    one-line errors); until then they run in a group of their own."""
    from levelhead.cli._monitor import monitor

    return monitor.commands.get("check") is monitor_check


GROUP = click.Group("monitor", commands={"status": monitor_status, "check": monitor_check})


def fill(path: str, turns: int, *, rise_at: int | None, seed: int) -> None:
    """One-turn conversations judged by abuse.lexicon (1 %) and flattery.lexicon (2 %, 6 % from
    turn ``rise_at`` on)."""
    rng = np.random.default_rng(seed)
    store = open_store(path)
    abuse = store.ensure_judge("abuse.lexicon", "1", "{}")
    flattery = store.ensure_judge("flattery.lexicon", "1", "{}")
    rate = np.full(turns, 0.02)
    if rise_at is not None:
        rate[rise_at:] = 0.06
    flattering = rng.random(turns) < rate
    abusive = rng.random(turns) < 0.01
    rows = [MonitorTurnRow(f"c{i}", 1, None, "v1", "en", None, None, None,
                           ((abuse, "abusive" if abusive[i] else "clean", 1.0),
                            (flattery, "flattering" if flattering[i] else "plain", 1.0)))
            for i in range(turns)]
    for b in range(0, turns, 20_000):
        part = rows[b:b + 20_000]
        store.add_monitor_batch("sim.jsonl", part, position=(None, None, "", 0, b + len(part)),
                                records=len(part))
    store.close()


@pytest.fixture(scope="module")
def risen(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("risen") / "monitor.db")
    fill(path, 70_000, rise_at=50_000, seed=11)
    return path


def invoke(store: str, *args: str) -> Result:
    if _through_levelhead():
        from levelhead.cli import cli

        return CliRunner().invoke(cli, ["--store", store, "monitor", *args])
    return CliRunner().invoke(GROUP, list(args), obj={"store": store, "debug": False})


def test_check_exits_1_and_names_the_behaviour_that_rose(risen: str) -> None:
    result = invoke(risen, "check", "--by", "order")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ALARM flattery.lexicon = flattering [all]: ")
    assert "first at turn" in lines[0] and result.stderr == ""


def test_status_shows_baseline_and_now_with_the_alarm_marked(risen: str) -> None:
    table = invoke(risen, "status")
    assert table.exit_code == 0, table.output
    assert "ALARM" in table.stdout and "flattery.lexicon = flattering" in table.stdout
    assert "source sim.jsonl: 70,000 conversations to line 70,000, 0 malformed lines" in table.stdout
    data = json.loads(invoke(risen, "status", "--format", "json").stdout)
    alarms = [w for w in data["watches"] if w["alarm"]]
    assert [(w["behaviour"]["judge"], w["slice"]) for w in alarms] == [
        ("flattery.lexicon", {"model": None, "language": None})]
    assert data["baseline"]["kind"] == "turns" and data["baseline_turns"] == 10_000


def test_check_on_a_steady_stream_exits_0(tmp_path: Path) -> None:
    path = str(tmp_path / "steady.db")
    fill(path, 40_000, rise_at=None, seed=12)
    result = invoke(path, "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no alarm: 2 watches (behaviour x slice) over 30,000 turns "
                                    "after the baseline (the first 10,000 turns ingested)")


def test_a_bad_baseline_is_a_one_line_error_before_any_work(risen: str) -> None:
    result = invoke(risen, "check", "--baseline", "2026-12-01..")
    if _through_levelhead():
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith("error: --baseline 2026-12-01..: a period needs its end")
    else:  # the levelhead command prints it in one line and exits 2
        assert isinstance(result.exception, SpecError)
        assert "a period needs its end" in str(result.exception)
    assert invoke(risen, "check", "--webhook", "ftp://x").exit_code == 2


async def test_the_webhook_receives_the_alarms_json(risen: str) -> None:
    received: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        result = await asyncio.to_thread(invoke, risen, "check", "--webhook",
                                         f"http://127.0.0.1:{port}/hook")
    finally:
        await runner.cleanup()
    assert result.exit_code == 1 and "webhook failed" not in result.output
    (body,) = received
    (alarm,) = body["alarms"]
    assert alarm["kind"] == "rate" and alarm["behaviour"] == "flattery.lexicon = flattering"
    assert alarm["line"] == result.stdout.strip() and alarm["detail"]["watch"]["alarm"] is True
    assert body["baseline"] == "the first 10,000 turns ingested"


def test_a_failed_webhook_still_prints_the_alarm_and_exits_1(risen: str) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = invoke(risen, "check", "--webhook", f"http://127.0.0.1:{port}/hook")
    assert result.exit_code == 1
    assert result.stdout.startswith("ALARM flattery.lexicon = flattering [all]")
    assert result.stderr.startswith(f"webhook failed: POST http://127.0.0.1:{port}: ")
    assert result.stderr.rstrip().endswith("the alarms stand")


def test_a_failed_webhook_names_its_host_never_the_secret_in_its_path(risen: str) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "services/T0001/B0002/s3cr3tXYZ"
    result = invoke(risen, "check", "--webhook",
                    f"http://user:pa55word@127.0.0.1:{port}/{secret}?token=t0kenABC#frag")
    assert result.exit_code == 1 and result.stdout.startswith("ALARM ")
    assert result.stderr.startswith(f"webhook failed: POST http://127.0.0.1:{port}: ")
    for hidden in ("s3cr3tXYZ", "T0001", "t0kenABC", "pa55word", "user", "frag"):
        assert hidden not in result.stderr
    typo = invoke(risen, "check", "--webhook", f"htps://hooks.example.com/{secret}")
    assert typo.exit_code == 2 and "s3cr3tXYZ" not in typo.output


def test_webhook_origin_keeps_scheme_host_and_port_only() -> None:
    from levelhead.cli._monitor_check import webhook_origin

    assert webhook_origin("https://hooks.slack.com/services/T/B/XYZ") == "https://hooks.slack.com"
    assert webhook_origin("http://u:p@[::1]:8080/x?y=z") == "http://[::1]:8080"
    assert webhook_origin("http://host:notaport/secret") == "http://…"


# A model, a source and a malformed line's reason as a hostile log could give them: rich markup
# that would stop a table, and escape sequences that retitle the terminal, clear it, forge a line.
EVIL_MODEL = "[/x]\x1b]0;owned\x07\x1b[2J\nforged\x9b"
EVIL_SOURCE = "logs/\x1b[31mred[/x].jsonl"
EVIL_REASON = "bad JSON \x1b]0;owned\x07"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> str:
    """40,000 turns over two models; flattery rises from 2 % to 10 % at turn 20,000 in the
    hostile model alone."""
    path = str(tmp_path_factory.mktemp("hostile") / "monitor.db")
    rng = np.random.default_rng(13)
    store = open_store(path)
    flattery = store.ensure_judge("flattery.lexicon", "1", "{}")
    turns = 40_000
    evil = rng.random(turns) < 0.5
    flattering = rng.random(turns) < np.where(evil & (np.arange(turns) >= 20_000), 0.10, 0.02)
    rows = [MonitorTurnRow(f"c{i}", 1, None, EVIL_MODEL if evil[i] else "v1", "en", None, None,
                           None, ((flattery, "flattering" if flattering[i] else "plain", 1.0),))
            for i in range(turns)]
    store.add_monitor_batch(EVIL_SOURCE, rows, position=(None, None, "", 0, turns + 1),
                            records=turns, malformed=[(turns + 1, EVIL_REASON)])
    store.close()
    return path


def test_check_shows_hostile_names_as_visible_escapes(hostile: str) -> None:
    result = invoke(hostile, "check", "--by", "order")
    assert result.exit_code == 1, result.output
    assert not any(c in result.output for c in "\x1b\x07\x9b")
    lines = result.stdout.splitlines()
    assert all(line.startswith("ALARM ") for line in lines)  # no forged line
    assert any("[model=[/x]\\x1b]0;owned\\x07\\x1b[2J\\x0aforged\\x9b]: " in line
               for line in lines), lines
    # The JSON (what the webhook posts) keeps the name exact.
    data = json.loads(invoke(hostile, "check", "--by", "order", "--format", "json").stdout)
    assert f"model={EVIL_MODEL}" in {a["slice"] for a in data["alarms"]}


def test_status_shows_hostile_names_without_markup_or_escapes(hostile: str) -> None:
    table = invoke(hostile, "status", "--by", "order")
    assert table.exit_code == 0, table.output  # a MarkupError before the fix
    assert not any(c in table.output for c in "\x1b\x07\x9b")
    assert "source logs/\\x1b[31mred[/x].jsonl: 40,000 conversations" in table.stdout
    assert "bad JSON \\x1b]0;owned\\x07" in table.stdout
    assert "model=[/x]" in table.stdout and "ALARM" in table.stdout
    assert not any(line.lstrip("│ ").startswith("forged") for line in table.stdout.splitlines())
    data = json.loads(invoke(hostile, "status", "--format", "json").stdout)
    assert {w["slice"]["model"] for w in data["watches"]} >= {EVIL_MODEL, "v1"}
    assert data["sources"][0]["source"] == EVIL_SOURCE
    assert data["sources"][0]["newest_malformed"] == [[40_001, EVIL_REASON]]
