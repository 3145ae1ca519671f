"""The web app in a real browser (Debian's chromium, driven by Playwright) against a real
uvicorn on 127.0.0.1: open a run, filter its transcripts, draw a queue, label 20 replies blind
with the keyboard, and see the judge's agreement and a corrected rate; no script error, no
dialog, and hostile replies stay text."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webapp import IMG, SCRIPT, TRUTH, Served, Stored, stored, web_server  # noqa: F401

from conftest import need, need_file

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _shot(tab: Any, name: str, folder: Path) -> None:
    """A screenshot kept as a test artifact (also copied to $LEVELHEAD_ARTIFACTS); the docs'
    pictures are these (docs/img/web-*.png)."""
    path = folder / f"web-{name}.png"
    tab.screenshot(path=str(path), full_page=False)
    if os.environ.get("LEVELHEAD_ARTIFACTS"):
        target = Path(os.environ["LEVELHEAD_ARTIFACTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


@pytest.fixture(scope="module")
def app(web_server) -> Served:  # noqa: F811
    # Before the browser: the runs need asyncio.run, which cannot start in Playwright's loop.
    return web_server()


@pytest.fixture(scope="module")
def browser(app: Served) -> Iterator[Any]:
    sync_api = need("playwright.sync_api")
    need_file(CHROMIUM, "sudo apt-get install chromium")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, app: Served) -> Iterator[tuple[Any, list[str], list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    dialogs: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield tab, problems, dialogs
    context.close()


def test_browse_filter_draw_label_blind_with_the_keyboard_and_see_the_judge_measured(
        page: tuple[Any, list[str], list[str]], app: Served, stored: Stored,  # noqa: F811
        tmp_path: Path) -> None:
    tab, problems, dialogs = page
    tab.goto(app.url + "/")
    tab.click("text=web")
    assert tab.locator("#flagged li").count() >= 1
    _shot(tab, "run", tmp_path)
    tab.click("text=transcripts")
    assert "240 samples" in tab.inner_text("#count")
    tab.fill("input[name=q]", "idiot")
    with tab.expect_navigation():
        tab.click("#filters button")
    narrowed = int(tab.inner_text("#count").split()[0])
    assert 0 < narrowed < 240
    assert all("idiot" in t for t in tab.locator("#samples td.reply").all_inner_texts())

    # draw a queue of 20 in the app
    tab.goto(f"{app.url}/runs/{stored.run_id}/reviews")
    tab.select_option("select[name=judge]", "abuse.lexicon")
    tab.fill("input[name=size]", "20")
    tab.fill("input[name=name]", "browser-spot")
    with tab.expect_navigation():
        tab.click("#create-queue button")
    qid = re.search(r"/reviews/(\d+)$", tab.url).group(1)  # type: ignore[union-attr]
    assert "0 of 20" in tab.inner_text("body")

    tab.goto(f"{app.url}/reviews/{qid}/label")
    tab.fill("input[name=reviewer]", "bea")
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    labels = [b.split(maxsplit=1)[1] for b in tab.locator("#label-form button").all_inner_texts()]
    assert labels == ["abusive", "clean"]
    # n skips to the next reply without labelling
    first = tab.get_attribute("#item", "data-sample")
    with tab.expect_navigation():
        tab.keyboard.press("n")
    assert tab.get_attribute("#item", "data-sample") != first
    previous = None
    for done in range(20):
        current = tab.get_attribute("#item", "data-sample")
        html = tab.content()
        # blind: the judge's label of this reply is nowhere in the page before the submit
        assert "judge-said" not in html or previous is not None
        assert f'id="revealed" data-sample="{current}"' not in html
        if previous is not None:
            assert tab.get_attribute("#revealed", "data-sample") == previous
            assert tab.inner_text("#revealed .judge-said") in labels
        assert tab.get_attribute("#progress", "value") == str(done)
        if done == 3:
            _shot(tab, "label", tmp_path)
        reply = tab.inner_text("#item .role-assistant pre")
        digit = str(labels.index(TRUTH[reply]) + 1)
        with tab.expect_navigation():
            tab.keyboard.press(digit)
        previous = current
    assert tab.locator("#finished").count() == 1
    assert tab.get_attribute("#progress", "value") == "20"
    # u undoes the last label; a digit gives it again
    with tab.expect_navigation():
        tab.keyboard.press("u")
    assert tab.get_attribute("#progress", "value") == "19"
    reply = tab.inner_text("#item .role-assistant pre")
    with tab.expect_navigation():
        tab.keyboard.press(str(labels.index(TRUTH[reply]) + 1))
    assert tab.get_attribute("#progress", "value") == "20"

    tab.goto(f"{app.url}/reviews/{qid}")
    assert "20 of 20" in tab.inner_text("body")
    sensitivity = tab.inner_text("#agreement tr:first-child td")
    assert re.match(r"0\.\d{3} \(95 % interval", sensitivity) or sensitivity.startswith("1.000")
    corrected = tab.locator("#corrected td.corrected").all_inner_texts()
    assert any(c.endswith("%") for c in corrected)
    _shot(tab, "queue", tmp_path)  # the bot's rates; the broken target has none
    assert problems == [] and dialogs == []


def test_hostile_replies_stay_text_in_the_browser(page: tuple[Any, list[str], list[str]],
                                                  app: Served, stored: Stored) -> None:  # noqa: F811
    tab, problems, dialogs = page
    tab.goto(f"{app.url}/runs/{stored.run_id}/samples?q=alert")
    assert tab.locator("#samples tr.sample").count() > 0
    assert SCRIPT in tab.inner_text("#samples") and IMG in tab.inner_text("#samples")
    with tab.expect_navigation():
        tab.click("#samples tr.sample a")
    text = tab.inner_text(".conversation")
    assert SCRIPT in text and "javascript:alert(1)" in text
    assert tab.locator("main img").count() == 0
    assert tab.locator("a[href^='javascript']").count() == 0
    assert tab.locator("main script").count() == 0
    tab.wait_for_timeout(300)
    assert dialogs == [] and problems == []
