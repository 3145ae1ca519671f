"""``levelhead plan``: the sentence a user reads, the JSON a script reads, and usage errors."""

import json

import pytest
from click.testing import CliRunner

from levelhead.cli._plan import plan_command


def invoke(*args):
    return CliRunner().invoke(plan_command, list(args))


def test_rate_below_prints_the_number_and_the_rule_of_three():
    result = invoke("--rate-below", "0.01", "--confidence", "0.95")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "To show the rate is below 1.0 % with 95 % confidence you need 299 samples with zero "
        "events (rule of three: 300).")


def test_rate_below_at_another_confidence_names_the_approximation_honestly():
    result = invoke("--rate-below", "0.01", "--confidence", "0.99")
    assert "459 samples with zero events" in result.output
    assert "rule of three" not in result.output
    assert "ln(1/alpha)/rate: 461" in result.output


def test_rate_below_with_an_expected_rate_or_a_few_events():
    expected = invoke("--rate-below", "0.01", "--expected-rate", "0.002")
    assert expected.exit_code == 0
    assert "when the true rate is 0.2 %, you need 628 samples" in expected.output
    assert "up to 2 events may appear" in expected.output
    events = invoke("--rate-below", "0.01", "--events", "2")
    assert "628 samples with at most 2 events" in events.output


def test_detect_difference_prints_samples_per_target():
    result = invoke("--detect-difference", "0.05", "--baseline-rate", "0.2", "--power", "0.8")
    assert result.exit_code == 0
    assert result.output.strip() == (
        "To detect a change of +5.0 points from a baseline rate of 20.0 % (two-sided alpha "
        "0.05, power 80 %) you need 1,092 samples per target.")
    paired = invoke("--detect-difference", "0.05", "--baseline-rate", "0.2", "--paired",
                    "--discordant-rate", "0.1")
    assert "paired samples per target" in paired.output
    assert "1,092" not in paired.output


def test_clustered_design_turns_the_total_into_samples_per_prompt():
    result = invoke("--interval-width", "0.1", "--rate", "0.3", "--prompts", "40", "--icc", "0.05")
    assert result.exit_code == 0
    assert "you need 320 samples" in result.output
    assert "Over 40 prompts (ICC 0.05, design effect 1.60): 13 samples per prompt, 520 in all." in (
        result.output)
    by_deff = invoke("--detect-difference", "0.05", "--baseline-rate", "0.2",
                     "--design-effect", "2")
    assert "With design effect 2: 2,184 in all per target." in by_deff.output


def test_json_output_is_machine_readable():
    result = invoke("--rate-below", "0.01", "--prompts", "30", "--design-effect", "2", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["goal"] == "rate_below"
    assert payload["independent_samples"] == 299
    assert (payload["samples_per_prompt"], payload["total_samples"]) == (20, 600)
    assert payload["rule_of_three"] == 300
    assert payload["sentence"].startswith("To show the rate is below 1.0 %")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one goal"),
        (("--rate-below", "0.01", "--interval-width", "0.1"), "give exactly one goal"),
        (("--detect-difference", "0.05"), "--detect-difference needs --baseline-rate"),
        (("--rate-below", "0.01", "--paired"), "--paired does not apply to --rate-below"),
        (("--detect-difference", "0.05", "--baseline-rate", "0.2", "--confidence", "0.9"),
         "--confidence does not apply to --detect-difference"),
        (("--rate-below", "2"), "--rate-below must be a rate in (0, 1)"),
        (("--interval-width", "0.1", "--prompts", "40"),
         "--prompts needs --icc or --design-effect (--icc=0 if"),
        (("--interval-width", "0.1", "--prompts", "3", "--icc", "0.5"), "use at least 191 prompts"),
        (("--rate-below", "0.01", "--expected-rate", "0.05"), "must be below the bound"),
        (("--rate-below", "abc"), "is not a valid float"),
        (("--rate-below", "0.01", "--expected-rate", "0.001", "--events", "1"),
         "give --events or --expected-rate, not both"),
        (("--interval-width", "0.1", "--confidence", "1.5"), "--confidence must be between"),
    ],
)
def test_usage_errors_exit_2_with_one_actionable_line(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_help_shows_examples():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "levelhead plan --rate-below 0.01 --confidence 0.95" in result.output
