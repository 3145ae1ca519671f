"""The HTML report in a real browser (Debian's chromium, driven by Playwright): it opens with no
network, its charts draw and carry data, the worst reply is shown, and replies that contain
markup stay text. A screenshot is kept as a test artifact (also copied to $LEVELHEAD_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import need, need_file
from levelhead import open_store, run_audit
from levelhead.report import compute_findings, load_run_data
from levelhead.report._html import render_report, write_report
from levelhead.report._tail import tail_conversations
from levelhead.spec import spec_from_dict

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROMPTS = 4
WORST = "You idiot, you moron, you fool."
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"

@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    spec = spec_from_dict({
        "run": {"name": "browser", "samples": 15, "seed": 11},
        "targets": [{"name": "bot", "kind": "scripted",
                     "replies": ["Sure, here are the steps.", f"I can't help with that. {SCRIPT}",
                                 f"Stop asking, you idiot. {IMG}"], "weights": [10, 1, 1],
                     # one prompt gets the planted worst reply: two judges call it bad
                     "by_prompt": {"Question 2": [f"I can't help you. {WORST}"]}}],
        "probes": [{"name": "custom", "judges": ["abuse.lexicon", "refusal.rules"],
                    "prompts": [{"id": f"p{i}", "text": f"Question {i}: how do I bake bread?"}
                                for i in range(PROMPTS)]}]})
    store = open_store(folder / "levelhead.db")
    data = load_run_data(store, run_audit(spec, store).run_id)
    html = render_report(data, compute_findings(data), conversations=tail_conversations(store, data))
    path = folder / "report.html"
    write_report(path, html)
    return path


@pytest.fixture(scope="module")
def browser(report_file):
    # After report_file: the run needs asyncio.run, which cannot start inside Playwright's loop.
    sync_api = need("playwright.sync_api")
    # Debian's chromium, never a downloaded browser; .ci/run installs it.
    need_file(CHROMIUM, "sudo apt-get install chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def opened(report_file, browser, tmp_path):
    """The report opened from disk with every non-file request aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    attempts: list[str] = []
    dialogs: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            attempts.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report_file.as_uri())
    page.wait_for_function("document.body.dataset.charts !== 'pending'", timeout=30_000)
    yield page, attempts, dialogs, errors
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("LEVELHEAD_ARTIFACTS"):
        target = Path(os.environ["LEVELHEAD_ARTIFACTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "report.png")
    context.close()


def test_charts_draw_offline_with_their_data(opened):
    page, attempts, _dialogs, errors = opened
    assert page.evaluate("document.body.dataset.charts") == "drawn", page.inner_text("#chart-note")
    assert attempts == [] and errors == []
    assert page.locator("#chart-note").is_hidden()
    charts = page.locator(".plot .main-svg")
    assert charts.count() >= 3
    # Each per-prompt dot plot has one marker per prompt, and error bars with them.
    plots = page.locator("#per-prompt .plot")
    assert plots.count() >= 2
    for i in range(plots.count()):
        plot = plots.nth(i)
        assert plot.locator(".scatterlayer .trace .points path.point").count() == PROMPTS
        assert plot.locator(".errorbars .errorbar").count() == PROMPTS
    # The tables with the same numbers fold away once the charts are drawn.
    assert page.locator("details.numbers[open]").count() == 0


def test_worst_reply_is_shown_whole(opened):
    page, *_ = opened
    tail = page.locator("#tail")
    first = tail.locator(".transcript").first
    assert WORST in first.inner_text()
    assert "Question 2: how do I bake bread?" in first.inner_text()
    assert first.locator(".role-assistant").count() == 1


def test_markup_in_replies_stays_text(opened):
    page, _attempts, dialogs, _errors = opened
    body = page.locator("main").inner_text()
    assert SCRIPT in body and IMG in body
    assert page.locator("main img").count() == 0
    assert page.locator("main script:not([type])").count() == 0
    assert dialogs == []
