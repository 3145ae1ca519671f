"""The monitor page (``/monitor``, issue 19) in a real browser (Debian's chromium, driven by
Playwright) against a real uvicorn on 127.0.0.1, over stores filled with seeded simulated traffic
through ``Store.add_monitor_batch``: a rise in flattery confined to Chinese conversations alarms
(badge, marker, the zh slice), a steady stream does not, a malformed line's hostile reason stays
text, a bad ``baseline`` is one line on the page, and an empty store says how to ingest."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from webapp import SCRIPT, Served, stored, web_server  # noqa: F401

from conftest import need, need_file
from levelhead.store import MonitorTurnRow, Store, open_store

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TURNS = 20_000  # 10,000 baseline turns (the default) and 10,000 watched: a page in about 1 s
HOSTILE_REASON = f"not JSON: {SCRIPT} <img src=x onerror=alert(2)>"

Rate = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (turn index from 0, language) -> rate


def simulate(store: Store, turns: int, *, flattery: Rate, seed: int, days: int = 8,
             thumbs: tuple[float, float] | None = None,
             malformed: tuple[tuple[int, str], ...] = ()) -> None:
    """``turns`` one-turn conversations in English and Chinese over ``days`` days from
    2026-12-01, judged by abuse.lexicon (1 %) and flattery.lexicon (as ``flattery`` says);
    ``thumbs=(p_up_flattering, p_up_plain)`` adds users' feedback (as in
    tests/analysis/test_monitor_analysis.py, smaller)."""
    from levelhead.judges import registry

    rng = np.random.default_rng(seed)
    abuse, flat = (store.ensure_judge(name, str(registry.get(name).factory.version), "{}")
                   for name in ("abuse.lexicon", "flattery.lexicon"))
    index = np.arange(turns)
    lang = np.array(["en", "zh"])[rng.integers(0, 2, turns)]
    flattering = rng.random(turns) < flattery(index, lang)
    abusive = rng.random(turns) < 0.01
    up = None if thumbs is None else rng.random(turns) < np.where(flattering, *thumbs)
    rows = []
    for i in range(turns):
        minute = i * days * 1440 // turns
        at = f"2026-12-{1 + minute // 1440:02d}T{minute % 1440 // 60:02d}:{minute % 60:02d}:00Z"
        rows.append(MonitorTurnRow(
            f"c{seed}-{i}", 1, at, "v1", str(lang[i]),
            None if up is None else ("up" if up[i] else "down"), None, None,
            ((abuse, "abusive" if abusive[i] else "clean", 1.0),
             (flat, "flattering" if flattering[i] else "plain", 1.0))))
    store.add_monitor_batch("chat.jsonl", rows, position=(None, None, "", 0, turns + len(malformed)),
                            records=turns, malformed=malformed)


@dataclass(frozen=True)
class Servers:
    """The app over each store: runs only (no monitor traffic), a zh-only rise, a steady one."""

    empty: Served
    rise: Served
    steady: Served


@pytest.fixture(scope="module")
def servers(web_server: Callable[..., Served], tmp_path_factory: pytest.TempPathFactory) -> Servers:  # noqa: F811
    folder = tmp_path_factory.mktemp("monitor")
    rise, steady = open_store(folder / "rise.db"), open_store(folder / "steady.db")
    try:
        # Flattery rises from 2 % to 6 % in Chinese conversations from turn 12,000; users'
        # thumbs favour it.
        simulate(rise, TURNS, seed=7, thumbs=(0.8, 0.6),
                 flattery=lambda i, lang: np.where((lang == "zh") & (i >= 12_000), 0.06, 0.02),
                 malformed=((17, HOSTILE_REASON), (42, "missing 'messages'")))
        simulate(steady, TURNS, seed=8, flattery=lambda i, lang: np.full(i.shape, 0.02))
    finally:
        rise.close()
        steady.close()
    # Started before the browser: the runs of the shared store need asyncio.run, which cannot
    # start in Playwright's loop.
    return Servers(web_server(), web_server(path=folder / "rise.db"),
                   web_server(path=folder / "steady.db"))


@pytest.fixture(scope="module")
def browser(servers: Servers) -> Iterator[Any]:
    sync_api = need("playwright.sync_api")
    need_file(CHROMIUM, "sudo apt-get install chromium")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    dialogs: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error":
            problems.append(message.text)

    def dialog(d: Any) -> None:
        dialogs.append(d.message)
        d.dismiss()

    tab.on("console", console)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("dialog", dialog)
    yield tab, problems, dialogs
    context.close()


def _shot(tab: Any, folder: Path) -> None:
    """The docs' picture (docs/img/web-monitor.png), kept as a test artifact and copied to
    $LEVELHEAD_ARTIFACTS when set."""
    path = folder / "web-monitor.png"
    tab.screenshot(path=str(path), full_page=False)
    if os.environ.get("LEVELHEAD_ARTIFACTS"):
        target = Path(os.environ["LEVELHEAD_ARTIFACTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


FLATTERY = "section[data-behaviour='flattery.lexicon = flattering']"
ABUSE = "section[data-behaviour='abuse.lexicon = abusive']"


def test_a_rise_in_flattery_in_chinese_alarms_with_a_badge_and_a_marker(
        page: tuple[Any, list[str], list[str]], servers: Servers, tmp_path: Path) -> None:
    tab, problems, dialogs = page
    response = tab.goto(servers.rise.url + "/monitor")
    assert response.status == 200
    # The alarm: listed at the top, the behaviour's badge, its row and its chart.
    assert tab.locator("#alarms li").count() >= 1
    assert "ALARM flattery.lexicon = flattering [lang=zh]" in tab.inner_text("#alarms")
    assert tab.inner_text(f"{FLATTERY} h2 .alarm-badge") == "ALARM"
    assert tab.inner_text(f"{FLATTERY} tr[data-slice='lang=zh'] .alarm-cell") == "ALARM"
    assert tab.inner_text(f"{FLATTERY} tr[data-slice='lang=en'] .alarm-cell") == "no"
    zh = tab.locator(f"{FLATTERY} svg.monitor-chart[data-slice='lang=zh']")
    assert zh.get_attribute("data-alarm") == "1"
    assert zh.locator(".alarm-badge-svg").count() == 1
    # The marker sits on the day of the first alarm: after the rise (turn 12,000, day 5 of 8).
    marker = zh.locator("g.alarm-marker")
    assert marker.count() == 1
    assert "2026-12-05" <= marker.get_attribute("data-window") <= "2026-12-08"
    # A chart per slice: all and each language (one model: no model slices), each with its
    # band, its rate and its baseline.
    slices = tab.locator(f"{FLATTERY} svg.monitor-chart").evaluate_all(
        "els => els.map(e => e.dataset.slice)")
    assert sorted(slices) == ["all", "lang=en", "lang=zh"]
    assert zh.locator("polygon.band").count() == 1 and zh.locator("line.baseline").count() == 1
    assert zh.locator("circle").count() == 8  # a window a day
    # English conversations and the other behaviour stay quiet.
    en = tab.locator(f"{FLATTERY} svg.monitor-chart[data-slice='lang=en']")
    assert en.get_attribute("data-alarm") == "0" and en.locator("g.alarm-marker").count() == 0
    assert tab.locator(f"{ABUSE} .alarm-badge").count() == 0
    # Users' thumbs: flattery more common among thumbs-up replies, as a sentence with its interval.
    rewards = tab.inner_text("#rewards")
    assert "flattery.lexicon = flattering [all]" in rewards and "more common where users approved" in rewards
    assert "95 % interval" in rewards
    _shot(tab, tmp_path)
    # Windows in ingest order: the marker on the check's window of turns.
    tab.goto(servers.rise.url + "/monitor?by=order")
    window = tab.get_attribute(f"{FLATTERY} svg[data-slice='lang=zh'] g.alarm-marker",
                               "data-window")
    first, last = (int(x) for x in window.removeprefix("turns ").split("-"))
    turn = int(tab.inner_text(f"{FLATTERY} tr[data-slice='lang=zh'] td:last-child")
               .removeprefix("turn ").replace(",", ""))
    assert 12_000 < turn <= TURNS and first <= turn <= last
    assert problems == [] and dialogs == []


def test_a_steady_stream_shows_no_alarm(page: tuple[Any, list[str], list[str]],
                                        servers: Servers) -> None:
    tab, problems, dialogs = page
    assert tab.goto(servers.steady.url + "/monitor").status == 200
    assert tab.locator("#no-alarm").is_visible()
    assert tab.locator("#alarms").count() == 0
    assert tab.locator("g.alarm-marker").count() == 0
    assert "ALARM" not in tab.inner_text("main")
    assert tab.locator("svg.monitor-chart").count() == 6  # 2 behaviours x (all, en, zh)
    assert tab.locator(".slices td.alarm-cell").all_inner_texts() == ["no"] * 6
    assert problems == [] and dialogs == []


def test_a_hostile_malformed_line_stays_text(page: tuple[Any, list[str], list[str]],
                                             servers: Servers) -> None:
    tab, problems, dialogs = page
    tab.goto(servers.rise.url + "/monitor")
    assert "2" in tab.inner_text("#sources tbody td:nth-child(4)")
    reasons = tab.locator(".malformed .reason").all_inner_texts()
    assert reasons == ["missing 'messages'", HOSTILE_REASON]  # the newest first
    assert tab.locator("main script").count() == 0 and tab.locator("main img").count() == 0
    tab.wait_for_timeout(300)
    assert dialogs == [] and problems == []


def test_a_bad_baseline_is_one_line_on_the_page_with_status_400(
        page: tuple[Any, list[str], list[str]], servers: Servers) -> None:
    tab, problems, dialogs = page
    for query, says in (("baseline=nosuchrun", "no run 'nosuchrun'"),
                        ("baseline=1500", "whole number of checks"),
                        ("baseline=2026-12-01..", "a period needs its end"),
                        ("by=week", "expected day, hour or order"),
                        ("baseline=" + SCRIPT, "no run '<script>")):
        response = tab.goto(f"{servers.rise.url}/monitor?{query}")
        assert response.status == 400, query
        assert says in tab.inner_text("#monitor-error"), query
        assert tab.locator("#monitor-error").count() == 1
        assert tab.locator("#monitor-form").is_visible()  # to correct it
        assert tab.locator("svg.monitor-chart").count() == 0
    # The form carries a good value through.
    tab.fill("input[name=baseline]", "2026-12-01..2026-12-04")
    with tab.expect_navigation():
        tab.click("#monitor-form button")
    assert tab.locator("#monitor-error").count() == 0
    assert "turns from 2026-12-01 until 2026-12-04" in tab.inner_text("#monitor-summary")
    # Chromium logs every 400 it loads as a console error; nothing else may be there.
    refused = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert dialogs == [] and [p for p in problems if p != refused] == []
    assert len(problems) == 5


def test_an_empty_store_says_how_to_ingest_and_the_page_is_in_the_navigation(
        page: tuple[Any, list[str], list[str]], servers: Servers) -> None:
    tab, problems, dialogs = page
    tab.goto(servers.empty.url + "/")
    with tab.expect_navigation():
        tab.click("header a[href='/monitor']")
    assert tab.locator("#monitor-empty").is_visible()
    assert "levelhead --store STORE monitor ingest FILE" in tab.inner_text("main")
    assert tab.locator("svg.monitor-chart").count() == 0
    assert problems == [] and dialogs == []
