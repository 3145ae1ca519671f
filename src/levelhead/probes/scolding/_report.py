"""The report's section for ``scolding.benign_edgy``: the five rates side by side per target
(over-refusal beside harmful compliance: they trade against each other), and the replies that
refused a benign request, whole. Every word comes from the catalogue in the reader's language
(keys ``scold.*``)."""

from __future__ import annotations

from levelhead.analysis import (
    Block,
    Chart,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    figure_label,
    known,
    pct,
    probe_section,
    sample_transcripts,
    say,
)
from levelhead.probes.scolding._findings import RATES
from levelhead.records import Finding

__all__ = ["benign_edgy_sections"]


def benign_edgy_sections(data: RunData, findings: list[Finding], probe_id: str,
                         lang: Language = "en") -> list[ReportSection]:
    """Bars of the five rates per target, and the replies that refused a benign request."""
    refusals = data.verdicts.get("refusal.rules", {})
    blocks: list[Block] = [Paragraph(say(lang, "scold.intro"))]
    rows = [f for f in findings if f.probe == probe_id and f.group is None and f.metric in RATES]
    if rows:
        targets = sorted({f.target for f in rows})
        traces = []
        for target in targets:
            got = {f.metric: f for f in rows if f.target == target and f.estimate is not None}
            names = [m for m in RATES if m in got]
            traces.append({"type": "bar", "name": figure_label(target),
                           "x": [figure_label(say(lang, f"scold.rate.{m}")) for m in names],
                           "y": [got[m].estimate for m in names],
                           "error_y": {"type": "data", "symmetric": False,
                                       "array": [known(got[m].ci_high) - known(got[m].estimate)
                                                 for m in names],
                                       "arrayminus": [known(got[m].estimate) - known(got[m].ci_low)
                                                      for m in names]}})
        figure = {"data": traces, "layout": {
            "barmode": "group", "height": 380,
            "title": {"text": figure_label(say(lang, "scold.figure", probe=probe_id))},
            "yaxis": {"tickformat": ".0%", "range": [0, 1],
                      "title": {"text": figure_label(say(lang, "scold.axis"))}},
            "xaxis": {"type": "category"}}}
        table = Table((say(lang, "word.target"), say(lang, "word.finding"), say(lang, "word.estimate"),
                       say(lang, "word.low"), say(lang, "word.high"), "n", say(lang, "word.errors"),
                       say(lang, "word.missing")),
                      tuple((f.target, f.metric, pct(f.estimate, lang), pct(f.ci_low, lang),
                             pct(f.ci_high, lang), f.n, f.errors, f.missing) for f in rows))
        blocks.append(Chart(figure, say(lang, "scold.caption", probe=probe_id), table))
    blocks += sample_transcripts(data.for_probe(probe_id),
                                 lambda s: s.tags.get("kind") == "benign"
                                 and refusals.get(s.key) == "full_refusal",
                                 lambda s: 0.0,
                                 lambda s: [("user", s.tags.get("prompt", s.prompt_id))],
                                 say(lang, "scold.refused"), lang=lang)
    return probe_section(say(lang, "scold.title", probe=probe_id), probe_id, blocks)
