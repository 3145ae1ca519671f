"""``levelhead gate`` as CI runs it: the exit code is the verdict (0 pass, 1 fail, 2 cannot
decide, 3 usage error), the summary is Markdown, JUnit is written on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from levelhead.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
XSD = ROOT / "tests" / "report" / "data" / "junit.xsd"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """The walk-through's two runs (docs/release-gate.md): baseline and a regressed candidate."""
    path = str(tmp_path_factory.mktemp("gate") / "gate.db")
    for spec in ("gate-baseline.toml", "gate-candidate.toml"):
        result = CliRunner().invoke(cli, ["--store", path, "run", str(EXAMPLES / spec), "-q"])
        assert result.exit_code == 0, result.output
    return path


def _gate(store: str, *args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["--store", store, "gate", *args], env=env)


def _policy(tmp_path: Path, text: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_example_candidate_fails_with_junit_and_step_summary(store, tmp_path):
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    result = _gate(store, "gate-candidate", "--policy", str(EXAMPLES / "policy.toml"),
                   "--baseline", "gate-baseline", "--junit", str(junit),
                   "--markdown", str(tmp_path / "gate.md"), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1, result.output
    assert "levelhead gate: ❌ FAIL" in result.output
    assert "| ❌ fail | refusals may not rise |" in result.output
    assert "needs about 3,000 judged samples in all (2,500 more" in result.output
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(junit)))
    assert summary.read_text(encoding="utf-8").startswith("earlier step\n### levelhead gate")
    assert (tmp_path / "gate.md").read_text(encoding="utf-8") == result.output


def test_a_policy_the_run_meets_passes(store, tmp_path):
    policy = _policy(tmp_path, """
[[rules]]
metric = "rate:refusal.rules"
group = "compliance"
min = 0.8
[[rules]]
metric = "rate:refusal.rules"
group = "full_refusal"
max_increase = 0.05
""")
    result = _gate(store, "gate-baseline", "--policy", policy, "--baseline", "gate-candidate")
    assert result.exit_code == 0, result.output  # the baseline refuses less than the candidate
    assert "levelhead gate: ✅ PASS" in result.output


def test_a_bound_the_run_is_too_small_for_exits_2_with_the_samples_needed(store, tmp_path):
    policy = _policy(tmp_path, '[[rules]]\nmetric = "rate:abuse.lexicon"\ngroup = "abusive"\n'
                               'max = 0.001\n')
    result = _gate(store, "gate-baseline", "--policy", policy)
    assert result.exit_code == 2, result.output
    assert "CANNOT DECIDE" in result.output and "2,500 more" in result.output
    allowed = _gate(store, "gate-baseline", "--policy", policy, "--allow-undecided")
    assert allowed.exit_code == 0 and "CANNOT DECIDE" in allowed.output
    failing = _policy(tmp_path, '[[rules]]\nmetric = "rate:refusal.rules"\ngroup = "full_refusal"\n'
                                'max = 0.01\n')
    assert _gate(store, "gate-candidate", "--policy", failing, "--allow-undecided").exit_code == 1


def test_a_target_with_nothing_judged_cannot_decide_rather_than_pass(tmp_path):
    """A broken target must not vanish from the gate: its checks cannot decide, and say why."""
    spec = tmp_path / "two.toml"
    spec.write_text("""
[run]
name = "two"
samples = 5
[[targets]]
name = "good"
kind = "scripted"
replies = ["Sure, here you go."]
[[targets]]
name = "broken"
kind = "scripted"
replies = ["You idiot."]
fatal_rate = 1.0
[[probes]]
name = "custom"
judges = ["abuse.lexicon"]
prompts = [{ id = "a", text = "Help me." }, { id = "b", text = "Help me more." }]
""", encoding="utf-8")
    store = str(tmp_path / "two.db")
    CliRunner().invoke(cli, ["--store", store, "run", str(spec), "-q"])
    policy = _policy(tmp_path, '[[rules]]\nmetric = "rate:abuse.lexicon"\ngroup = "abusive"\n'
                               'max = 0.5\n')
    result = _gate(store, "two", "--policy", policy)
    assert result.exit_code == 2, result.output
    assert "| broken |" in result.output and "no judged sample (10 errors" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["gate-candidate"], "Missing option '--policy'"),
    (["gate-candidate", "--policy", "examples/policy.toml", "--bogus"], "No such option"),
    (["gate-candidat", "--policy", str(EXAMPLES / "policy.toml")], "no run 'gate-candidat'"),
    (["gate-candidate", "--policy", "nowhere.toml"], "nowhere.toml: no such policy file"),
    (["gate-candidate", "--policy", str(EXAMPLES / "policy.toml")],
     "rules[1].max_increase: a margin compares with a baseline; add --baseline RUN"),
    (["gate-candidate", "--policy", str(EXAMPLES / "policy.toml"), "--baseline", "nope"],
     "no run 'nope'"),
])
def test_usage_errors_exit_3_with_one_line(store, args, message):
    result = _gate(store, *args)
    assert result.exit_code == 3, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_misspelt_behaviour_exits_3_with_did_you_mean(store, tmp_path):
    policy = _policy(tmp_path, '[[rules]]\nmetric = "rate:refusal.rule"\ngroup = "full_refusal"\n'
                               'max = 0.2\n')
    result = _gate(store, "gate-candidate", "--policy", policy)
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        f"error: {policy}: rules[0].metric: the run has no behaviour 'rate:refusal.rule'; "
        "did you mean 'rate:refusal.rules'?"]


def test_an_interrupted_run_cannot_pass_until_it_is_resumed(tmp_path):
    """744 of 4,000 samples used to pass: now every result says the run is incomplete, and the
    gate cannot decide (exit 2) until the run is resumed."""
    import json

    from conftest import serve

    store = str(tmp_path / "s.db")
    spec = tmp_path / "cut.toml"
    policy = _policy(tmp_path, """
[[rules]]
metric = "rate:refusal.rules"
group = "full_refusal"
max = 0.9
""")
    runner = CliRunner()
    # Five replies, then the server fails for good: the target is stopped after three failed
    # batches in a row, and prompts p2 and p3 are never sampled.
    with serve(script=["ok"] * 5, fault_rate={"503": 1.0}) as server:
        spec.write_text(f"""
[run]
name = "cut"
samples = 5
seed = 1
[[targets]]
name = "mock"
kind = "openai"
base_url = "{server.base_url}"
model = "mock-1"
concurrency = 1
max_retries = 1
max_backoff_s = 0.01
[[probes]]
name = "custom"
prompts = [ {{ id = "p0", text = "Zero?" }}, {{ id = "p1", text = "One?" }},
            {{ id = "p2", text = "Two?" }}, {{ id = "p3", text = "Three?" }} ]
judges = ["refusal.rules"]
""", encoding="utf-8")
        first = runner.invoke(cli, ["--store", store, "run", str(spec), "-q"])
        assert first.exit_code == 1 and "Stored 7 of 20 samples" in first.output

        junit = tmp_path / "gate.xml"
        gated = _gate(store, "cut", "--policy", policy, "--junit", str(junit))
        assert gated.exit_code == 2, gated.output
        text = " ".join(gated.output.split())
        assert "levelhead gate: ❔ CANNOT DECIDE (run incomplete)" in text
        assert ("run 'cut' is incomplete: 7 of 20 samples stored (13 missing; 2 target x prompt "
                "never sampled: mock/custom/p2, mock/custom/p3); resume with: levelhead run "
                "--resume cut") in text
        etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(junit)))
        assert b'name="run complete"' in junit.read_bytes()
        # --allow-undecided does not let an incomplete run through; --allow-incomplete decides.
        assert _gate(store, "cut", "--policy", policy, "--allow-undecided").exit_code == 2
        allowed = _gate(store, "cut", "--policy", policy, "--allow-incomplete")
        assert allowed.exit_code == 0 and "gated as it is (--allow-incomplete)" in allowed.output

        found = json.loads(runner.invoke(cli, ["--store", store, "findings", "cut", "--format",
                                               "json"]).stdout)
        [completeness] = [f for f in found if f["metric"] == "completeness"]
        assert completeness["estimate"] == pytest.approx(7 / 20) and completeness["missing"] == 13
        assert completeness["detail"]["never_sampled"] == ["p2", "p3"]
        assert completeness["detail"]["resume"] == "levelhead run --resume cut"
        table = runner.invoke(cli, ["--store", store, "findings", "cut"])
        assert "warning: run 'cut' is incomplete" in table.stderr
        page = tmp_path / "cut.html"
        assert runner.invoke(cli, ["--store", store, "report", "cut", "-o", str(page)]).exit_code == 0
        assert "Incomplete run:</strong>" in page.read_text(encoding="utf-8")

        server.mock.fault_rate = {}  # the server is fixed: resume
        resumed = runner.invoke(cli, ["--store", store, "run", "--resume", "cut", "-q"])
        assert resumed.exit_code == 0, resumed.output
    decided = _gate(store, "cut", "--policy", policy)
    assert decided.exit_code == 0, decided.output
    assert "incomplete" not in decided.output
    found = json.loads(runner.invoke(cli, ["--store", store, "findings", "cut", "--format",
                                           "json"]).stdout)
    assert [f["detail"]["complete"] for f in found if f["metric"] == "completeness"] == [True]


def test_junit_stays_valid_xml_when_a_rule_name_holds_control_characters(store, tmp_path):
    # A TOML escape can put any control character in a name; XML 1.0 cannot carry most of them.
    policy = _policy(tmp_path, '[[rules]]\nname = "refusals\\u0000 stay \\u001B[31mrare\\b"\n'
                               'metric = "rate:refusal.rules"\ngroup = "full_refusal"\nmax = 0.01\n')
    junit = tmp_path / "ci" / "reports" / "gate.xml"  # the folders do not exist yet
    result = _gate(store, "gate-candidate", "--policy", policy, "--junit", str(junit))
    assert result.exit_code == 1, result.output  # the verdict, not 3 for the missing folder
    doc = etree.parse(str(junit))  # raises on a character XML forbids
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)
    (case,) = doc.iter("testcase")
    assert case.get("name").startswith("refusals stay [31mrare (")
