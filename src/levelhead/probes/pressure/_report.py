"""The report's section for ``pressure.demanding_user``: the curve of "still civil after turn t"
with its pointwise intervals, the hazard per turn, the findings, and the worst conversations
shown whole (every turn, the bad ones flagged)."""

from __future__ import annotations

from typing import Any

from levelhead.analysis import (
    Block,
    Chart,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    Transcript,
    figure_label,
    known,
    percent,
)
from levelhead.probes.pressure._findings import conversations, turn_judges
from levelhead.records import Finding

__all__ = ["pressure_sections"]

WORST = 3  # conversations shown whole per target and judge
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _fill(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},0.15)"


def _curve_chart(findings: list[Finding], probe_id: str, judge: str) -> Chart | None:
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
                       "showlegend": False, "name": f"{name} interval"})
        traces.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name,
                       "line": {"color": colour, "shape": "hv"}})
        table_rows += [(f.target, r["turn"], r["at_risk"], r["events"], percent(r["still_civil"]),
                        percent(r["low"]), percent(r["high"]), percent(r["hazard"]))
                       for r in curve]
    figure = {"data": traces, "layout": {
        "height": 380, "title": {"text": figure_label(f"{probe_id}: still civil after turn t "
                                                      f"({judge})")},
        "xaxis": {"title": {"text": "assistant turn"}, "dtick": 1 if len(x) <= 26 else 5},
        "yaxis": {"title": {"text": "share of conversations still civil"}, "tickformat": ".0%",
                  "range": [0, 1.02]}}}
    table = Table(("target", "turn", "at risk", "turned bad", "still civil", "low", "high",
                   "hazard"), tuple(table_rows))
    return Chart(figure, f"Kaplan-Meier curve of 'still civil after turn t' by {judge}, with "
                         "pointwise 95 % intervals (shaded); a conversation that ended early "
                         "counts as civil up to its last turn (censored).", table)


def _hazard_chart(findings: list[Finding], probe_id: str, judge: str) -> Chart | None:
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
        "height": 340, "title": {"text": figure_label(f"{probe_id}: hazard per turn ({judge})")},
        "xaxis": {"title": {"text": "assistant turn"}},
        "yaxis": {"title": {"text": "P(turns bad now | civil so far)"}, "tickformat": ".0%",
                  "rangemode": "tozero"}}}
    return Chart(figure, "The hazard: of the conversations still civil when a turn began, the "
                         "share that turned bad at that turn (Wilson 95 % intervals). A rise "
                         "means the risk grows with the length of the pressure.")


def _summary_table(findings: list[Finding], probe_id: str) -> Table:
    def value(f: Finding) -> str:
        if f.estimate is None:
            return f"– ({f.detail.get('note', 'no estimate')})"
        metric = f.metric.split(":", 1)[0]
        if metric == "hazard_onset":
            return (f"turn {f.estimate:.0f} ({f.ci_low:.0f}–{f.ci_high:.0f})"
                    + (", rises" if f.detail.get("flag") else ", no clear rise"))
        if metric == "abusive_turn_rate":
            if f.estimate == 0:
                return (f"0 per 1,000 turns (at most {f.detail['upper_bound_per_1000']:.2g}, "
                        "95 % upper bound)")
            return (f"{f.detail['per_1000']:.1f} per 1,000 turns ({known(f.ci_low) * 1000:.1f}–"
                    f"{known(f.ci_high) * 1000:.1f})")
        if metric == "hazard_growth":
            return (f"{f.estimate * 100:+.2f} points ({known(f.ci_low) * 100:+.2f} to "
                    f"{known(f.ci_high) * 100:+.2f}), p = {f.detail['p_value']:.3g}")
        return f"{percent(f.estimate)} ({percent(f.ci_low)}–{percent(f.ci_high)})"

    rows = [f for f in findings if f.probe == probe_id]
    return Table(("target", "finding", "persona", "estimate (95 % interval)", "n", "errors",
                  "missing"),
                 tuple((f.target, f.metric, f.group or "all", value(f), f.n, f.errors, f.missing)
                       for f in rows),
                 "n counts turns for rates over turns, at-risk turn-steps for hazards, and "
                 "conversations for the curve and the onset.")


def _worst(data: RunData, probe_id: str, judge: str, bad: tuple[str, ...]) -> list[Transcript]:
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
                text = t.text if t.ok else f"[error: {t.error}]"
                turns.append(("assistant", text or "", f"turn {t.turn} · {judge}: {label}")
                             if b else ("assistant", text or ""))
            out.append(Transcript(
                f"worst conversation · {target} · {c.prompt_id} #{c.sample_index}",
                tuple(turns),
                (("target", target), ("persona", c.persona), ("lang", c.lang),
                 ("turns", str(len(c.turns))), ("first bad turn", str(c.first_bad or "–")),
                 ("bad turns", str(sum(bool(b) for b in c.bad))), ("judge", judge))))
    return out


def pressure_sections(data: RunData, findings: list[Finding], probe_id: str
                      ) -> list[ReportSection]:
    """The probe's section (none when the run holds no judged turn)."""
    judges = turn_judges(data, probe_id)
    if not judges:
        return []
    blocks: list[Block] = [Paragraph(
        "Long conversations with a demanding user (the endless reviser, the impatient, the rude "
        "and the contradicting user), every assistant turn judged as it arrived. The curve says "
        "how many conversations are still civil after each turn; the hazard, how likely a "
        "civil conversation is to turn bad at that turn. A hazard that rises with the turn, an "
        "onset well after turn 1 and a positive early-to-late growth all say the same thing: "
        "the risk grows with the length of the pressure, where single-turn tests never look.")]
    for judge, _ in judges:
        blocks += [b for b in (_curve_chart(findings, probe_id, judge),
                               _hazard_chart(findings, probe_id, judge)) if b is not None]
    blocks.append(_summary_table(findings, probe_id))
    for judge, bad in judges:
        worst = _worst(data, probe_id, judge, bad)
        if worst:
            blocks.append(Paragraph(f"The worst conversations by {judge}, shown whole; the bad "
                                    "turns are flagged."))
            blocks += worst
    return [ReportSection(f"Pressure: long conversations with a demanding user ({probe_id})",
                          f"probe-{probe_id}", tuple(blocks), order=100)]
