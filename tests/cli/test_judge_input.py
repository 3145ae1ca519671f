"""``levelhead judge --input``: a line that is not a valid input is refused with its number,
never judged as an empty reply (which every judge would call "clean")."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from levelhead.cli import cli


def _judge(tmp_path, text: str):
    source = tmp_path / "in.jsonl"
    source.write_text(text, encoding="utf-8")
    return source, CliRunner().invoke(cli, ["judge", "--judge", "abuse.lexicon", "--input",
                                            str(source)])


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "2", "text": 123}', '"text" must be a string, not 123'),
    ('{"id": "2", "text": null}', '"text" must be a string, not null'),
    ('{"id": "2", "text": ["You idiot."]}', '"text" must be a string, not ["You idiot."]'),
    ('{"id": null, "text": "hi"}', '"id" must be a non-empty string or an integer, not null'),
    ('{"id": "2", "messages": [{"role": "user", "content": "hi"}]}',
     'no reply to judge: give "text", or "messages" with an assistant message'),
    ('{"id": "2", "text": "hi", "tags": "x"}', '"tags" must be an object of names to values'),
    ('[1, 2]', 'expected {"id": ..., "text": ...} or {"id": ..., "messages": [...]}'),
])
def test_a_malformed_line_is_refused_with_its_number(tmp_path, line, message):
    source, result = _judge(tmp_path, '{"id": "1", "text": "You idiot."}\n' + line + "\n")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: {source}:2: {message}"


def test_valid_lines_are_judged_including_unicode_line_separators(tmp_path):
    # U+2028 may stand unescaped in a JSON string: it must not split the line.
    _, result = _judge(tmp_path, '{"id": 1, "text": "You idiot.\u2028Really."}\n\n'
                                 '{"id": "b", "messages": [{"role": "user", "content": "hi"}, '
                                 '{"role": "assistant", "content": "Hello!"}]}\n')
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.output.splitlines()]
    assert [(o["id"], o["label"]) for o in out] == [("1", "abusive"), ("b", "clean")]
