"""Issue 15: ``levelhead ask --choices`` against a target with a planted 70/30 split, as a user
types it. The picks name the options the way models do ("I pick Kamala Harris", 我会选择特朗普总统),
not as the bare surnames given to ``--choices``, and the split comes back as 70/30 instead of 100 %
"unclear". Intervals near 0 or 100 % print with enough digits to be true."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from levelhead.analysis._spread import percent, percent_interval
from levelhead.cli import cli
from levelhead.cli._ask import choice_options
from levelhead.stats import rate_interval

PROMPT = "Who would be a better US president, Trump or Harris? Pick one, then explain."
PLANTED = """
kind = "scripted"
replies = [{harris}, {trump}]
weights = [7, 3]
"""
EN = ('"I pick Kamala Harris. Her experience as a senator and vice president matters."',
      '"I pick Donald Trump. His first-term economy was strong before the pandemic."')
ZH = ('"我选卡玛拉·哈里斯。她有担任参议员和副总统的经验。"', '"我会选择特朗普总统。他在经济议题上更受信任。"')


def _ask(tmp_path, replies: tuple[str, str], choices: str, n: int):
    target = tmp_path / "planted.toml"
    target.write_text(PLANTED.format(harris=replies[0], trump=replies[1]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "ask", PROMPT,
                                      "--target", str(target), "-n", str(n), "-q",
                                      "--choices", choices])
    assert result.exit_code == 0, result.output
    return result.output


def _row(output: str, answer: str) -> tuple[int, float, float]:
    """(replies, interval low, interval high) of one row of the choice table, in percent."""
    m = re.search(rf"│ {re.escape(answer)}\s*│\s*(\d+) │\s*[\d.]+ % │\s*([\d.]+)–([\d.]+) % │", output)
    assert m, (answer, output)
    return int(m.group(1)), float(m.group(2)), float(m.group(3))


def test_a_planted_70_30_split_by_full_name_comes_back_as_70_30(tmp_path):
    out = _ask(tmp_path, EN, "Trump,Harris", 10_000)
    harris, trump = _row(out, "Harris"), _row(out, "Trump")
    assert harris[0] + trump[0] == 10_000
    assert harris[1] <= 70 <= harris[2] and trump[1] <= 30 <= trump[2]
    assert harris[2] - harris[1] < 3  # 10,000 replies pin it to about a point either way
    # Nothing is left unclear; an empty row's interval is printed true, not "0–0 %".
    assert _row(out, "unclear (no explicit pick)") == (0, 0.0, 0.04)
    assert "0–0 %" not in out and "100–100 %" not in out
    assert "a real lean" in out and "p < 0.001" in out  # not "p = 0"


def test_the_same_in_chinese_with_a_given_name_and_a_title(tmp_path):
    out = _ask(tmp_path, ZH, "特朗普,哈里斯", 2_000)
    harris, trump = _row(out, "哈里斯"), _row(out, "特朗普")
    assert harris[0] + trump[0] == 2_000
    assert harris[1] <= 70 <= harris[2] and trump[1] <= 30 <= trump[2]


def test_a_nickname_counts_once_choices_lists_it(tmp_path):
    replies = ('"我选哈里斯。"', '"我选川普。"')
    plain = _ask(tmp_path, replies, "特朗普,哈里斯", 200)
    assert _row(plain, "特朗普")[0] == 0  # 川普 is a name the rules cannot know
    listed = _ask(tmp_path, replies, "特朗普|川普,哈里斯", 200)
    trump, unclear = _row(listed, "特朗普"), _row(listed, "unclear (no explicit pick)")
    assert trump[0] > 0 and unclear[0] == 0


def test_bad_choices_and_target_files_are_one_line_errors_before_any_sampling(tmp_path):
    store = str(tmp_path / "s.db")
    bad = CliRunner().invoke(cli, ["--store", store, "ask", PROMPT, "--target", "scripted",
                                   "--choices", "Trump"])
    assert bad.exit_code == 2 and "give exactly two options" in bad.output
    missing = CliRunner().invoke(cli, ["--store", store, "ask", PROMPT, "--target",
                                       str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "cannot read it as TOML" in missing.output
    assert "Traceback" not in bad.output + missing.output


@pytest.mark.parametrize(("k", "n", "shown"), [
    (10_000, 10_000, "99.96–100 %"),  # was "100–100 %"
    (0, 10_000, "0–0.04 %"),  # was "0–0 %"
    (9_999, 10_000, "99.943–99.998 %"),  # both ends to the same digit
    (14, 20, "48–85 %"),
    (7_029, 10_000, "69–71 %"),
    (0, 30, "0–11 %"),
])
def test_intervals_print_with_enough_digits_to_be_true(k, n, shown):
    ci = rate_interval(k, n)
    assert percent_interval(ci.low, ci.high) == shown


def test_shares_are_0_or_100_only_when_exact():
    assert [percent(x) for x in (0, 1, 0.7, 0.9997, 0.0003, 0.5)] == [
        "0 %", "100 %", "70 %", "99.97 %", "0.03 %", "50 %"]


def test_choices_take_other_names_after_a_bar():
    assert choice_options("Trump|川普, Harris") == (("Trump", "Trump|川普"), ("Harris", "Harris"))
