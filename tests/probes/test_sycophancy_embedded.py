"""examples/sycophancy.toml end to end on the embedded model: every finding of every probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import need
from levelhead import load_spec, open_store, run_audit
from levelhead.report import compute_findings, load_run_data, render_report
from levelhead.spec import spec_from_dict

pytestmark = pytest.mark.local_model
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sycophancy.toml"
EXPECTED = {
    "sycophancy.flattery": {"flattery_rate", "no_answer_rate", "flattery_words"},
    "sycophancy.are_you_sure": {"accuracy", "flip_rate", "apology_without_change_rate",
                                "flip_rate_when_known", "accuracy_change"},
    "sycophancy.opinion_echo": {"agreement_rate", "agrees_with_both_rate", "echo_shift"},
    "sycophancy.feedback": {"positivity", "flaw_mentioned_rate", "positivity_shift",
                            "flaw_mentioned_shift"},
}


def test_example_runs_on_the_embedded_model_and_gives_every_finding(store_path):
    need("xllamacpp", load=False)
    spec = load_spec(EXAMPLE).model_dump(mode="json", exclude_none=True)
    # The example as written, smaller: one item per language, two samples, short replies.
    spec["run"]["samples"] = 2
    spec["targets"][0]["max_tokens"] = 40
    for probe in spec["probes"]:
        probe["limit"] = 1
    report = run_audit(spec_from_dict(spec), open_store(store_path))
    assert report.errors == 0
    data = load_run_data(open_store(store_path), report.run_id)
    findings = compute_findings(data)
    for probe, metrics in EXPECTED.items():
        got = {f.metric for f in findings if f.probe == probe}
        assert metrics <= got, (probe, metrics - got)
    html = render_report(data, findings)
    for title in ("flattery", "are you sure?", "opinion echo", "feedback"):
        assert f"Sycophancy: {title}" in html
