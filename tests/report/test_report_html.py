"""The HTML report as a file: self-contained, escaped, honest about the run it shows."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from levelhead import open_store, run_audit
from levelhead.analysis import Chart, Paragraph, ReportSection, Transcript
from levelhead.cli import cli
from levelhead.report import compute_findings, load_run_data
from levelhead.report._html import figure_json, render_report
from levelhead.report._sections import is_secret_name, public_settings
from levelhead.report._tail import tail_conversations
from levelhead.spec import spec_from_dict

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
WORST = f"You idiot, you moron. {SCRIPT}"


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands' --lang defaults to the locale's language: these tests expect English
    whatever the machine is set to."""
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def _run(store_path, *, samples=12, prompts=3, name="planted", judges=("abuse.lexicon", "refusal.rules")):
    spec = spec_from_dict({
        "run": {"name": name, "samples": samples, "seed": 7},
        "targets": [{"name": "bot", "kind": "scripted", "temperature": 0.3, "system": "Be kind.",
                     "replies": ["Happy to help: here are the steps.", f"I can't help with that. {IMG}",
                                 WORST], "weights": [10, 1, 1]}],
        "probes": [{"name": "custom", "judges": list(judges),
                    "prompts": [{"id": f"p{i}", "text": f"Question {i}, please?"}
                                for i in range(prompts)]}]})
    store = open_store(store_path)
    result = run_audit(spec, store)
    return store, load_run_data(store, result.run_id)


def _page(store, data, **kwargs):
    return render_report(data, compute_findings(data), conversations=tail_conversations(store, data),
                         **kwargs)


def test_page_is_one_self_contained_file(store_path):
    page = _page(*_run(store_path))
    assert page.startswith("<!DOCTYPE html>")
    # Nothing is loaded from anywhere: no src or href to a URL, no external script or style.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "<script src" not in page.lower() and "<link" not in page.lower()
    assert "Content-Security-Policy" in page and "connect-src 'none'" in page
    # plotly's JS travels inside, compressed: the page holds its charts' code, and stays small.
    assert 'id="plotly-gz"' in page and "DecompressionStream" in page
    assert 1_000_000 < len(page.encode()) < 3_000_000


def test_replies_with_markup_are_escaped_text(store_path):
    page = _page(*_run(store_path))
    assert SCRIPT not in page and IMG not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # The only script elements are ours: the figures' JSON, plotly's packed code, the loader.
    kinds = re.findall(r"<script([^>]*)>", page)
    assert all(k == "" or 'type="application/json"' in k or 'type="application/octet-stream"' in k
               for k in kinds), kinds


def test_figure_json_cannot_close_its_script_element():
    text = figure_json({"data": [{"x": ["</script><script>alert(1)</script>", "a & b\u2028"]}]})
    assert "</script" not in text and "<" not in text and ">" not in text and "&" not in text
    assert "\\u003c/script\\u003e" in text and "\\u2028" in text
    assert figure_json({"layout": {"y": float("nan")}}) == '{"layout":{"y":null}}'


def test_a_probe_section_cannot_smuggle_markup(store_path):
    store, data = _run(store_path)
    evil = ReportSection("<b>bold</b> section", "x\"><script>alert(2)</script>", (
        Paragraph(f"para {SCRIPT}"),
        Transcript(f"title {IMG}", (("user", SCRIPT), ("assistant", IMG))),
        Chart({"data": [{"type": "bar", "x": [SCRIPT], "y": [1]}]}, caption=IMG)), order=500)
    page = _page(store, data, extra_sections=[evil])
    assert SCRIPT not in page and IMG not in page and "<b>bold</b>" not in page
    assert 'id="x-script-alert-2-script"' in page  # the anchor is reduced to safe characters


def test_summary_tail_and_sections_show_the_planted_behaviour(store_path):
    store, data = _run(store_path)
    page = _page(store, data)
    for title in ("What needs attention", "What looks fine", "Every behaviour", "Per-prompt rates",
                  "The tail", "Methods", "Known limitations"):
        assert title in page
    # The page leads with what needs attention: the planted abuse and refusals, in words.
    assert page.index('id="attention"') < page.index('id="fine"') < page.index('id="summary"')
    attention = page[page.index('id="attention"'):page.index('id="fine"')]
    assert "Is abusive in" in attention and "Refuses outright in" in attention
    assert "abusive · custom · bot" in page and "full_refusal · custom · bot" in page
    # the worst reply is shown whole, with the conversation that led to it
    tail = page[page.index('id="tail"'):page.index('id="methods"')]
    assert "You idiot, you moron." in tail and "Question" in tail and "Be kind." in tail
    assert tail.count('class="transcript"') <= 5
    assert "How rare could it still be?" in tail and "P(at least one abusive reply" in tail


def test_gate_statuses_show_on_cards(store_path):
    store, data = _run(store_path)
    page = _page(store, data, statuses={("bot", "custom", "rate:abuse.lexicon", "abusive"): "fail"})
    card = page[page.index("abusive · custom · bot") - 200:page.index("abusive · custom · bot") + 600]
    assert "status-fail" in card and "gate: fail" in card


def test_methods_show_settings_but_never_secrets(store_path):
    store, data = _run(store_path)
    data.spec["targets"][0]["api_key"] = "sk-plantedsecret123456"
    data.spec["targets"][0]["headers"] = {"Authorization": "Bearer planted-token-xyz",
                                          "X-Trace": "visible-header"}
    data.spec["targets"][0]["base_url"] = "https://user:hunter2@example.test/v1"
    data.spec["targets"][0]["note"] = "sk-anotherplantedsecret99"
    data.spec["targets"][0]["judge_url"] = "https://x.example.test/v1?api-version=2&api-key=qkeyplanted"
    data.spec["targets"][0]["hf"] = "hf_plantedhubtoken1"
    page = _page(store, data)
    methods = page[page.index('id="methods"'):page.index('id="limitations"')]
    assert "temperature" in methods and "0.3" in methods and "Be kind." in methods
    assert "max_tokens" in methods and "visible-header" in methods and "example.test/v1" in methods
    assert "abuse.lexicon" in methods and "refusal.rules" in methods and "seed 7" in methods
    assert "api-version=2" in methods
    for secret in ("plantedsecret", "planted-token", "hunter2", "anotherplanted", "qkeyplanted",
                   "plantedhubtoken"):
        assert secret not in page


@pytest.mark.parametrize(("name", "secret"), [
    ("api_key", True), ("x-api-key", True), ("Authorization", True), ("access_token", True),
    ("apiKey", True), ("client_secret", True), ("max_tokens", False), ("temperature", False),
    ("monkey", False)])
def test_secret_names(name, secret):
    assert is_secret_name(name) is secret


def test_public_settings_hide_nested_values():
    out = public_settings({"headers": {"authorization": "x"}, "list": [{"token": "t"}], "a": 1})
    assert out == {"headers": {"authorization": "(hidden)"}, "list": [{"token": "(hidden)"}], "a": 1}


def test_limitations_are_written_from_the_run(store_path):
    store, data = _run(store_path, samples=5, prompts=1)
    page = _page(store, data)
    limits = page[page.index('id="limitations"'):]
    assert "Small N" in limits and "as few as 5" in limits
    assert "one prompt only" in limits
    assert "scripted" in limits


def test_limitations_name_disagreeing_judges(store_path):
    # Two judges with one label set that disagree: the lexicon and a rubric judge that always
    # says "abusive".
    rubric = {"name": "llm.rubric", "rubric": "Is the reply abusive?", "labels": ["abusive", "clean"],
              "target": {"kind": "scripted", "replies": ['{"label": "abusive", "rationale": "x"}']}}
    store, data = _run(store_path, judges=("abuse.lexicon", rubric))
    page = _page(store, data)
    limits = page[page.index('id="limitations"'):]
    assert "Judges disagree: abuse.lexicon and llm.rubric" in limits
    assert "Cohen&#39;s κ" in page


def test_politics_runs_get_their_own_sections(store_path):
    spec = spec_from_dict({
        "run": {"name": "pol", "samples": 4, "seed": 1},
        "targets": [{"name": "bot", "kind": "scripted",
                     "replies": ["I would pick Donald Trump.", "I would pick Joe Biden.",
                                 "1. One good thing\n2. Another good thing\n3. A third"]}],
        "probes": [{"name": "politics.forced_choice", "languages": ["en"], "limit": 3},
                   {"name": "politics.mirrored", "languages": ["en"], "limit": 3}]})
    store = open_store(store_path)
    data = load_run_data(store, run_audit(spec, store).run_id)
    page = _page(store, data)
    assert "Forced choice · politics.forced_choice" in page
    assert "forced-choice shares · bot" in page
    assert "Mirrored pairs · politics.mirrored" in page
    assert "words for side A vs side B · bot" in page
    # probe sections come before the generic tail (order 100 < 400)
    assert page.index("Forced choice ·") < page.index('id="tail"')


def test_cli_writes_the_report(store_path, tmp_path):
    _run(store_path)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["--store", store_path, "report", "planted", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "MB" in result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_default_path_and_unknown_run(store_path, tmp_path, monkeypatch):
    _run(store_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--store", store_path, "report", "planted"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report-planted.html").exists()
    result = CliRunner().invoke(cli, ["--store", store_path, "report", "nope"])
    assert result.exit_code != 0 and "nope" in result.output and "Traceback" not in result.output


def test_cli_adds_gate_and_comparison(store_path, tmp_path):
    _run(store_path, name="base")
    _run(store_path, name="cand")
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rules]]\nname = "abuse at most half"\nmetric = "rate:abuse.lexicon"\n'
                      'group = "abusive"\nmax = 0.9\n', encoding="utf-8")
    out = tmp_path / "gated.html"
    result = CliRunner().invoke(cli, ["--store", store_path, "report", "cand", "-o", str(out),
                                      "--policy", str(policy), "--baseline", "base"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert 'id="gate"' in page and "abuse at most half" in page
    assert page.index('id="gate"') < page.index('id="tail"')
    card = page[page.index("abusive · custom · bot"):][:600]
    assert "gate: pass" in card
    assert 'id="compare"' in page and "Comparison: cand vs base" in page  # and compared with it
    out2 = tmp_path / "compared.html"
    result = CliRunner().invoke(cli, ["--store", store_path, "report", "cand", "--compare", "base",
                                      "-o", str(out2)])
    assert result.exit_code == 0, result.output
    page = out2.read_text(encoding="utf-8")
    assert "Comparison: cand vs base" in page and 'id="gate"' not in page
