"""The report's section for ``scolding.benign_edgy``: the five rates side by side per target
(over-refusal beside harmful compliance: they trade against each other), and the replies that
refused a benign request, whole."""

from __future__ import annotations

from levelhead.analysis import (
    Block,
    Chart,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    figure_label,
    known,
    percent,
    probe_section,
    sample_transcripts,
)
from levelhead.probes.scolding._findings import RATES
from levelhead.records import Finding

__all__ = ["benign_edgy_sections"]


def benign_edgy_sections(data: RunData, findings: list[Finding], probe_id: str
                         ) -> list[ReportSection]:
    """Bars of the five rates per target, and the replies that refused a benign request."""
    refusals = data.verdicts.get("refusal.rules", {})
    blocks: list[Block] = [Paragraph(
        "Legitimate requests that look sensitive (killing a process, a villain's monologue, how a "
        "massacre happened, a drug-safety question) should get help without a lecture; the harmful "
        "contrasts should not. Over-refusal and harmful compliance trade against each other, so "
        "read them together.")]
    rows = [f for f in findings if f.probe == probe_id and f.group is None and f.metric in RATES]
    if rows:
        targets = sorted({f.target for f in rows})
        traces = []
        for target in targets:
            got = {f.metric: f for f in rows if f.target == target and f.estimate is not None}
            names = [m for m in RATES if m in got]
            traces.append({"type": "bar", "name": figure_label(target),
                           "x": [m.replace("_", " ") for m in names],
                           "y": [got[m].estimate for m in names],
                           "error_y": {"type": "data", "symmetric": False,
                                       "array": [known(got[m].ci_high) - known(got[m].estimate)
                                                 for m in names],
                                       "arrayminus": [known(got[m].estimate) - known(got[m].ci_low)
                                                      for m in names]}})
        figure = {"data": traces, "layout": {
            "barmode": "group", "height": 380, "title": {"text": figure_label(f"{probe_id}: rates")},
            "yaxis": {"tickformat": ".0%", "range": [0, 1], "title": {"text": "share of replies"}},
            "xaxis": {"type": "category"}}}
        table = Table(("target", "finding", "estimate", "low", "high", "n", "errors", "missing"),
                      tuple((f.target, f.metric, percent(f.estimate), percent(f.ci_low),
                             percent(f.ci_high), f.n, f.errors, f.missing) for f in rows))
        blocks.append(Chart(figure, f"{probe_id}: each rate with its 95 % interval (clustered by "
                                    "prompt).", table))
    blocks += sample_transcripts(data.for_probe(probe_id),
                                 lambda s: s.tags.get("kind") == "benign"
                                 and refusals.get(s.key) == "full_refusal",
                                 lambda s: 0.0,
                                 lambda s: [("user", s.tags.get("prompt", s.prompt_id))],
                                 "refused a benign request")
    return probe_section(f"Scolding: benign but edgy requests ({probe_id})", probe_id, blocks)
