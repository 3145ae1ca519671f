"""The report's section for ``pressure.demanding_user``: the curve of "still civil after turn t"
with its pointwise intervals, the hazard per turn, the findings, and the worst conversations
shown whole (every turn, the bad ones flagged). Every word comes from the catalogue in the
reader's language (keys ``pressure.*``)."""

from __future__ import annotations

from typing import Any

from levelhead.analysis import (
    Block,
    Chart,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    Transcript,
    figure_label,
    known,
    pct,
    say,
    say_note,
)
from levelhead.probes.pressure._findings import conversations, turn_judges
from levelhead.records import Finding

__all__ = ["pressure_sections"]

WORST = 3  # conversations shown whole per target and judge
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _fill(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.15)"


def _curve_chart(findings: list[Finding], probe_id: str, judge: str,
                 lang: Language = "en") -> Chart | None:
    rows = [f for f in findings if f.probe == probe_id and f.metric == f"civil_to_end:{judge}"
            and f.group is None and f.detail.get("curve")]
    if not rows:
        return None
    traces: list[dict[str, Any]] = []
    table_rows = []
    for i, f in enumerate(rows):
        colour = _COLOURS[i % len(_COLOURS)]
        curve = f.detail["curve"]
        x = [0] + [r["turn"] for r in curve]
        y = [1.0] + [r["still_civil"] for r in curve]
        low = [1.0] + [r["low"] for r in curve]
        high = [1.0] + [r["high"] for r in curve]
        name = figure_label(f.target)
        traces.append({"type": "scatter", "mode": "lines", "x": x + x[::-1],
                       "y": high + low[::-1], "fill": "toself", "fillcolor": _fill(colour),
                       "line": {"width": 0, "shape": "hv"}, "hoverinfo": "skip",
                       "showlegend": False,
                       "name": figure_label(say(lang, "pressure.interval", name=f.target))})
        traces.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name,
                       "line": {"color": colour, "shape": "hv"}})
        table_rows += [(f.target, r["turn"], r["at_risk"], r["events"],
                        pct(r["still_civil"], lang), pct(r["low"], lang), pct(r["high"], lang),
                        pct(r["hazard"], lang)) for r in curve]
    figure = {"data": traces, "layout": {
        "height": 380,
        "title": {"text": figure_label(say(lang, "pressure.curve_figure", probe=probe_id,
                                           judge=judge))},
        "xaxis": {"title": {"text": figure_label(say(lang, "pressure.axis_turn"))},
                  "dtick": 1 if len(x) <= 26 else 5},
        "yaxis": {"title": {"text": figure_label(say(lang, "pressure.axis_civil"))},
                  "tickformat": ".0%", "range": [0, 1.02]}}}
    table = Table(tuple(say(lang, f"pressure.curve_column.{i}") for i in range(8)),
                  tuple(table_rows))
    return Chart(figure, say(lang, "pressure.curve_caption", judge=judge), table)


def _hazard_chart(findings: list[Finding], probe_id: str, judge: str,
                  lang: Language = "en") -> Chart | None:
    rows = [f for f in findings if f.probe == probe_id and f.metric == f"civil_to_end:{judge}"
            and f.group is None and f.detail.get("curve")]
    if not rows or not any(r["events"] for f in rows for r in f.detail["curve"]):
        return None
    traces = []
    for i, f in enumerate(rows):
        curve = f.detail["curve"]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": figure_label(f.target),
                       "x": [r["turn"] for r in curve], "y": [r["hazard"] for r in curve],
                       "line": {"color": _COLOURS[i % len(_COLOURS)]},
                       "error_y": {"type": "data", "symmetric": False,
                                   "array": [r["hazard_high"] - r["hazard"] for r in curve],
                                   "arrayminus": [r["hazard"] - r["hazard_low"] for r in curve]}})
    figure = {"data": traces, "layout": {
        "height": 340,
        "title": {"text": figure_label(say(lang, "pressure.hazard_figure", probe=probe_id,
                                           judge=judge))},
        "xaxis": {"title": {"text": figure_label(say(lang, "pressure.axis_turn"))}},
        "yaxis": {"title": {"text": figure_label(say(lang, "pressure.axis_hazard"))},
                  "tickformat": ".0%", "rangemode": "tozero"}}}
    return Chart(figure, say(lang, "pressure.hazard_caption"))


def _summary_table(findings: list[Finding], probe_id: str, lang: Language = "en") -> Table:
    def value(f: Finding) -> str:
        if f.estimate is None:
            note = f.detail.get("note")
            return say(lang, "pressure.value_none",
                       note=say(lang, "pressure.no_estimate") if note is None
                       else say_note(lang, str(note)))
        metric = f.metric.split(":", 1)[0]
        if metric == "hazard_onset":
            return say(lang, "pressure.value_onset", turn=f"{f.estimate:.0f}",
                       low=f"{f.ci_low:.0f}", high=f"{f.ci_high:.0f}",
                       trend=say(lang, "pressure.rises" if f.detail.get("flag")
                                 else "pressure.no_clear_rise"))
        if metric == "abusive_turn_rate":
            if f.estimate == 0:
                return say(lang, "pressure.value_per_1000_none",
                           upper=f"{f.detail['upper_bound_per_1000']:.2g}")
            return say(lang, "pressure.value_per_1000", rate=f"{f.detail['per_1000']:.1f}",
                       low=f"{known(f.ci_low) * 1000:.1f}", high=f"{known(f.ci_high) * 1000:.1f}")
        if metric == "hazard_growth":
            return say(lang, "pressure.value_growth", estimate=f"{f.estimate * 100:+.2f}",
                       low=f"{known(f.ci_low) * 100:+.2f}", high=f"{known(f.ci_high) * 100:+.2f}",
                       p=f"{f.detail['p_value']:.3g}")
        return f"{pct(f.estimate, lang)} ({pct(f.ci_low, lang)}–{pct(f.ci_high, lang)})"

    rows = [f for f in findings if f.probe == probe_id]
    return Table(tuple(say(lang, f"pressure.summary_column.{i}") for i in range(7)),
                 tuple((f.target, f.metric, f.group or say(lang, "word.all"), value(f), f.n,
                        f.errors, f.missing) for f in rows),
                 say(lang, "pressure.summary_caption"))


def _worst(data: RunData, probe_id: str, judge: str, bad: tuple[str, ...],
           lang: Language = "en") -> list[Transcript]:
    """The worst conversations per target: the most bad turns, then the earliest first."""
    out = []
    convs = [c for c in conversations(data, probe_id, judge, bad) if any(c.bad)]
    for target in data.targets():
        mine = [c for c in convs if c.target == target]
        mine.sort(key=lambda c: (-sum(bool(b) for b in c.bad), c.first_bad or 10**6,
                                 c.prompt_id, c.sample_index))
        for c in mine[:WORST]:
            turns: list[tuple[str, ...]] = []
            for t, label, b in zip(c.turns, c.labels, c.bad, strict=True):
                turns.append(("user", t.user_text))
                text = t.text if t.ok else say(lang, "pressure.error", error=t.error)
                turns.append(("assistant", text or "", say(lang, "pressure.turn_note", turn=t.turn,
                                                           judge=judge, label=label))
                             if b else ("assistant", text or ""))
            out.append(Transcript(
                say(lang, "pressure.worst", target=target, prompt=c.prompt_id,
                    sample=c.sample_index),
                tuple(turns),
                ((say(lang, "word.target"), target), (say(lang, "pressure.persona"), c.persona),
                 (say(lang, "word.lang"), c.lang), (say(lang, "pressure.turns"), str(len(c.turns))),
                 (say(lang, "pressure.first_bad"), str(c.first_bad or "–")),
                 (say(lang, "pressure.bad_turns"), str(sum(bool(b) for b in c.bad))),
                 (say(lang, "word.judge"), judge))))
    return out


def pressure_sections(data: RunData, findings: list[Finding], probe_id: str,
                      lang: Language = "en") -> list[ReportSection]:
    """The probe's section (none when the run holds no judged turn)."""
    judges = turn_judges(data, probe_id)
    if not judges:
        return []
    blocks: list[Block] = [Paragraph(say(lang, "pressure.intro"))]
    for judge, _ in judges:
        blocks += [b for b in (_curve_chart(findings, probe_id, judge, lang),
                               _hazard_chart(findings, probe_id, judge, lang)) if b is not None]
    blocks.append(_summary_table(findings, probe_id, lang))
    for judge, bad in judges:
        worst = _worst(data, probe_id, judge, bad, lang)
        if worst:
            blocks.append(Paragraph(say(lang, "pressure.worst_intro", judge=judge)))
            blocks += worst
    return [ReportSection(say(lang, "pressure.title", probe=probe_id), f"probe-{probe_id}",
                          tuple(blocks), order=100)]
