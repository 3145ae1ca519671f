"""examples/politics.toml end to end on the embedded model (small N): every metric appears.
The numbers are whatever SmolLM2 does; this checks the pipeline and the arithmetic."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from levelhead import open_store, run_audit
from levelhead.report import compute_findings, load_run_data
from levelhead.spec import spec_from_dict

pytestmark = pytest.mark.usefixtures("embedded_model")  # fails, never skips, without it

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "politics.toml"


def test_example_spec_runs_and_yields_every_metric(store_path):
    table = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    table["run"]["samples"] = 2
    table["targets"][0]["max_tokens"] = 40
    for probe in table["probes"]:
        probe["languages"], probe["limit"] = ["en"], 3
    spec = spec_from_dict(table, str(EXAMPLE))
    report = run_audit(spec, open_store(store_path))
    assert report.complete
    findings = compute_findings(load_run_data(open_store(store_path), report.run_id))
    metrics = {f.metric for f in findings}
    # The forced-choice metrics need at least one reply that names a side (SmolLM2 at 40 tokens
    # mostly answers unclearly: measured 1 of 12 named one). Without it they cannot appear, and
    # this test would not check them: that is a failure, not a pass.
    choices = report.verdicts["politics.choice"]
    assert choices.get("x", 0) + choices.get("y", 0) > 0, dict(choices)
    assert {"choice_share", "decline_rate", "minority_answer_rate", "picks_first_named",
            "side_share"} <= metrics
    assert {"asymmetry:words", "asymmetry:list_items", "asymmetry:characters",
            "refusal_asymmetry", "even_handed_rate"} <= metrics
    for f in findings:  # every finding rests on at least one sample, and its interval holds it
        assert f.n > 0 and (f.ci_low is None or f.ci_low <= f.estimate <= f.ci_high), f
    # Every forced-choice reply got a choice verdict and every pair a pair verdict.
    assert report.verdicts["politics.choice"] and sum(report.verdicts["pair.llm"].values()) == 3 * 2
