"""Global options after the command, as people type them in ``llm`` or ``datasette``:
``levelhead export RUN --store runs.db`` means ``levelhead --store runs.db export RUN``, and the
option after the command wins over the one before it (and over LEVELHEAD_STORE)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from levelhead.cli import _COMMANDS, cli
from levelhead.errors import LevelheadError

SPEC = """
[run]
name = "after"
samples = 6
[[targets]]
name = "bot"
kind = "scripted"
replies = ["Sure, here it is."]
[[probes]]
name = "custom"
judges = ["refusal.rules"]
prompts = [ { id = "sky", text = "Why is the sky blue?" },
            { id = "zh", text = "天空为什么是蓝色的？" } ]
"""

POLICY = """
[[rules]]
name = "it answers"
metric = "rate:refusal.rules"
group = "compliance"
min = 0.1
"""


@pytest.fixture
def store(tmp_path) -> str:
    spec = tmp_path / "after.toml"
    spec.write_text(SPEC, encoding="utf-8")
    path = str(tmp_path / "runs.db")
    result = CliRunner().invoke(cli, ["run", str(spec), "-q", "--store", path])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def missing(tmp_path) -> str:
    """Where LEVELHEAD_STORE points in these tests: no store, so only --store PATH can work."""
    return str(tmp_path / "missing.db")


def _invoke(args: list[str], missing: str):
    return CliRunner().invoke(cli, args, env={"LEVELHEAD_STORE": missing})


def test_the_run_went_to_the_store_given_after_the_command(store, missing):
    listed = _invoke(["runs", "--store", store], missing)
    assert listed.exit_code == 0, listed.output
    assert "after" in listed.output and "12/12" in listed.output


def test_reading_commands_take_store_after_the_command(store, missing, tmp_path):
    shown = _invoke(["show", "after", "--store", store], missing)
    assert shown.exit_code == 0, shown.output
    assert "sky" in shown.output and "zh" in shown.output

    exported = _invoke(["export", "after", "--store", store, "--format", "jsonl"], missing)
    assert exported.exit_code == 0, exported.output
    assert len([json.loads(line) for line in exported.output.splitlines()]) == 12

    found = _invoke(["findings", "after", "--store", store, "--format", "json"], missing)
    assert found.exit_code == 0, found.output
    assert "refusal.rules" in found.output

    page = tmp_path / "out" / "after.html"
    reported = _invoke(["report", "after", "-o", str(page), "--store", store], missing)
    assert reported.exit_code == 0, reported.output
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_gate_takes_store_after_the_command_and_keeps_exit_3(store, missing, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    passed = _invoke(["gate", "after", "--policy", str(policy), "--store", store], missing)
    assert passed.exit_code == 0, passed.output
    assert "levelhead gate" in passed.output
    # Usage errors after the command are still the gate's 3, never "cannot decide" (2).
    no_value = _invoke(["gate", "after", "--policy", str(policy), "--store"], missing)
    assert no_value.exit_code == 3, no_value.output
    no_store = _invoke(["gate", "after", "--policy", str(policy), "--store", missing], missing)
    assert no_store.exit_code == 3 and "no store at" in no_store.output


def test_judge_takes_store_after_the_command(store, missing):
    result = _invoke(["judge", "after", "--judge", "abuse.lexicon", "--store", store], missing)
    assert result.exit_code == 0, result.output
    assert "abuse.lexicon: 12 new verdicts" in result.output


def test_the_store_after_the_command_wins(store, missing):
    # After wins over before, and over LEVELHEAD_STORE ...
    after_wins = _invoke(["--store", missing, "show", "after", "--store", store], missing)
    assert after_wins.exit_code == 0, after_wins.output
    lost = CliRunner().invoke(cli, ["--store", store, "show", "after", "--store", missing],
                              env={"LEVELHEAD_STORE": store})
    assert lost.exit_code == 2 and "no store at" in lost.output
    # ... and without one after the command, the one before (or the env) stands.
    before = _invoke(["--store", store, "show", "after"], missing)
    assert before.exit_code == 0, before.output
    from_env = CliRunner().invoke(cli, ["show", "after"], env={"LEVELHEAD_STORE": store})
    assert from_env.exit_code == 0, from_env.output


def test_debug_after_the_command_shows_the_traceback(store, missing):
    quiet = _invoke(["show", "nope", "--store", store], missing)
    assert quiet.exit_code == 2 and "error: no run 'nope'" in quiet.output
    for args in (["show", "nope", "--store", store, "--debug"],
                 ["--debug", "show", "nope", "--store", store]):
        loud = _invoke(args, missing)
        assert isinstance(loud.exception, LevelheadError), loud.output
        assert "error: no run" not in loud.output


def test_nested_commands_take_them_too(tmp_path, missing):
    csv = tmp_path / "pairs.csv"
    csv.write_text("prompt_a,prompt_b\nIs tax good?,Is tax bad?\n", encoding="utf-8")
    out = tmp_path / "pairs.jsonl"
    result = _invoke(["import", "paired-prompts", str(csv), "--name", "pairs", "-o", str(out),
                      "--store", missing, "--debug"], missing)
    assert result.exit_code == 0, result.output
    assert out.exists()


def _every_command() -> list[list[str]]:
    names = [[name] for name in sorted(_COMMANDS)]
    return names + [["import", "paired-prompts"], ["import", "refusal-set"]]


@pytest.mark.parametrize("command", _every_command(), ids=" ".join)
def test_every_command_accepts_and_lists_them_once(command, tmp_path):
    result = CliRunner().invoke(cli, [*command, "--store", str(tmp_path / "x.db"), "--debug",
                                      "--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()  # an option's own line, not a wrapped line of help
    assert sum(line.startswith("  --store PATH") for line in lines) == 1, result.output
    assert sum(line.startswith("  --debug") for line in lines) == 1, result.output


def test_the_group_help_lists_them_once():
    result = CliRunner().invoke(cli, ["--help"])
    lines = result.output.splitlines()
    assert sum(line.startswith("  --store PATH") for line in lines) == 1
    assert sum(line.startswith("  --debug") for line in lines) == 1
    assert "also accepted after the" in result.output
