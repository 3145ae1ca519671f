"""Rates corrected for the judge's measured errors, on the report page: the line a summary card
adds, and a section that sets every corrected rate beside its raw one, with the judge's
sensitivity and specificity and the reason when a corrected interval is wide.

Plain text only, as every section: the renderer escapes it.
"""

from __future__ import annotations

from levelhead.analysis import Language, Paragraph, ReportSection, Table, pct, say
from levelhead.records import CorrectedEstimate, Finding

__all__ = ["corrected_card", "corrected_limitations", "corrected_section"]

ORDER = 50  # after the summary (0), before the probes' own sections (100)


def _interval(low: float | None, high: float | None, confidence: float,
              lang: Language = "en") -> str:
    if low is None or high is None:
        return ""
    return say(lang, "say.ci", confidence=pct(confidence, lang), low=pct(low, lang),
               high=pct(high, lang))


def _value(c: CorrectedEstimate, lang: Language = "en") -> str:
    return (say(lang, "corrected.uninformative") if c.estimate is None or not c.informative
            else pct(c.estimate, lang))


def corrected_card(f: Finding, lang: Language = "en") -> tuple[str, str]:
    """The line a summary card adds for a corrected finding, and its note ("" when none)."""
    c = f.corrected
    if c is None:
        return "", ""
    interval = _interval(c.ci_low, c.ci_high, c.confidence, lang) if c.informative else ""
    text = say(lang, "corrected.card", value=_value(c, lang)) + (f" ({interval})" if interval else "")
    return text, c.note


def _measured(value: float | None, low: float | None, high: float | None, gold: int) -> str:
    if value is None:
        return f"unknown ({gold} gold)"
    return f"{pct(value)} ({pct(low)} – {pct(high)}; {gold:,} gold)"


def corrected_section(findings: list[Finding], lang: Language = "en") -> ReportSection | None:
    """Every corrected rate beside its raw one; None when no finding is corrected."""
    rows = []
    for f in findings:
        c = f.corrected
        if c is None:
            continue
        rows.append((f.target, f.probe, f.metric.removeprefix("rate:"), f.group,
                     pct(f.estimate, lang), _interval(f.ci_low, f.ci_high, f.confidence, lang),
                     _value(c, lang), _interval(c.ci_low, c.ci_high, c.confidence, lang)
                     if c.informative
                     else "0 % – 100 %",
                     _measured(c.sensitivity, c.sensitivity_low, c.sensitivity_high, c.positives),
                     _measured(c.specificity, c.specificity_low, c.specificity_high, c.negatives),
                     c.calibration, c.note))
    if not rows:
        return None
    return ReportSection(say(lang, "corrected.title"), "corrected", (
        Paragraph(say(lang, "corrected.intro")),
        Table(("target", "probe", "judge", "label", "raw", "raw interval", "corrected",
               "corrected interval", "sensitivity", "specificity", "calibration", "note"),
              tuple(rows), caption="raw and corrected rates, side by side")), order=ORDER)


def corrected_limitations(findings: list[Finding], lang: Language = "en") -> list[str]:
    """What the corrected rates cannot tell, for the page's known limitations."""
    notes = []
    sources = sorted({f"{f.metric.removeprefix('rate:')} ({f.corrected.calibration})"
                      for f in findings if f.corrected is not None})
    if sources:
        notes.append(say(lang, "corrected.assumes", sources=", ".join(sources)))
    for f in findings:
        c = f.corrected
        if c is not None and not c.informative:
            notes.append(say(lang, "corrected.none", label=f.group,
                             judge=f.metric.removeprefix("rate:"), probe=f.probe, target=f.target,
                             note=c.note))
    return notes
