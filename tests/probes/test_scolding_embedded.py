"""examples/steering.toml end to end on the embedded model: two system messages x two
temperatures, every finding of the probe and of the conditions, and the report's grid."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import need
from levelhead import load_spec, open_store, run_audit
from levelhead.report import compute_findings, load_run_data, render_report
from levelhead.spec import spec_from_dict

pytestmark = pytest.mark.local_model
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "steering.toml"


def test_steering_example_gives_every_finding(store_path):
    need("xllamacpp", load=False)
    spec = load_spec(EXAMPLE).model_dump(mode="json", exclude_none=True)
    # The example as written, smaller: two prompts of each kind, two samples, short replies.
    # (The stored form has its targets expanded already; re-reading it keeps them.)
    spec["run"]["samples"] = 2
    for target in spec["targets"]:
        target["max_tokens"] = 32
    spec["probes"][0]["limit"] = 2
    parsed = spec_from_dict(spec)
    assert len(parsed.targets) == 4
    report = run_audit(parsed, open_store(store_path))
    assert report.errors == 0
    data = load_run_data(open_store(store_path), report.run_id)
    findings = compute_findings(data)
    metrics = {f.metric for f in findings}
    for metric in ("over_refusal_rate", "partial_refusal_rate", "moralising_rate",
                   "condescension_rate", "harmful_compliance_rate"):
        assert metric in metrics, metric
    for prefix in ("condition_effect:", "system_spread:", "worst_of_n:"):
        assert any(m.startswith(prefix) for m in metrics), prefix
    page = render_report(data, findings)
    assert '"heatmap"' in page and "Scolding: benign but edgy requests" in page
