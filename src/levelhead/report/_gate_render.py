"""A gate's outcomes for people and for CI: Markdown for a job page, JUnit XML for test
reporters, and a section of the HTML report."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any, overload

from levelhead.analysis import Card, Paragraph, ReportSection, Table
from levelhead.report._gate import GateResult
from levelhead.report._outcome import Outcome

__all__ = ["gate_junit", "gate_markdown", "gate_section", "outcome_line"]

_MARK = {"pass": "✅ pass", "fail": "❌ fail", "undecided": "❔ cannot decide"}
_HEADLINE = {"pass": "✅ PASS", "fail": "❌ FAIL", "undecided": "❔ CANNOT DECIDE"}


def _value(o: Outcome, x: float | None, *, signed: bool = False) -> str:
    if x is None:
        return "-"
    if o.check in ("max_increase", "max_decrease"):
        return f"{100 * x:+.1f} pts"
    if not o.is_rate:
        return f"{x:+.3g}" if signed else f"{x:.3g}"
    v = 100 * x
    return "0 %" if v == 0 else f"{v:.1f} %" if abs(v) >= 1 else f"{v:.3g} %"


def _check(o: Outcome) -> str:
    """The bound as a reader says it: ``≤ 0.1 %``, ``rise ≤ 2.0 pts``."""
    if o.check == "max_increase":
        return f"rise ≤ {100 * o.threshold:.1f} pts"
    if o.check == "max_decrease":
        return f"fall ≤ {100 * o.threshold:.1f} pts"
    return f"{'≤' if o.check == 'max' else '≥'} {_value(o, o.threshold)}"


def _bounds(o: Outcome) -> str:
    if o.low is None or o.high is None:
        return "-"
    return f"{_value(o, o.low)} – {_value(o, o.high)} ({100 * o.confidence:g} % each side)"


def _needed(o: Outcome) -> str:
    """What would most likely decide an undecided check: "needs about N samples…", or what to
    do when no number of samples would."""
    if o.samples_needed is None:
        return o.samples_note or "no estimate of the samples needed"
    return "needs " + _amount(o)


def _amount(o: Outcome) -> str:
    assert o.samples_needed is not None
    more = o.samples_needed - o.n
    per_prompt = f"; about {math.ceil(o.samples_needed / o.prompts):,} per prompt over " \
                 f"{o.prompts} prompts" if o.prompts else ""
    side = " per side" if o.check in ("max_increase", "max_decrease") else ""
    if more > 0:
        amount = f"about {o.samples_needed:,} judged samples{side} in all ({more:,} more{per_prompt})"
    else:  # the plan's design effect is below the one seen: the spread between prompts holds it back
        amount = (f"about {o.samples_needed:,} judged samples{side} would do at this rate, but this "
                  f"run has {o.n:,}: the spread between prompts holds it back; add prompts")
    return f"{amount} — {o.samples_note}"


def outcome_line(o: Outcome) -> str:
    """One line for an outcome: what, where, decision and why (the JUnit message)."""
    where = f"{o.target}" + (f" / {o.probe}" if o.probe else "")
    line = f"{o.rule} ({_check(o)}) on {where}: {o.status}: {o.reason}"
    if o.status == "undecided":
        line += f"; {_needed(o)}"
    return line


def _cell(text: str) -> str:
    # A rule name or reason may hold control characters (a terminal escape in a policy file):
    # they go, so that a job page and a terminal show the text as text.
    text = "".join(" " if ch in "\n\r\t" else ch for ch in text if ch.isprintable() or ch in "\n\r\t")
    return text.replace("|", "\\|")


def _summary(result: GateResult) -> str:
    run_id, run_name = result.run
    parts = [f"Run `{run_name}` (#{run_id})"]
    if result.baseline is not None:
        parts.append(f"against baseline `{result.baseline[1]}` (#{result.baseline[0]})")
    policy = result.policy
    parts.append(f"with policy `{policy.name or policy.source}`:")
    total = len(result.outcomes)
    counts = (f"{total} check{'' if total == 1 else 's'} — {result.count('pass')} pass, "
              f"{result.count('fail')} fail, {result.count('undecided')} cannot decide.")
    tested = sum(o.violation_p is not None for o in result.outcomes)
    correction = (f" Fail decisions are Holm-corrected over {tested} checks."
                  if policy.correction == "holm" and tested > 1 else "")
    return " ".join(parts) + " " + counts + correction


def _incomplete_lines(result: GateResult) -> list[str]:
    """Why an incomplete run keeps the gate from deciding (or that it was let through)."""
    if not result.incomplete:
        return []
    what = "; ".join(result.incomplete)
    if result.blocked:
        return [f"**Cannot decide: the run is incomplete.** {what}. The checks below rest on "
                "part of the plan only; resume the run, or gate it as it is with "
                "--allow-incomplete."]
    return [f"**Incomplete run, gated as it is (--allow-incomplete).** {what}."]


def gate_markdown(result: GateResult) -> str:
    """A Markdown summary for a CI job page (GitHub's step summary, GitLab's job log...)."""
    headline = _HEADLINE[result.status] + (" (run incomplete)" if result.blocked else "")
    notes = _incomplete_lines(result)
    lines = [f"### levelhead gate: {headline}", "", *(n for note in notes for n in (note, "")),
             _summary(result), "",
             "| result | rule | target | probe | check | observed | one-sided bounds | reason |",
             "|---|---|---|---|---|---|---|---|"]
    for o in result.outcomes:
        lines.append("| " + " | ".join(_cell(c) for c in (
            _MARK[o.status], o.rule, o.target, o.probe or "", _check(o),
            _value(o, o.estimate, signed=True), _bounds(o), o.reason)) + " |")
    undecided = [o for o in result.outcomes if o.status == "undecided"]
    if undecided:
        lines += ["", "**Cannot decide** — what would decide each check:", ""]
        lines += [f"- {o.rule} ({_check(o)}) on {o.target}"
                  f"{' / ' + o.probe if o.probe else ''}: {_needed(o)}." for o in undecided]
    lines += ["", f"Exit code {result.exit_code} (0 pass, 1 fail, 2 cannot decide, 3 usage error)."]
    return "\n".join(lines) + "\n"


# What XML 1.0 forbids: C0 controls but tab, newline and carriage return; surrogates; FFFE, FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@overload
def _xml_safe(text: str) -> str: ...
@overload
def _xml_safe(text: None) -> None: ...
def _xml_safe(text: str | None) -> str | None:
    return None if text is None else _NOT_XML.sub("", text)


def gate_junit(result: GateResult) -> str:
    """JUnit XML (the Ant/Jenkins shape every CI reads): one test case per check, a
    ``<failure>`` for fail and ``<skipped>`` for cannot decide, the numbers in the message."""
    blocked = 1 if result.blocked else 0  # the run's completeness is one more check
    totals = {"tests": str(len(result.outcomes) + blocked), "failures": str(result.count("fail")),
              "errors": "0", "skipped": str(result.count("undecided") + blocked), "time": "0"}
    # The root carries no `skipped` count: Jenkins' junit-10.xsd does not allow it there.
    root = ET.Element("testsuites", {"name": "levelhead gate",
                                     **{k: v for k, v in totals.items() if k != "skipped"}})
    suite = ET.SubElement(root, "testsuite", {"name": f"levelhead gate: run {result.run[1]}",
                                              **totals})
    properties = ET.SubElement(suite, "properties")
    facts = [("run", f"{result.run[1]} (#{result.run[0]})"),
             ("policy", result.policy.name or result.policy.source),
             ("correction", result.policy.correction)]
    if result.baseline is not None:
        facts.append(("baseline", f"{result.baseline[1]} (#{result.baseline[0]})"))
    for name, value in facts:
        ET.SubElement(properties, "property", {"name": name, "value": value})
    if blocked:
        case = ET.SubElement(suite, "testcase", {"name": "run complete", "classname":
                                                 "levelhead.gate", "time": "0"})
        message = "; ".join(result.incomplete)
        ET.SubElement(case, "skipped", {"message": message})
        ET.SubElement(case, "system-out").text = message
    for o in result.outcomes:
        name = f"{o.rule} ({_check(o)})" + (f" [{o.probe}]" if o.probe else "")
        case = ET.SubElement(suite, "testcase", {"name": name, "classname": f"levelhead.gate.{o.target}",
                                                 "time": "0"})
        message = outcome_line(o)
        if o.status == "fail":
            ET.SubElement(case, "failure", {"message": message, "type": "regression"}).text = (
                f"{message}\nmethod: {o.method}")
        elif o.status == "undecided":
            ET.SubElement(case, "skipped", {"message": message})
        ET.SubElement(case, "system-out").text = f"{message}\nmethod: {o.method}"
    # A rule name or a reason may hold characters XML 1.0 cannot carry (control characters,
    # lone surrogates); ElementTree writes them as they are and every reader rejects the file.
    for element in root.iter():
        element.text = _xml_safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_safe(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def gate_section(result: GateResult) -> ReportSection:
    """The gate as a section of the HTML report (order 300): a verdict card, the checks, and
    what would decide the undecided ones."""
    blocks: list[Any] = [
        Card("release gate", _HEADLINE[result.status].split(" ", 1)[1].lower(),
             f"{result.count('pass')} pass, {result.count('fail')} fail, "
             f"{result.count('undecided')} cannot decide", status=result.status),
        *(Paragraph(note.replace("**", "")) for note in _incomplete_lines(result)),
        Paragraph(_summary(result).replace("`", "")),
        Table(("result", "rule", "target", "probe", "check", "observed", "one-sided bounds",
               "reason"),
              tuple((o.status, o.rule, o.target, o.probe, _check(o),
                     _value(o, o.estimate, signed=True), _bounds(o), o.reason)
                    for o in result.outcomes),
              caption="Pass: the bound is shown to hold; fail: shown broken; cannot decide: "
                      "neither, with this many samples."),
    ]
    blocks += [Paragraph(f"Cannot decide {o.rule} ({_check(o)}) on {o.target}: {_needed(o)}.")
               for o in result.outcomes if o.status == "undecided"]
    return ReportSection("Release gate", "gate", tuple(blocks), order=300)
