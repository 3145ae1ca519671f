"""The findings and report sections of a run of every probe stay what they were.

A change meant to keep behaviour (moving code into behaviour packages, typing the protocols)
must give the same findings from the same store. Two runs on scripted targets (deterministic:
each reply follows its seed) — every probe, and a [conditions] grid — are stored, and their
findings compared with ``data/golden_findings.json``: every golden finding is still there with
the same values (new findings and new fields are allowed), and the report has the same
sections. When a change is *meant* to alter findings, write the file again with
``LEVELHEAD_WRITE_GOLDEN=1 pytest tests/report/test_findings_golden.py`` and say why in the commit.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from levelhead import open_store, run_audit
from levelhead.report import compute_findings, load_run_data, render_report
from levelhead.spec import load_spec

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden_findings.json"
SPECS = ("golden_all.toml", "golden_grid.toml")
VALUES = ("estimate", "ci_low", "ci_high", "n", "errors", "missing")


def _key(f: dict) -> str:
    # A joint variant has one setting_effect per setting: the setting and reference tell them apart.
    return "|".join([*(str(f[k]) for k in ("target", "probe", "metric", "group")),
                     *(str(f["detail"][k]) for k in ("setting", "reference") if k in f["detail"])])


@pytest.fixture(scope="module")
def current(tmp_path_factory) -> dict:
    store = open_store(tmp_path_factory.mktemp("golden") / "golden.db")
    out: dict = {}
    for name in SPECS:
        report = run_audit(load_spec(DATA / name), store)
        assert report.complete and report.errors == 0
        data = load_run_data(store, report.run_id)
        findings = [f.model_dump(mode="json") for f in compute_findings(data)]
        html = render_report(data, compute_findings(data))
        keyed = {_key(f): {k: f[k] for k in VALUES} for f in findings}
        assert len(keyed) == len(findings)  # each finding has a key of its own
        out[report.run_name] = {
            "findings": keyed,
            "sections": re.findall(r"<h2>([^<]*)</h2>", html),
        }
    if os.environ.get("LEVELHEAD_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
    return out


def _same(a: float | int | None, b: float | int | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("run", ["all", "grid"])
def test_every_golden_finding_keeps_its_values(current, run):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[run]["findings"]
    now = current[run]["findings"]
    assert len(golden) > 100  # the file holds the findings of every probe
    missing = sorted(set(golden) - set(now))
    assert not missing, f"{len(missing)} findings are gone, e.g. {missing[:5]}"
    changed = {k: (golden[k], now[k]) for k in golden
               if not all(_same(golden[k][v], now[k][v]) for v in VALUES)}
    assert not changed, f"{len(changed)} findings changed, e.g. {list(changed.items())[:3]}"


@pytest.mark.parametrize("run", ["all", "grid"])
def test_the_report_keeps_its_sections(current, run):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[run]["sections"]
    assert current[run]["sections"] == golden
