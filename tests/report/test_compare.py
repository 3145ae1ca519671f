"""Compare: a planted regression between two runs (or two targets of one run) is found, paired
by prompt, with a corrected p-value; noise is not; sides that cannot be paired say why."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from levelhead import open_store, run_audit
from levelhead.cli import cli
from levelhead.errors import CompareError
from levelhead.report import load_run_data
from levelhead.report._compare import compare_runs, comparison_section
from levelhead.spec import spec_from_dict

RUDE = "Figure it out yourself, idiot."
POLITE = "Sure, here is how it works."
PROMPTS = [{"id": f"p{i}", "text": f"Question number {i}?"} for i in range(12)]


def _target(name: str, rude_share: float) -> dict:
    return {"name": name, "kind": "scripted", "replies": [RUDE, POLITE],
            "weights": [rude_share, 1 - rude_share]}


def _run(path, name: str, targets: list[dict], samples: int = 40, seed: int = 1) -> int:
    spec = spec_from_dict({
        "run": {"name": name, "samples": samples, "seed": seed}, "targets": targets,
        "probes": [{"name": "custom", "judges": ["abuse.lexicon", "refusal.rules"],
                    "prompts": PROMPTS}]})
    return run_audit(spec, open_store(path)).run_id


def _data(path, run_id):
    return load_run_data(open_store(path), run_id)


def _abuse(result):
    (row,) = [r for r in result.rows if r.metric == "rate:abuse.lexicon"]
    return row


def test_planted_regression_between_runs_is_significant(store_path):
    a = _run(store_path, "base", [_target("bot", 0.02)])
    b = _run(store_path, "cand", [_target("bot", 0.30)], seed=2)
    result = compare_runs(_data(store_path, a), _data(store_path, b))
    row = _abuse(result)
    d = row.difference
    assert row.group == "abusive" and d.prompts == 12
    assert d.interval.low < 0.28 < d.interval.high  # the planted difference is inside
    assert row.significant and row.adjusted_p_value < 0.001
    # Only the labels judges call failures are compared (no "clean", no "compliance").
    assert {r.group for r in result.rows} == {"abusive", "full_refusal", "partial_refusal"}


def test_equal_targets_are_not_flagged(store_path):
    run = _run(store_path, "same", [_target("old", 0.10), _target("new", 0.10)])
    result = compare_runs(_data(store_path, run))
    row = _abuse(result)
    assert row.baseline == "same/old" and row.candidate == "same/new"
    assert not row.significant
    assert row.difference.interval.low < 0 < row.difference.interval.high


def test_holm_adjusted_p_is_never_below_raw(store_path):
    a = _run(store_path, "base", [_target("bot", 0.05)])
    b = _run(store_path, "cand", [_target("bot", 0.15)], seed=3)
    result = compare_runs(_data(store_path, a), _data(store_path, b), all_labels=True)
    assert len(result.rows) >= 4  # abusive, clean, and the refusal labels
    for r in result.rows:
        if r.difference is not None:
            assert r.adjusted_p_value >= r.difference.p_value


def test_one_run_with_three_targets_needs_names(store_path):
    run = _run(store_path, "three", [_target("a", 0.1), _target("b", 0.1), _target("c", 0.1)],
               samples=5)
    data = _data(store_path, run)
    with pytest.raises(CompareError, match="--targets"):
        compare_runs(data)
    with pytest.raises(CompareError, match="did you mean 'c'"):
        compare_runs(data, targets=("a", "cc"))
    assert compare_runs(data, targets=("a", "c")).rows[0].candidate == "three/c"


def test_forest_plot_carries_every_tested_behaviour(store_path):
    a = _run(store_path, "base", [_target("bot", 0.02)], samples=10)
    b = _run(store_path, "cand", [_target("bot", 0.30)], samples=10, seed=2)
    result = compare_runs(_data(store_path, a), _data(store_path, b))
    section = comparison_section(result)
    chart = next(b for b in section.blocks if hasattr(b, "figure"))
    trace = chart.figure["data"][0]
    assert len(trace["x"]) == len(result.rows) == len(chart.table.rows)
    assert any("abusive" in y for y in trace["y"])


def test_cli_compare_json_and_table(store_path):
    _run(store_path, "base", [_target("bot", 0.02)])
    _run(store_path, "cand", [_target("bot", 0.30)], seed=2)
    runner = CliRunner()
    out = runner.invoke(cli, ["--store", str(store_path), "compare", "base", "cand", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    row = next(r for r in doc["comparisons"] if r["group"] == "abusive")
    assert row["significant"] and 0.15 < row["difference"] < 0.45 and doc["correction"] == "holm"
    table = runner.invoke(cli, ["--store", str(store_path), "compare", "base", "cand"])
    assert table.exit_code == 0 and "significant" in table.output and "Holm" in table.output
    bad = runner.invoke(cli, ["--store", str(store_path), "compare", "base"])
    assert bad.exit_code == 2 and "--targets" in bad.output


def test_findings_json_contract_is_documented(store_path):
    """Every field of the findings JSON is in the docs table, and the CLI prints that JSON."""
    from pathlib import Path

    from levelhead.records import Finding

    _run(store_path, "base", [_target("bot", 0.1)], samples=3)
    out = CliRunner().invoke(cli, ["--store", str(store_path), "findings", "base", "--format", "json"])
    doc = json.loads(out.output)
    assert doc and set(doc[0]) == set(Finding.model_fields)
    text = (Path(__file__).parents[2] / "docs" / "findings.md").read_text(encoding="utf-8")
    for name in Finding.model_fields:
        assert f"`{name}`" in text, f"docs/findings.md does not document {name}"
    schema = CliRunner().invoke(cli, ["findings", "--schema"])
    assert set(json.loads(schema.output)["properties"]) == set(Finding.model_fields)


def test_a_comparison_with_an_incomplete_run_says_so(store_path):
    _run(store_path, "base", [_target("bot", 0.02)], samples=10)
    # The candidate's second target never answered: the run holds half of what it planned.
    _run(store_path, "cand", [_target("bot", 0.30), {**_target("down", 0.0), "unreachable": True}],
         samples=10, seed=2)
    runner = CliRunner()
    out = runner.invoke(cli, ["--store", str(store_path), "compare", "base", "cand", "--targets",
                              "bot,bot", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["complete"] is False
    assert doc["incomplete"] == ["run 'cand' is incomplete: 120 of 240 samples stored (120 missing; "
                                 "12 target x prompt never sampled: down/custom/p0, down/custom/p1, "
                                 "down/custom/p2 and 9 more); resume with: levelhead run --resume cand"]
    assert "warning: Incomplete: run 'cand' is incomplete" in out.stderr
    markdown = runner.invoke(cli, ["--store", str(store_path), "compare", "base", "cand",
                                   "--targets", "bot,bot", "--format", "markdown"])
    assert markdown.stdout.startswith("> **Incomplete: run 'cand' is incomplete")
    complete = runner.invoke(cli, ["--store", str(store_path), "compare", "base", "base",
                                   "--targets", "bot,bot", "--format", "json"])
    assert json.loads(complete.stdout)["complete"] is True and not complete.stderr
