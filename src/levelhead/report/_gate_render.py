"""A gate's outcomes for people and for CI: Markdown for a job page, JUnit XML for test
reporters, and a section of the HTML report."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any, overload

from levelhead.analysis import Card, Language, Paragraph, ReportSection, Table, say
from levelhead.report._gate import GateResult
from levelhead.report._outcome import Outcome

__all__ = ["gate_junit", "gate_markdown", "gate_section", "outcome_line"]

_MARK = {"pass": "✅ {}", "fail": "❌ {}", "undecided": "❔ {}"}
_HEADLINE = {"pass": "✅ {}", "fail": "❌ {}", "undecided": "❔ {}"}


def _mark(status: str, lang: Language) -> str:
    return _MARK[status].format(say(lang, f"gate.mark.{status}"))


def _headline(status: str, lang: Language) -> str:
    return _HEADLINE[status].format(say(lang, f"gate.headline.{status}"))


def _value(o: Outcome, x: float | None, *, signed: bool = False, lang: Language = "en") -> str:
    if x is None:
        return "-"
    if o.check in ("max_increase", "max_decrease"):
        return say(lang, "gate.pts", value=f"{100 * x:+.1f}")
    if not o.is_rate:
        return f"{x:+.3g}" if signed else f"{x:.3g}"
    v = 100 * x
    text = "0 %" if v == 0 else f"{v:.1f} %" if abs(v) >= 1 else f"{v:.3g} %"
    return text.replace(" %", "%") if lang == "zh" else text


def _check(o: Outcome, lang: Language = "en") -> str:
    """The bound as a reader says it: ``≤ 0.1 %``, ``rise ≤ 2.0 pts``."""
    if o.check == "max_increase":
        return say(lang, "gate.rise", value=f"{100 * o.threshold:.1f}")
    if o.check == "max_decrease":
        return say(lang, "gate.fall", value=f"{100 * o.threshold:.1f}")
    at_most = o.check in ("max", "max_share")
    return f"{'≤' if at_most else '≥'} {_value(o, o.threshold, lang=lang)}"


def _bounds(o: Outcome, lang: Language = "en") -> str:
    if o.low is None or o.high is None:
        return "-"
    return say(lang, "gate.bounds", low=_value(o, o.low, lang=lang), high=_value(o, o.high, lang=lang),
               confidence=f"{100 * o.confidence:g}")


def _reason(o: Outcome, lang: Language) -> str:
    """Why, in ``lang``: the rule's own line in English; in another language, said again from
    the outcome's numbers where it has them (the few reasons without numbers, such as a run
    with nothing judged, keep their English line)."""
    if lang == "en" or o.estimate is None or o.low is None or o.high is None:
        return o.reason
    upper = o.check in ("max", "max_share", "max_increase", "max_decrease")  # a rise violates

    def value(x: float | None) -> str:
        return _value(o, x, lang=lang)

    observed = say(lang, "gate.reason.observed", value=_value(o, o.estimate, signed=True, lang=lang),
                   n=f"{o.n:,}")
    confidence = f"{100 * o.confidence:g}"
    threshold = value(o.threshold)
    if o.status == "pass":
        why = say(lang, "gate.reason.pass_upper" if upper else "gate.reason.pass_lower",
                  confidence=confidence, bound=value(o.high if upper else o.low), threshold=threshold)
    elif o.status == "fail":
        why = say(lang, "gate.reason.fail_upper" if upper else "gate.reason.fail_lower",
                  confidence=confidence, bound=value(o.low if upper else o.high), threshold=threshold)
    elif (o.low > o.threshold) if upper else (o.high < o.threshold):
        why = say(lang, "gate.reason.not_after_correction", confidence=confidence,
                  bound=value(o.low if upper else o.high), threshold=threshold)
    else:
        why = say(lang, "gate.reason.include", confidence=confidence, low=value(o.low),
                  high=value(o.high), threshold=threshold)
    return observed + say(lang, "gate.reason.join") + why


def _needed(o: Outcome, lang: Language = "en") -> str:
    """What would most likely decide an undecided check: "needs about N samples…", or what to
    do when no number of samples would."""
    if o.samples_needed is None:
        return o.samples_note or say(lang, "gate.no_estimate")
    return say(lang, "gate.needs", amount=_amount(o, lang))


def _amount(o: Outcome, lang: Language = "en") -> str:
    assert o.samples_needed is not None
    more = o.samples_needed - o.n
    per_prompt = say(lang, "gate.per_prompt", per=f"{math.ceil(o.samples_needed / o.prompts):,}",
                     prompts=o.prompts) if o.prompts else ""
    side = say(lang, "gate.per_side") if o.check in ("max_increase", "max_decrease") else ""
    if more > 0:
        amount = say(lang, "gate.amount", needed=f"{o.samples_needed:,}", side=side,
                     more=f"{more:,}", per_prompt=per_prompt)
    else:  # the plan's design effect is below the one seen: the spread between prompts holds it back
        amount = say(lang, "gate.amount_spread", needed=f"{o.samples_needed:,}", side=side,
                     n=f"{o.n:,}")
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


def _summary(result: GateResult, lang: Language = "en") -> str:
    run_id, run_name = result.run
    parts = [say(lang, "gate.summary.run", name=run_name, id=run_id)]
    if result.baseline is not None:
        parts.append(say(lang, "gate.summary.baseline", name=result.baseline[1],
                         id=result.baseline[0]))
    policy = result.policy
    parts.append(say(lang, "gate.summary.policy", policy=policy.name or policy.source))
    total = len(result.outcomes)
    counts = say(lang, "gate.summary.counts" if total != 1 else "gate.summary.count", total=total,
                 passed=result.count("pass"), failed=result.count("fail"),
                 undecided=result.count("undecided"))
    tested = sum(o.violation_p is not None for o in result.outcomes)
    correction = (say(lang, "gate.summary.holm", tested=tested)
                  if policy.correction == "holm" and tested > 1 else "")
    return say(lang, "gate.summary.join").join(parts) + say(lang, "gate.summary.join") + counts \
        + correction


def _incomplete_lines(result: GateResult, lang: Language = "en") -> list[str]:
    """Why an incomplete run keeps the gate from deciding (or that it was let through)."""
    if not result.incomplete:
        return []
    what = "; ".join(result.incomplete)
    if result.blocked:
        return [say(lang, "gate.incomplete.blocked", what=what)]
    return [say(lang, "gate.incomplete.allowed", what=what)]


def _columns(lang: Language) -> tuple[str, ...]:
    return tuple(say(lang, f"gate.column.{i}") for i in range(8))


def gate_markdown(result: GateResult, lang: Language = "en") -> str:
    """A Markdown summary for a CI job page (GitHub's step summary, GitLab's job log...), in
    ``lang`` (``"en"`` or ``"zh"``)."""
    headline = _headline(result.status, lang) + (say(lang, "gate.run_incomplete")
                                                 if result.blocked else "")
    notes = _incomplete_lines(result, lang)
    lines = [say(lang, "gate.title", headline=headline), "",
             *(n for note in notes for n in (note, "")), _summary(result, lang), "",
             "| " + " | ".join(_columns(lang)) + " |", "|---|---|---|---|---|---|---|---|"]
    for o in result.outcomes:
        lines.append("| " + " | ".join(_cell(c) for c in (
            _mark(o.status, lang), o.rule, o.target, o.probe or "", _check(o, lang),
            _value(o, o.estimate, signed=True, lang=lang), _bounds(o, lang), _reason(o, lang)))
            + " |")
    undecided = [o for o in result.outcomes if o.status == "undecided"]
    if undecided:
        lines += ["", say(lang, "gate.undecided_head"), ""]
        lines += [say(lang, "gate.undecided_line", rule=o.rule, check=_check(o, lang), target=o.target,
                      probe=f" / {o.probe}" if o.probe else "", needed=_needed(o, lang))
                  for o in undecided]
    lines += ["", say(lang, "gate.exit", code=result.exit_code)]
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


def gate_section(result: GateResult, lang: Language = "en") -> ReportSection:
    """The gate as a section of the HTML report (order 300): a verdict card, the checks, and
    what would decide the undecided ones."""
    blocks: list[Any] = [
        Card(say(lang, "gate.card"), say(lang, f"gate.verdict.{result.status}"),
             say(lang, "gate.card_detail", passed=result.count("pass"), failed=result.count("fail"),
                 undecided=result.count("undecided")), status=result.status),
        *(Paragraph(note.replace("**", "")) for note in _incomplete_lines(result, lang)),
        Paragraph(_summary(result, lang).replace("`", "")),
        Table(_columns(lang),
              tuple((say(lang, f"status.{o.status}"), o.rule, o.target, o.probe, _check(o, lang),
                     _value(o, o.estimate, signed=True, lang=lang), _bounds(o, lang), _reason(o, lang))
                    for o in result.outcomes),
              caption=say(lang, "gate.caption")),
    ]
    blocks += [Paragraph(say(lang, "gate.undecided_paragraph", rule=o.rule, check=_check(o, lang),
                             target=o.target, needed=_needed(o, lang)))
               for o in result.outcomes if o.status == "undecided"]
    return ReportSection(say(lang, "gate.section"), "gate", tuple(blocks), order=300)
