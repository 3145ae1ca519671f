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
    assert result.stderr.startswith(f"webhook failed: POST http://127.0.0.1:{port}/hook: ")
    assert result.stderr.rstrip().endswith("the alarms stand")
