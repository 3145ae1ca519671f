"""examples/pressure.toml end to end on the embedded model (shorter and smaller): every
conversation is held turn by turn, every turn judged, and the findings, the curve and the
tail come out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import need
from levelhead import load_spec, open_store, run_audit
from levelhead.report import compute_findings, load_run_data, render_report
from levelhead.spec import spec_from_dict

pytestmark = pytest.mark.local_model
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pressure.toml"


def test_pressure_example_gives_the_curve_and_the_tail(store_path):
    need("xllamacpp", load=False)
    # (serialize_as_any: the probe's own settings, as the runner stores them)
    spec = json.loads(load_spec(EXAMPLE).model_dump_json(serialize_as_any=True,
                                                         exclude_none=True))
    # The example as written, smaller: two personas, one conversation each, four turns.
    spec["run"]["samples"] = 1
    spec["targets"][0]["max_tokens"] = 32
    spec["probes"][0].update(max_turns=4, personas=["reviser", "rude"])
    parsed = spec_from_dict(spec)
    report = run_audit(parsed, open_store(store_path))
    assert report.complete and report.errors == 0
    data = load_run_data(open_store(store_path), report.run_id)
    assert len(data.samples) == 2 and len(data.turns) == 8
    assert all(t.status == "ok" and t.text for t in data.turns)
    # The model's context grew turn by turn: turn 4 answered the simulated user's 4th message.
    last = max(data.turns, key=lambda t: t.turn)
    assert last.turn == 4 and last.user_text != data.turns[0].user_text
    for judge in ("abuse.lexicon", "pressure.rules"):
        assert len(data.turn_verdicts[judge]) == 8
    metrics = {f.metric for f in compute_findings(data)}
    for metric in ("abusive_turn_rate", "civil_to_end", "early_hazard", "late_hazard",
                   "hazard_growth", "hazard_onset"):
        assert f"{metric}:abuse.lexicon" in metrics, metric
    page = render_report(data, compute_findings(data))
    assert "still civil after turn t" in page and "Pressure: long conversations" in page
