"""Rates corrected for the judge's measured errors, on the report page: the line a summary card
adds, and a section that sets every corrected rate beside its raw one, with the judge's
sensitivity and specificity and the reason when a corrected interval is wide.

Plain text only, as every section: the renderer escapes it.
"""

from __future__ import annotations

from levelhead.analysis import Paragraph, ReportSection, Table, percent
from levelhead.records import CorrectedEstimate, Finding

__all__ = ["corrected_card", "corrected_limitations", "corrected_section"]

ORDER = 50  # after the summary (0), before the probes' own sections (100)


def _interval(low: float | None, high: float | None, confidence: float) -> str:
    if low is None or high is None:
        return ""
    return f"{percent(confidence)} CI {percent(low)} – {percent(high)}"


def _value(c: CorrectedEstimate) -> str:
    return "uninformative" if c.estimate is None or not c.informative else percent(c.estimate)


def corrected_card(f: Finding) -> tuple[str, str]:
    """The line a summary card adds for a corrected finding, and its note ("" when none)."""
    c = f.corrected
    if c is None:
        return "", ""
    interval = _interval(c.ci_low, c.ci_high, c.confidence) if c.informative else ""
    text = f"corrected for judge error: {_value(c)}" + (f" ({interval})" if interval else "")
    return text, c.note


def _measured(value: float | None, low: float | None, high: float | None, gold: int) -> str:
    if value is None:
        return f"unknown ({gold} gold)"
    return f"{percent(value)} ({percent(low)} – {percent(high)}; {gold:,} gold)"


def corrected_section(findings: list[Finding]) -> ReportSection | None:
    """Every corrected rate beside its raw one; None when no finding is corrected."""
    rows = []
    for f in findings:
        c = f.corrected
        if c is None:
            continue
        rows.append((f.target, f.probe, f.metric.removeprefix("rate:"), f.group,
                     percent(f.estimate), _interval(f.ci_low, f.ci_high, f.confidence),
                     _value(c), _interval(c.ci_low, c.ci_high, c.confidence) if c.informative
                     else "0 % – 100 %",
                     _measured(c.sensitivity, c.sensitivity_low, c.sensitivity_high, c.positives),
                     _measured(c.specificity, c.specificity_low, c.specificity_high, c.negatives),
                     c.calibration, c.note))
    if not rows:
        return None
    return ReportSection("Corrected for judge error", "corrected", (
        Paragraph(
            "A judge errs: it misses some of what it looks for (its sensitivity is below 100 %) "
            "and flags some replies that are fine (its specificity is below 100 %), so the share "
            "it reports is not the true share. Where a calibration of the judge against human "
            "gold labels was given, each of its rates is also shown corrected (Rogan-Gladen: "
            "(raw + specificity − 1) / (sensitivity + specificity − 1)), with an interval that "
            "carries both the run's sampling noise and the uncertainty of the judge's measured "
            "sensitivity and specificity. The raw interval describes the judge's verdicts; the "
            "corrected one, the replies. It assumes the judge errs on these replies as it did on "
            "the gold ones."),
        Table(("target", "probe", "judge", "label", "raw", "raw interval", "corrected",
               "corrected interval", "sensitivity", "specificity", "calibration", "note"),
              tuple(rows), caption="raw and corrected rates, side by side")), order=ORDER)


def corrected_limitations(findings: list[Finding]) -> list[str]:
    """What the corrected rates cannot tell, for the page's known limitations."""
    notes = []
    sources = sorted({f"{f.metric.removeprefix('rate:')} ({f.corrected.calibration})"
                      for f in findings if f.corrected is not None})
    if sources:
        notes.append("Corrected rates assume each judge errs on this run's replies as it did on "
                     "the gold replies it was measured on: " + ", ".join(sources) + ". Replies "
                     "of another kind (another language, topic or target) may be judged better or "
                     "worse.")
    for f in findings:
        c = f.corrected
        if c is not None and not c.informative:
            notes.append(f"No corrected rate for {f.group} ({f.metric.removeprefix('rate:')}) on "
                         f"{f.probe} · {f.target}: {c.note}.")
    return notes
