"""Spec files: the documented shape loads; a mistake is one line with file, path, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from levelhead.cli import cli
from levelhead.errors import SpecError, UnknownNameError
from levelhead.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def test_the_documented_smoke_spec_loads():
    spec = load_spec(ROOT / "examples" / "smoke.toml")
    assert spec.run.samples == 50 and spec.run.seed == 7
    (target,) = spec.targets
    assert target.kind == "openai" and target.concurrency == 64
    assert target.api_key_env == "OPENAI_API_KEY"
    prompts = {p.id: p for p in spec.probes[0].prompts}
    assert prompts["sky-zh"].text == "天空为什么是蓝色的？"
    assert [t.role for t in prompts["revise"].messages] == ["user", "assistant", "user"]


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """
[run]
name = "x"
samples = 3
[[targets]]
name = "m"
kind = "openai"
model = "gpt"
{extra}
[[probes]]
name = "custom"
prompts = [ {{ id = "a", text = "hi" }} ]
"""


@pytest.mark.parametrize(("extra", "expected"), [
    ('temperature = "hot"', "bad.toml: targets[0].temperature: Input should be a valid number"),
    ("concurrency = 0", "targets[0].concurrency: Input should be greater than or equal to 1"),
    ("temprature = 1.0", "targets[0].temprature: unknown field"),
    ('base_url = "127.0.0.1:8000"', "targets[0].base_url: give an http:// or https:// URL"),
    ('base_url = "http://bob:pw@host/v1"', "targets[0].base_url: credentials do not belong"),
    ('base_url = "http://host:99999/v1"', "targets[0].base_url: not a valid URL"),
    ('extra_body = { seed = 1 }', "targets[0].extra_body: seed cannot be set in extra_body"),
])
def test_malformed_field_names_file_path_and_expectation(tmp_path, extra, expected):
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, GOOD.format(extra=extra)))
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_run_field(tmp_path):
    body = GOOD.format(extra="").replace("samples = 3\n", "")
    with pytest.raises(SpecError, match=r"bad.toml: run.samples: required field is missing"):
        load_spec(_write(tmp_path, body))


def test_unknown_kind_suggests_the_nearest(tmp_path):
    body = GOOD.format(extra="").replace('kind = "openai"', 'kind = "opnai"')
    with pytest.raises(UnknownNameError,
                       match=r"targets\[0\].kind: unknown target kind 'opnai'; did you mean 'openai'"):
        load_spec(_write(tmp_path, body))


def test_unknown_probe_suggests_the_nearest(tmp_path):
    body = GOOD.format(extra="").replace('name = "custom"', 'name = "custon"')
    with pytest.raises(UnknownNameError, match=r"probes\[0\].name: .*did you mean 'custom'"):
        load_spec(_write(tmp_path, body))


def test_toml_syntax_error_gives_line(tmp_path):
    with pytest.raises(SpecError, match=r"not valid TOML: .*line 2"):
        load_spec(_write(tmp_path, "[run]\nname = \n"))


def test_prompt_needs_text_or_messages_and_unique_ids(tmp_path):
    body = GOOD.format(extra="").replace('{ id = "a", text = "hi" }',
                                         '{ id = "a", text = "hi" }, { id = "a", text = "yo" }')
    with pytest.raises(SpecError, match="prompt id 'a' appears twice"):
        load_spec(_write(tmp_path, body))
    body = GOOD.format(extra="").replace('{ id = "a", text = "hi" }', '{ id = "a" }')
    with pytest.raises(SpecError, match=r"probes\[0\].prompts\[0\]: give either text or messages"):
        load_spec(_write(tmp_path, body))


def test_cli_prints_one_line_and_exits_2(tmp_path):
    path = _write(tmp_path, GOOD.format(extra='temperature = "hot"'))
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "run", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "targets[0].temperature" in lines[0]


def test_missing_file(tmp_path):
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "run", "nope.toml"])
    assert result.exit_code == 2 and "nope.toml: no such spec file" in result.output
