"""The report's first two sections: "What needs attention" (every flagged finding, furthest from
its no-problem value first, one plain sentence each with a link to its section) and "What
looks fine" (the rest, compact). What is flagged, and how it is said, is decided in
:func:`levelhead.analysis.attention`; this module only lays it out.

A policy's ``max`` on a finding is that finding's no-problem value (:func:`policy_thresholds`),
so that the page flags what the gate would hold against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from levelhead.analysis import (
    Assessment,
    Bullet,
    Language,
    Paragraph,
    ReportSection,
    attention,
    pct,
    say,
    thresholds_by_key,
)
from levelhead.records import Finding

__all__ = ["ATTENTION_ORDER", "FINE_ORDER", "attention_sections", "estimate_text",
           "distance_text", "flagged_markdown", "null_text", "policy_thresholds"]

ATTENTION_ORDER = -20  # before everything: the page leads with what needs attention
FINE_ORDER = -10

Statuses = Mapping[tuple[str, str, str, str | None], str]


def policy_thresholds(policy: Any, findings: Sequence[Finding]
                      ) -> dict[tuple[str, str, str, str | None], float]:
    """Each finding's ``max`` under a gate policy (the strictest where several rules bound it):
    the no-problem value of a failure rate the policy allows up to that much."""
    pairs = []
    for rule in getattr(policy, "rules", ()):
        bound = getattr(rule, "max", None)
        if bound is None:
            continue
        for f in findings:
            if (f.metric == rule.metric and f.group == rule.group
                    and (rule.probe is None or f.probe == rule.probe)
                    and (rule.target is None or f.target == rule.target)):
                pairs.append(((f.target, f.probe, f.metric, f.group), float(bound)))
    return thresholds_by_key(pairs)


def estimate_text(a: Assessment, lang: Language) -> str:
    """The estimate decided on, as a reader says it."""
    if a.estimate is None:
        return "–"
    if a.finding.is_share:
        return pct(a.estimate, lang)
    return f"{a.estimate:.3g}"


def _note(a: Assessment, lang: Language, status: str | None) -> str:
    f = a.finding
    parts = [a.where, say(lang, "attention.n", n=f"{f.n:,}")]
    if a.null is not None:
        null = pct(a.null, lang) if f.is_share else f"{a.null:g}"
        parts.append(say(lang, "attention.null", null=null))
    if status is not None:
        parts.append(say(lang, "card.gate", status=say(lang, f"status.{status}")))
    return " · ".join(parts)


def attention_sections(findings: Sequence[Finding], *, statuses: Statuses | None = None,
                       thresholds: Mapping[tuple[str, str, str, str | None], float] | None = None,
                       lang: Language = "en") -> tuple[list[ReportSection], list[Assessment]]:
    """The two sections, and the assessments they show (in their order), which the summary
    cards follow."""
    statuses = statuses or {}
    judged = attention(findings, thresholds=thresholds, lang=lang)
    flagged = [a for a in judged if a.flagged]
    rest = [a for a in judged if not a.flagged]
    blocks: list[Any] = [Paragraph(say(lang, "attention.intro"))]
    if flagged:
        blocks += [Bullet(a.sentence, a.section, _note(a, lang, statuses.get(a.key)),
                          statuses.get(a.key)) for a in flagged]
    else:
        blocks.append(Paragraph(say(lang, "attention.none")))
    fine: list[Any] = [Paragraph(say(lang, "fine.intro"))]
    fine += [Bullet(a.sentence, a.section, a.where, statuses.get(a.key))
             for a in rest if a.status == "fine"]
    unmeasured = [a for a in rest if a.status == "unmeasured"]
    if unmeasured:
        fine.append(Paragraph(say(lang, "fine.unmeasured")))
        fine += [Bullet(a.sentence, a.section, a.where, statuses.get(a.key)) for a in unmeasured]
    if len(fine) == 1:
        fine.append(Paragraph(say(lang, "fine.none")))
    return ([ReportSection(say(lang, "attention.title"), "attention", tuple(blocks),
                           order=ATTENTION_ORDER),
             ReportSection(say(lang, "fine.title"), "fine", tuple(fine), order=FINE_ORDER)],
            judged)


def _in_unit(a: Assessment, x: float | None, lang: Language) -> str:
    if x is None:
        return "-"
    if a.finding.is_share:
        return pct(x, lang)
    return f"{x:.3g}"


def null_text(a: Assessment, lang: Language = "en") -> str:
    """The no-problem value in the finding's unit."""
    return _in_unit(a, a.null, lang)


def distance_text(a: Assessment, lang: Language = "en") -> str:
    """How far the interval is from the no-problem value: points for shares, else the unit."""
    if a.finding.is_share:
        points = 100 * a.distance
        return say(lang, "gate.pts", value=f"{points:.1f}" if points >= 1 or points == 0
                   else f"{points:.2g}")
    return f"{a.distance:.3g} {a.finding.unit}"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def flagged_markdown(assessments: Sequence[Assessment], lang: Language = "en") -> str:
    """The flagged findings as a Markdown table, in their order: rank, the plain sentence, where,
    the metric, the estimate and interval decided on, the no-problem value and the distance."""
    rows = ["| " + " | ".join(say(lang, f"flagged.column.{i}") for i in range(10)) + " |",
            "|" + "---|" * 10]
    for i, a in enumerate(assessments, start=1):
        f = a.finding
        interval = (f"{_in_unit(a, a.low, lang)} – {_in_unit(a, a.high, lang)}"
                    if a.low is not None and a.high is not None else "-")
        rows.append("| " + " | ".join(_md_cell(str(c)) for c in (
            i, a.sentence, f.target, f.probe, f.metric, f.group or "", _in_unit(a, a.estimate, lang),
            interval, null_text(a, lang), distance_text(a, lang))) + " |")
    return "\n".join(rows)
