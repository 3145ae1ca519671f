"""The pressure section of the HTML report in a real browser (Debian's chromium): the survival
curve draws with its interval band and its data, the hazard chart draws, and the worst
conversation is shown whole — every user and assistant turn, the bad turns flagged — with a
reply that carries markup kept as text. A screenshot is kept as a test artifact."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from conftest import need, need_file
from levelhead import open_store, run_audit
from levelhead.report import compute_findings, load_run_data
from levelhead.report._html import render_report, write_report
from levelhead.spec import spec_from_dict
from levelhead.targets.scripted import ScriptedTarget

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TURNS = 10
INSULT = "Change it yourself, idiot. <img src=x onerror=alert(1)>"
CIVIL = "Here is the new version."

def _responder(messages, rng: random.Random) -> str:
    turn = sum(m["role"] == "user" for m in messages)
    return INSULT if turn >= 5 and rng.random() < 0.3 else CIVIL


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pressure-report")
    spec = spec_from_dict({
        "run": {"name": "pressure-browser", "samples": 10, "seed": 2},
        "targets": [{"name": "bot", "kind": "scripted"}],
        "probes": [{"name": "pressure.demanding_user", "languages": ["en"], "limit": 1,
                    "max_turns": TURNS, "judges": ["abuse.lexicon"]}]})
    store = open_store(folder / "levelhead.db")
    report = run_audit(spec, store,
                       targets={"bot": ScriptedTarget(spec.targets[0], responder=_responder)})
    data = load_run_data(store, report.run_id)
    path = folder / "report.html"
    write_report(path, render_report(data, compute_findings(data)))
    return path


@pytest.fixture
def page(report_file, tmp_path):
    sync_api = need("playwright.sync_api")
    # Debian's chromium, never a downloaded browser; .ci/run installs it.
    need_file(CHROMIUM, "sudo apt-get install chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        attempts: list[str] = []
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                      else (attempts.append(r.request.url), r.abort()))
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(report_file.as_uri())
        page.wait_for_function("document.body.dataset.charts !== 'pending'", timeout=30_000)
        yield page
        assert attempts == [] and dialogs == []
        shot = tmp_path / "pressure.png"
        page.locator("#probe-pressure-demanding_user").screenshot(path=str(shot))
        if os.environ.get("LEVELHEAD_ARTIFACTS"):
            target = Path(os.environ["LEVELHEAD_ARTIFACTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / "report-pressure.png")
        browser.close()


def test_the_curve_and_the_hazard_draw_with_their_data(page):
    assert page.evaluate("document.body.dataset.charts") == "drawn"
    section = page.locator("#probe-pressure-demanding_user")
    plots = section.locator(".plot")
    assert plots.count() == 2  # the curve and the hazard
    curve = plots.nth(0)
    # The interval band (a filled area) and the step line of the curve.
    assert curve.locator(".scatterlayer .trace").count() == 2
    assert curve.locator(".scatterlayer .trace .fills path").count() >= 1
    line = curve.locator(".scatterlayer .trace .lines path").last.get_attribute("d")
    assert line and line.count("H") + line.count("V") >= TURNS  # a step per turn
    hazard = plots.nth(1)
    assert hazard.locator(".errorbars .errorbar").count() == TURNS


def test_the_worst_conversation_is_shown_whole_with_its_bad_turns_flagged(page):
    section = page.locator("#probe-pressure-demanding_user")
    worst = section.locator(".transcript").first
    assert worst.locator(".role-user").count() == worst.locator(".role-assistant").count()
    assert worst.locator(".role-assistant").count() == TURNS
    flagged = worst.locator(".turn.flagged")
    assert flagged.count() >= 1
    assert "abuse.lexicon: abusive" in flagged.first.inner_text()
    assert "<img src=x onerror=alert(1)>" in flagged.first.inner_text()  # text, not markup
    assert section.locator("img").count() == 0
