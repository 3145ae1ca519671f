"""Compare two targets on the same prompts: every behaviour's paired difference, with its
interval and a p-value corrected for the number of behaviours compared at once.

The two sides are two runs (baseline run, candidate run) or two targets of one run. Pairing is by
prompt: a prompt counts when both sides have judged samples of it, and the interval is
cluster-robust over prompts (``stats.paired_difference``), because samples of one prompt are not
independent evidence. With many behaviours compared, some differ by chance; the adjusted
p-value (Holm by default) keeps the chance of any false alarm at ``alpha``.

When either side has replies a content filter withheld (``finish_reason`` ``"content_filter"``:
the same spec audited directly and through ``levelhead guard``), the comparison also carries
each side's blocked and false-block shares (``analysis.content_filter_rows``).

The table, the sentence on the correction and the report's section are written in the reader's
language (``lang``, keys ``compare.*``); the JSON and the notes a comparison keeps are English.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from levelhead.analysis import (
    BehaviourCounts,
    BlockedShare,
    Chart,
    ContentFilterRow,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    content_filter_rows,
    figure_label,
    paired_counts,
    pct,
    pct_range,
    say,
    say_note,
)
from levelhead.errors import CompareError
from levelhead.report._behaviours import behaviour_counts


@dataclass(frozen=True, slots=True)
class Comparison:
    """One behaviour, candidate minus baseline, paired by prompt.

    Attributes:
        probe, metric, group: The behaviour, named as in the findings.
        baseline, candidate: ``"run/target"`` of each side.
        difference: The paired difference (``stats.PairedDifference``), or None when fewer than
            two prompts have judged samples on both sides (see ``note``).
        adjusted_p_value: The p-value after the multiplicity correction, or None.
        significant: ``adjusted_p_value <= alpha``.
        note: Why there is no difference, or a caveat.
    """

    probe: str
    metric: str
    group: str | None
    baseline: str
    candidate: str
    difference: Any = None
    adjusted_p_value: float | None = None
    significant: bool = False
    note: str = ""

    @property
    def behaviour(self) -> str:
        judge = self.metric.removeprefix("rate:")
        return f"{self.probe} · {judge}" + ("" if self.group is None else f": {self.group}")

    def to_dict(self) -> dict[str, Any]:
        d = self.difference
        return {
            "probe": self.probe, "metric": self.metric, "group": self.group,
            "baseline": self.baseline, "candidate": self.candidate,
            "baseline_rate": None if d is None else d.baseline_rate,
            "candidate_rate": None if d is None else d.candidate_rate,
            "difference": None if d is None else d.estimate,
            "ci_low": None if d is None else d.interval.low,
            "ci_high": None if d is None else d.interval.high,
            "confidence": None if d is None else d.interval.confidence,
            "p_value": None if d is None else d.p_value,
            "adjusted_p_value": self.adjusted_p_value, "significant": self.significant,
            "prompts": None if d is None else d.prompts,
            "unpaired_prompts": None if d is None else d.unpaired_prompts,
            "baseline_n": None if d is None else d.baseline_n,
            "candidate_n": None if d is None else d.candidate_n,
            "errors": None if d is None else d.errors, "missing": None if d is None else d.missing,
            "method": None if d is None else d.interval.method, "note": self.note,
        }


@dataclass(frozen=True)
class Comparisons:
    """Every behaviour compared between two sides, with the correction used."""

    baseline: str
    candidate: str
    rows: tuple[Comparison, ...]
    method: str
    alpha: float
    confidence: float
    pairs: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (baseline, candidate) targets
    # One line for each side that does not hold every sample it planned.
    incomplete: tuple[str, ...] = ()
    # Each side's replies withheld by a content filter, when either side has any.
    content_filter: tuple[ContentFilterRow, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.incomplete

    def to_json(self) -> str:
        return json.dumps({"baseline": self.baseline, "candidate": self.candidate,
                           "complete": self.complete, "incomplete": list(self.incomplete),
                           "correction": self.method, "alpha": self.alpha,
                           "confidence": self.confidence,
                           "comparisons": [r.to_dict() for r in self.rows],
                           "content_filter": [r.to_dict() for r in self.content_filter]},
                          ensure_ascii=False, indent=1)

    def incomplete_note(self, lang: Language = "en") -> str | None:
        """A warning that the comparison rests on part of a plan, or None."""
        if not self.incomplete:
            return None
        return say(lang, "compare.incomplete", what="; ".join(self.incomplete))


def pair_targets(baseline: RunData, candidate: RunData, targets: tuple[str, str] | None = None
                 ) -> list[tuple[str, str]]:
    """Which baseline target is compared with which candidate target.

    Explicit ``targets`` (baseline, candidate) win; within one run, two targets are paired in spec
    order; across runs, targets of the same name are paired, or the only target of each run.
    """
    same_run = baseline is candidate or baseline.run_id == candidate.run_id
    b_targets, c_targets = baseline.targets(), candidate.targets()
    if targets is not None:
        base, cand = targets
        for name, side, present in ((base, "baseline", b_targets), (cand, "candidate", c_targets)):
            if name not in present:
                from levelhead.registry import did_you_mean

                raise CompareError(f"no target '{name}' in the {side} run; "
                                   f"{did_you_mean(name, present)}")
        return [(base, cand)]
    if same_run:
        if len(b_targets) == 2:
            return [(b_targets[0], b_targets[1])]
        raise CompareError(f"run '{baseline.run_name}' has {len(b_targets)} target(s) "
                           f"({', '.join(b_targets) or 'none'}); name the two to compare with "
                           f"--targets BASELINE,CANDIDATE")
    common = [t for t in b_targets if t in c_targets]
    if common:
        return [(t, t) for t in common]
    if len(b_targets) == 1 and len(c_targets) == 1:
        return [(b_targets[0], c_targets[0])]
    raise CompareError(f"the runs share no target name (baseline: {', '.join(b_targets)}; "
                       f"candidate: {', '.join(c_targets)}); name the pair with "
                       f"--targets BASELINE,CANDIDATE")


def _index(counts: list[BehaviourCounts]) -> dict[tuple[str, str, str, str | None], BehaviourCounts]:
    """Behaviours by (target, probe, metric, group). A probe's own rate with exactly the counts of
    a judge's label (``flattery_rate`` is ``flattery.lexicon: flattering``) is left out: the same
    test twice would only make the multiplicity correction stricter."""
    seen: set[tuple[Any, ...]] = set()
    out = {}
    for c in counts:
        data = (c.target, c.probe, c.prompt_ids, c.k, c.n)
        if not c.metric.startswith("rate:") and c.total_n and data in seen:
            continue
        seen.add(data)
        out[(c.target, *c.key)] = c
    return out


def compare_runs(baseline: RunData, candidate: RunData | None = None, *,
                 targets: tuple[str, str] | None = None, confidence: float = 0.95,
                 method: Literal["holm", "bh"] = "holm", alpha: float = 0.05,
                 all_labels: bool = False) -> Comparisons:
    """Every behaviour of the baseline and the candidate, paired by prompt.

    Args:
        baseline: The baseline run.
        candidate: The candidate run; None to compare two targets of ``baseline``.
        targets: ``(baseline target, candidate target)``; see :func:`pair_targets`.
        confidence: Two-sided confidence of each difference's interval.
        method: Multiplicity correction over all behaviours compared: ``"holm"`` (family-wise)
            or ``"bh"`` (false discovery rate).
        alpha: Error level of the correction.
        all_labels: Compare every label of every judge, not only the labels judges declare bad.

    Returns:
        :class:`Comparisons`, one row per behaviour present on both sides.

    Raises:
        CompareError: when the sides cannot be paired or share no behaviour.
    """
    from levelhead.stats import adjust_p_values, paired_difference

    candidate = baseline if candidate is None else candidate
    pairs = pair_targets(baseline, candidate, targets)
    b_index = _index(behaviour_counts(baseline))
    c_index = b_index if candidate is baseline else _index(behaviour_counts(candidate))
    rows: list[Comparison] = []
    for b_target, c_target in pairs:
        b_name = f"{baseline.run_name}/{b_target}"
        c_name = f"{candidate.run_name}/{c_target}"
        keys = sorted({k[1:] for k in b_index if k[0] == b_target}
                      & {k[1:] for k in c_index if k[0] == c_target},
                      key=lambda k: (k[0], k[1], k[2] or ""))
        for probe, metric, group in keys:
            b, c = b_index[(b_target, probe, metric, group)], c_index[(c_target, probe, metric, group)]
            if not all_labels and (b.bad is False or c.bad is False):
                continue
            kb, nb, kc, nc = paired_counts(b, c)
            try:
                diff = paired_difference(kb, nb, kc, nc, confidence, errors=b.errors + c.errors,
                                         missing=b.missing + c.missing)
            except ValueError as exc:
                rows.append(Comparison(probe, metric, group, b_name, c_name, note=str(exc)))
                continue
            note = "" if not diff.unpaired_prompts else say("en", "note.unpaired_prompts",
                                                            n=diff.unpaired_prompts)
            rows.append(Comparison(probe, metric, group, b_name, c_name, diff, note=note))
    if not rows:
        raise CompareError(f"nothing to compare: {baseline.run_name} and {candidate.run_name} share "
                           f"no judged behaviour on the same probe (judge both with the same "
                           f"judges, e.g. `levelhead judge RUN --judges ...`)")
    tested: dict[Hashable, float] = {i: r.difference.p_value for i, r in enumerate(rows)
                                     if r.difference is not None}
    if tested:
        for adj in adjust_p_values(tested, method=method, alpha=alpha):
            i = cast(int, adj.behaviour)  # the keys of tested: indices into rows
            r = rows[i]
            rows[i] = Comparison(r.probe, r.metric, r.group, r.baseline, r.candidate,
                                 r.difference, adj.adjusted_p_value, adj.significant, r.note)
    sides = [baseline] if candidate is baseline else [baseline, candidate]
    incomplete = tuple(line for side in sides if (line := side.incomplete) is not None)
    blocked = content_filter_rows(baseline, candidate, pairs, confidence=confidence)
    return Comparisons(f"{baseline.run_name}", f"{candidate.run_name}", tuple(rows), method,
                       alpha, confidence, tuple(pairs), incomplete, tuple(blocked))


def _pts(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}"


def _pct(x: float | None, lang: Language = "en") -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if lang == "zh" else f"{100 * x:.1f} %"


def _p(x: float | None) -> str:
    if x is None:
        return "-"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


COLUMNS = ("baseline", "candidate", "behaviour", "baseline rate", "candidate rate",
           "difference (points)", "interval", "p", "adjusted p", "prompts", "")
# The content-filter table's columns (keys compare.filter.column.0 ...).
FILTER_COLUMNS = 9


def comparison_rows(c: Comparisons, lang: Language = "en") -> list[tuple[str, ...]]:
    """The table of a comparison, as text cells in ``lang`` (the CLI and the report share it)."""
    out: list[tuple[str, ...]] = []
    for r in c.rows:
        d = r.difference
        note = say_note(lang, r.note)
        if d is None:
            out.append((r.baseline, r.candidate, r.behaviour, "-", "-", "-", "-", "-", "-", "-",
                        note))
            continue
        flag = say(lang, "word.significant") if r.significant else ""
        out.append((r.baseline, r.candidate, r.behaviour, _pct(d.baseline_rate, lang),
                    _pct(d.candidate_rate, lang), _pts(d.estimate),
                    say(lang, "compare.range", low=_pts(d.interval.low), high=_pts(d.interval.high)),
                    _p(d.p_value), _p(r.adjusted_p_value), str(d.prompts),
                    say(lang, "compare.join").join(x for x in (flag, note) if x)))
    return out


def comparison_markdown(c: Comparisons) -> str:
    """The comparison as a Markdown table, with a line on the correction."""
    head = "| " + " | ".join(COLUMNS[:-1]) + " | note |"
    lines = [head, "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in comparison_rows(c)]
    lines.append("")
    lines.append(correction_sentence(c))
    if c.content_filter:
        names = [say("en", f"compare.filter.column.{i}") for i in range(FILTER_COLUMNS)]
        lines += ["", f"**{say('en', 'compare.filter.title')}**", "",
                  "| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
        lines += ["| " + " | ".join(row) + " |" for row in content_filter_table(c)]
        lines += ["", content_filter_sentence(c)]
        lines += [line for w in content_filter_warnings(c) for line in ("", f"> {w}")]
    if (note := c.incomplete_note()) is not None:
        lines[:0] = [f"> **{note}**", ""]
    return "\n".join(lines)


def _share(share: BlockedShare, lang: Language) -> tuple[str, str, str]:
    """Replies counted, the share (with its count) and its interval, as text cells."""
    if share.estimate is None or share.interval is None:
        return f"{share.n:,}", "-", "-"
    return (f"{share.n:,}", f"{pct(share.estimate, lang)} ({share.k:,})",
            pct_range(share.interval.low, share.interval.high, lang))


def content_filter_table(c: Comparisons, lang: Language = "en") -> list[tuple[str, ...]]:
    """Each side's blocked and false-block shares, as text cells in ``lang`` (columns
    ``compare.filter.column.*``); empty when no reply was withheld."""
    out: list[tuple[str, ...]] = []
    for r in c.content_filter:
        n, blocked, blocked_range = _share(r.blocked, lang)
        benign, false, false_range = _share(r.false_blocks, lang)
        same = "-" if not r.same_reply[1] else f"{r.same_reply[0]:,}/{r.same_reply[1]:,}"
        out.append((r.side, r.probe, n, blocked, blocked_range, benign, false, false_range, same))
    return out


def content_filter_sentence(c: Comparisons, lang: Language = "en") -> str:
    """How to read the blocked and false-block shares, in ``lang``."""
    judges = sorted({j for r in c.content_filter for j in r.judges})
    return say(lang, "compare.filter.note", judges=", ".join(judges) or "-",
               confidence=f"{100 * c.confidence:g}")


def content_filter_warnings(c: Comparisons, lang: Language = "en") -> list[str]:
    """One warning for each pair of sides (and probe) whose pairs the target did not answer
    alike, in ``lang`` (both sides count the same pairs: the warning is given once)."""
    out, seen = [], set()
    for r in c.content_filter:
        key = (r.probe, frozenset((r.side, r.other)))
        if r.replies_differ and key not in seen:
            seen.add(key)
            out.append(say(lang, "compare.filter.differ", probe=r.probe, side=r.side,
                           other=r.other, k=f"{r.same_reply[1] - r.same_reply[0]:,}",
                           n=f"{r.same_reply[1]:,}"))
    return out


def correction_sentence(c: Comparisons, lang: Language = "en") -> str:
    """How to read the differences and their p-values, in ``lang``."""
    method = (say(lang, f"compare.method.{c.method}") if c.method in ("holm", "bh") else c.method)
    tested = sum(r.difference is not None for r in c.rows)
    return say(lang, "compare.correction", confidence=f"{100 * c.confidence:g}", tested=tested,
               method=method, alpha=f"{c.alpha:g}")


def comparison_section(c: Comparisons, lang: Language = "en") -> ReportSection:
    """The comparison for the HTML report, in ``lang``: a forest plot and its table."""
    tested = [r for r in c.rows if r.difference is not None]
    labels = [figure_label(say(lang, "compare.label", behaviour=r.behaviour,
                               candidate=r.candidate.split("/", 1)[1],
                               baseline=r.baseline.split("/", 1)[1])
                           if len(c.pairs) > 1 else r.behaviour)
              for r in tested]
    est = [100 * r.difference.estimate for r in tested]
    figure: dict[str, Any] = {
        "data": [{
            "type": "scatter", "mode": "markers", "orientation": "h",
            "x": est, "y": labels,
            "error_x": {"type": "data", "symmetric": False, "color": "#34495e",
                        "array": [100 * r.difference.interval.high - e for r, e in zip(tested, est,
                                                                                      strict=True)],
                        "arrayminus": [e - 100 * r.difference.interval.low
                                       for r, e in zip(tested, est, strict=True)]},
            "marker": {"size": 9, "color": ["#c0392b" if r.significant else "#34495e"
                                            for r in tested]},
            "hovertemplate": f"%{{y}}<br>%{{x:+.2f}} {figure_label(say(lang, 'compare.points'))}"
                             "<extra></extra>",
        }],
        "layout": {
            "title": {"text": figure_label(say(lang, "compare.figure", candidate=c.candidate,
                                               baseline=c.baseline))},
            "xaxis": {"title": {"text": figure_label(say(lang, "compare.axis"))}, "zeroline": True},
            "yaxis": {"automargin": True, "autorange": "reversed"},
            "height": 120 + 32 * max(1, len(tested)),
            "shapes": [{"type": "line", "x0": 0, "x1": 0, "yref": "paper", "y0": 0, "y1": 1,
                        "line": {"dash": "dot", "color": "#888"}}],
        },
    }
    table = Table(tuple(say(lang, f"compare.column.{i}") for i in range(len(COLUMNS))),
                  tuple(comparison_rows(c, lang)))
    note = c.incomplete_note(lang)
    blocked: Sequence[Any] = () if not c.content_filter else (
        Table(tuple(say(lang, f"compare.filter.column.{i}") for i in range(FILTER_COLUMNS)),
              tuple(content_filter_table(c, lang)), say(lang, "compare.filter.title")),
        Paragraph(content_filter_sentence(c, lang)),
        *(Paragraph(w) for w in content_filter_warnings(c, lang)))
    blocks: Sequence[Any] = (
        *((Paragraph(note),) if note else ()),
        Paragraph(correction_sentence(c, lang)),
        Chart(figure, say(lang, "compare.caption"), table),
        *blocked,
    )
    return ReportSection(say(lang, "compare.title", candidate=c.candidate, baseline=c.baseline),
                         "compare", tuple(blocks), order=200)
