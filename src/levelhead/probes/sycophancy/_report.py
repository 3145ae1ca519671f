"""Report sections of the sycophancy probes (see ``sycophancy``): rates per variant or framing
as bars with intervals, and the replies that show the behaviour, whole. Plain text and numbers
only: the report escapes everything. Every word comes from the catalogue in the reader's
language (keys ``syco.*``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

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
from levelhead.records import Finding

__all__ = ["are_you_sure_sections", "feedback_sections", "flattery_sections",
           "opinion_echo_sections"]


def _bars(findings: list[Finding], probe_id: str, metric: str, groups: tuple[str | None, ...],
          title: str, y_title: str, *, rate: bool = True, lang: Language = "en") -> Chart | None:
    """A grouped bar chart (one trace per target, one bar per group) with its table."""
    rows = [f for f in findings if f.probe == probe_id and f.metric == metric
            and f.group in groups and f.estimate is not None]
    if not rows:
        return None
    targets = sorted({f.target for f in rows})
    traces = []
    for target in targets:
        got = {f.group: f for f in rows if f.target == target}
        present = [g for g in groups if g in got]
        traces.append({
            "type": "bar", "name": figure_label(target),
            "x": [figure_label(g or say(lang, "word.all")) for g in present],
            "y": [got[g].estimate for g in present],
            "error_y": {"type": "data", "symmetric": False,
                        "array": [(got[g].ci_high or known(got[g].estimate)) - known(got[g].estimate)
                                  for g in present],
                        "arrayminus": [known(got[g].estimate) - (got[g].ci_low or known(got[g].estimate))
                                       for g in present]}})
    layout: dict[str, Any] = {"barmode": "group", "height": 360,
                              "title": {"text": figure_label(title)},
                              "xaxis": {"type": "category"},
                              "yaxis": {"title": {"text": figure_label(y_title)}}}
    if rate:
        layout["yaxis"].update({"tickformat": ".0%", "range": [0, 1]})
    def fmt(x: float | None) -> str:
        if x is None:
            return "–"
        return pct(x, lang) if rate else f"{x:+.2f}"

    table = Table((say(lang, "word.target"), say(lang, "word.group"), say(lang, "word.estimate"),
                   say(lang, "word.low"), say(lang, "word.high"), "n", say(lang, "word.errors"),
                   say(lang, "word.missing")),
                  tuple((f.target, f.group or say(lang, "word.all"), fmt(f.estimate), fmt(f.ci_low),
                         fmt(f.ci_high), f.n, f.errors, f.missing) for f in rows))
    return Chart({"data": traces, "layout": layout}, say(lang, "syco.bars_caption", title=title),
                 table)


def _shift_table(findings: list[Finding], probe_id: str, metrics: tuple[str, ...],
                 caption: str, lang: Language = "en") -> Table | None:
    rows = [f for f in findings if f.probe == probe_id and f.metric in metrics]
    if not rows:
        return None

    def show(f: Finding, x: float | None) -> str:
        if x is None:
            return "–"
        return pct(x, lang) if f.is_share else f"{x:+.3f}"

    return Table((say(lang, "word.target"), say(lang, "word.finding"), say(lang, "word.group"),
                  say(lang, "word.estimate"), say(lang, "word.interval"), say(lang, "word.items"),
                  say(lang, "word.flag")),
                 tuple((f.target, f.metric, f.group or "", show(f, f.estimate),
                        say(lang, "syco.range", low=show(f, f.ci_low), high=show(f, f.ci_high)), f.n,
                        say(lang, "syco.excludes_zero") if f.detail.get("flag") else "")
                       for f in rows), caption=caption)


def flattery_sections(data: RunData, findings: list[Finding], probe_id: str,
                      lang: Language = "en") -> list[ReportSection]:
    from levelhead.probes.sycophancy._findings import flattery_judge

    # The replies shown are those the rate counted; the most praise first.
    rate_judge = flattery_judge(data)
    labels = data.verdicts.get(rate_judge, {})
    scores = data.scores.get("flattery.lexicon") or data.scores.get(rate_judge, {})
    langs = ("en", "zh")
    blocks: list[Block | None] = [
        Paragraph(say(lang, "syco.flattery.intro")),
        _bars(findings, probe_id, "flattery_rate", (None, *langs),
              say(lang, "syco.flattery.praise", probe=probe_id), say(lang, "word.share_judged"),
              lang=lang),
        _bars(findings, probe_id, "no_answer_rate", (None, *langs),
              say(lang, "syco.flattery.no_answer", probe=probe_id), say(lang, "word.share_judged"),
              lang=lang),
        _shift_table(findings, probe_id, ("flattery_words",), say(lang, "syco.flattery.words"),
                     lang),
        *sample_transcripts(data.for_probe(probe_id), lambda s: labels.get(s.key) == "flattering",
                      lambda s: float(scores.get(s.key) or 0.0),
                      lambda s: [("user", s.tags.get("question", ""))],
                      say(lang, "syco.flattery.why"), lang=lang),
    ]
    return probe_section(say(lang, "syco.flattery.title", probe=probe_id), probe_id, blocks)


def are_you_sure_sections(data: RunData, findings: list[Finding], probe_id: str,
                          lang: Language = "en") -> list[ReportSection]:
    from levelhead.probes.sycophancy._findings import pushed_conversations

    answers = data.turn_verdicts.get("answer.key", {})
    flipped = {c.sample.key: c for convs in pushed_conversations(data, probe_id).values()
               for c in convs
               if c.first is not None and c.second is not None
               and answers.get(c.first.key) == "correct" and answers.get(c.second.key) == "wrong"}
    blocks: list[Block | None] = [
        Paragraph(say(lang, "syco.sure.intro")),
        _bars(findings, probe_id, "accuracy", ("ask", "doubt", "assert"),
              say(lang, "syco.sure.accuracy", probe=probe_id), say(lang, "syco.sure.accuracy_axis"),
              lang=lang),
        _bars(findings, probe_id, "flip_rate", ("doubt", "assert"),
              say(lang, "syco.sure.flips", probe=probe_id), say(lang, "syco.sure.flips_axis"),
              lang=lang),
        _shift_table(findings, probe_id, ("accuracy_change", "apology_without_change_rate",
                                          "flip_rate_when_known"),
                     say(lang, "syco.sure.shifts"), lang),
        *sample_transcripts(data.for_probe(probe_id), lambda s: s.key in flipped,
                            lambda s: 1.0 if s.tags.get("variant") == "doubt" else 0.0,
                            lambda s: _pushed_turns(flipped[s.key]), say(lang, "syco.sure.why"),
                            lang=lang),
    ]
    return probe_section(say(lang, "syco.sure.title", probe=probe_id), probe_id, blocks)


def _pushed_turns(c: Any) -> list[tuple[str, str]]:
    """The conversation up to the last reply: question, the target's own answer, pushback."""
    return [("user", c.sample.tags.get("question", "")), ("assistant", c.first.text or ""),
            ("user", c.second.user_text)]


def opinion_echo_sections(data: RunData, findings: list[Finding], probe_id: str,
                          lang: Language = "en") -> list[ReportSection]:
    stances = data.verdicts.get("stance.agreement", {})
    agreed: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for s in data.for_probe(probe_id):
        if stances.get(s.key) == "agrees":
            agreed[(s.target, s.tags.get("item", ""), s.sample_index)].add(s.tags.get("side", ""))
    blocks: list[Block | None] = [
        Paragraph(say(lang, "syco.echo.intro")),
        _bars(findings, probe_id, "agreement_rate", ("a", "b"),
              say(lang, "syco.echo.agreement", probe=probe_id), say(lang, "word.share_judged"),
              lang=lang),
        _shift_table(findings, probe_id, ("echo_shift", "agrees_with_both_rate"),
                     say(lang, "syco.echo.shifts"), lang),
        *sample_transcripts(data.for_probe(probe_id),
                      lambda s: agreed.get((s.target, s.tags.get("item", ""), s.sample_index))
                      == {"a", "b"},
                      lambda s: 1.0 if s.tags.get("side") == "a" else 0.0,
                      lambda s: [("user", s.tags.get("view", ""))], say(lang, "syco.echo.why"),
                      lang=lang),
    ]
    return probe_section(say(lang, "syco.echo.title", probe=probe_id), probe_id, blocks)


def feedback_sections(data: RunData, findings: list[Finding], probe_id: str,
                      lang: Language = "en") -> list[ReportSection]:
    flaws = data.verdicts.get("flaw.mentioned", {})
    positivity = data.scores.get("feedback.positivity", {})
    framings = ("neutral", "own", "other")
    blocks: list[Block | None] = [
        Paragraph(say(lang, "syco.feedback.intro")),
        _bars(findings, probe_id, "positivity", framings,
              say(lang, "syco.feedback.positivity", probe=probe_id),
              say(lang, "syco.feedback.positivity_axis"), rate=False, lang=lang),
        _bars(findings, probe_id, "flaw_mentioned_rate", framings,
              say(lang, "syco.feedback.flaw", probe=probe_id), say(lang, "word.share_judged"),
              lang=lang),
        _shift_table(findings, probe_id, ("positivity_shift", "flaw_mentioned_shift"),
                     say(lang, "syco.feedback.shifts"), lang),
        *sample_transcripts(data.for_probe(probe_id),
                      lambda s: s.tags.get("framing") == "own" and flaws.get(s.key) == "missed",
                      lambda s: float(positivity.get(s.key) or 0.0),
                      lambda s: [("user", say(lang, "syco.feedback.own_work",
                                              flaw=s.tags.get("flaw", "")))],
                      say(lang, "syco.feedback.why"), lang=lang),
    ]
    return probe_section(say(lang, "syco.feedback.title", probe=probe_id), probe_id, blocks)
