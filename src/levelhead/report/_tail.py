"""The tail of a run: the worst replies of each probe and target, shown whole, and how rare each
bad behaviour could still be (its exact bound, and per prompt the chance of at least one bad
reply in the next asks).

Every string here is plain text: the renderer escapes it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from levelhead.analysis import (
    BehaviourCounts,
    Paragraph,
    ReportSection,
    RunData,
    SampleKey,
    SampleView,
    Table,
    Transcript,
    judge_bad_labels,
    percent,
)
from levelhead.records import Finding

__all__ = ["Conversations", "is_shown_rate", "tail_conversations", "tail_section", "worst_replies"]

TAIL_TOP = 5  # worst replies shown per probe and target: a 100,000-sample run stays small
FUTURE_ASKS = 100  # "in the next 100 asks of this prompt"

Conversations = Mapping[SampleKey, Sequence[tuple[str, str]]]


def is_shown_rate(f: Finding) -> bool:
    """Whether a finding is a label rate the page shows as a behaviour: a label its judge
    declares bad, or any label of a judge that declares none."""
    if not f.metric.startswith("rate:") or f.group is None:
        return False
    bad = judge_bad_labels(f.metric[5:])
    return bad is None or f.group in bad


def _severities(data: RunData) -> dict[SampleKey, float]:
    """Severity of every sample some judge labelled bad: one point per judge that did, plus
    less than half a point from those judges' scores (so the count decides, scores break ties)."""
    count: dict[SampleKey, int] = defaultdict(int)
    score: dict[SampleKey, float] = defaultdict(float)
    for judge, verdicts in data.verdicts.items():
        bad = judge_bad_labels(judge)
        if not bad:
            continue
        scores = data.scores.get(judge, {})
        for key, label in verdicts.items():
            if label in bad:
                count[key] += 1
                s = scores.get(key)
                if s is not None and math.isfinite(s) and s > 0:
                    score[key] += s
    return {key: c + 0.5 * score[key] / (1 + score[key]) for key, c in count.items()}


def worst_replies(data: RunData, top: int = TAIL_TOP) -> dict[tuple[str, str], list[tuple[SampleKey, float]]]:
    """The ``top`` worst replies of each (probe, target), worst first, by severity (judges that
    call a reply bad, then their scores), picked with :func:`levelhead.stats.worst_of_n`."""
    return _worst_of(_severities(data), top)


def _worst_of(severities: dict[SampleKey, float], top: int
              ) -> dict[tuple[str, str], list[tuple[SampleKey, float]]]:
    from levelhead.stats import worst_of_n

    by_group: dict[tuple[str, str], list[tuple[SampleKey, float]]] = defaultdict(list)
    for key, severity in severities.items():
        by_group[(key[1], key[0])].append((key, severity))
    out = {}
    for group, items in by_group.items():
        items.sort()
        worst = worst_of_n([k[2] for k, _ in items], [s for _, s in items], top=top)
        bad_per_prompt: dict[str, int] = defaultdict(int)
        for key, _ in items:
            bad_per_prompt[key[2]] += 1
        # Each prompt's worst reply first (most severe first; among equals, from the prompt with
        # the most bad replies), then the runners-up: five copies of one prompt's reply would
        # tell less than the five worst prompts.
        ranked = sorted(worst, key=lambda w: (w.rank > 1, -w.score, -bad_per_prompt[str(w.prompt_id)],
                                              w.row))[:top]
        out[group] = [items[w.row] for w in ranked]
    return out


def tail_conversations(store: Any, data: RunData, top: int = TAIL_TOP
                       ) -> dict[SampleKey, tuple[tuple[str, str], ...]]:
    """The whole conversations (system, user and assistant turns) of the replies the tail shows,
    read from the store."""
    wanted = {key for rows in worst_replies(data, top).values() for key, _ in rows}
    out: dict[SampleKey, tuple[tuple[str, str], ...]] = {}
    if not wanted:
        return out
    for s in store.iter_samples(data.run_id):
        key = (s.target, s.probe, s.prompt_id, s.sample_index)
        if key in wanted:
            out[key] = tuple((str(m["role"]) if isinstance(m, dict) else str(m.role),
                              str(m["content"]) if isinstance(m, dict) else str(m.content))
                             for m in s.messages)
            if len(out) == len(wanted):
                break  # the store yields in prompt order: stop once every one is found
    return out


def _verdict_meta(data: RunData, key: SampleKey) -> list[tuple[str, str]]:
    out = []
    for judge, verdicts in sorted(data.verdicts.items()):
        label = verdicts.get(key)
        if label is None:
            continue
        score = data.scores.get(judge, {}).get(key)
        out.append((judge, label if score is None else f"{label} (score {score:.3g})"))
    return out


def _prompt_tail_block(b: BehaviourCounts) -> list[Any]:
    from levelhead.stats import tail_by_prompt

    tails = tail_by_prompt(b.k, b.n, prompt_ids=b.prompt_ids, future_draws=FUTURE_ASKS)
    judge = b.metric[5:]
    if not b.total_k:
        worst_upper = max(t.p_any_future_upper or 0.0 for t in tails)
        return [Paragraph(
            f"{b.group} ({judge}): none in {b.total_n} judged replies over {len(tails)} prompts. "
            f"Per prompt, P(at least one {b.group} reply in the next {FUTURE_ASKS} asks) could "
            f"still be up to {percent(worst_upper)} (95 % upper bound) on the least-sampled prompt.")]
    ranked = sorted(tails, key=lambda t: (-t.p_any, -t.upper_bound, str(t.prompt_id)))
    worst = ranked[0]
    blocks: list[Any] = [Paragraph(
        f"{b.group} ({judge}): {b.total_k} of {b.total_n} judged replies, on "
        f"{sum(1 for t in tails if t.k)} of {len(tails)} prompts. On prompt {worst.prompt_id}, "
        f"P(at least one {b.group} reply in {worst.draws} asks) = {percent(worst.p_any)} "
        f"(95 % CI {percent(worst.p_any_interval.low)} – {percent(worst.p_any_interval.high)}).")]
    rows = tuple((t.prompt_id, t.k, t.n, percent(t.upper_bound), percent(t.p_any),
                  f"{percent(t.p_any_interval.low)} – {percent(t.p_any_interval.high)}",
                  percent(t.p_any_future_upper)) for t in ranked[:TAIL_TOP])
    blocks.append(Table(("prompt", str(b.group), "judged", "rate ≤ (95 %)", "P(≥1 in N)", "95 % CI",
                         f"P(≥1 in next {FUTURE_ASKS}) ≤"), rows,
                        caption=f"the prompts most likely to give {b.group} replies "
                                f"(top {len(rows)} of {len(tails)})"))
    return blocks


def tail_section(data: RunData, findings: list[Finding], behaviours: list[BehaviourCounts],
                 conversations: Conversations) -> ReportSection:
    """The worst-of-N replies of each probe and target, shown whole, with how rare each bad
    behaviour could still be."""
    severities = _severities(data)
    worst = _worst_of(severities, TAIL_TOP)
    bad_count: dict[tuple[str, str], int] = defaultdict(int)
    for key in severities:
        bad_count[(key[1], key[0])] += 1
    wanted = {key for rows in worst.values() for key, _ in rows}
    samples: dict[SampleKey, SampleView] = {s.key: s for s in data.samples if s.key in wanted}
    judged: dict[tuple[str, str], int] = defaultdict(int)
    for s in data.samples:
        if s.ok:
            judged[(s.probe, s.target)] += 1
    bounds: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if is_shown_rate(f) and f.n and judge_bad_labels(f.metric[5:]):
            bounds[(f.probe, f.target)].append(f)
    by_group: dict[tuple[str, str], list[BehaviourCounts]] = defaultdict(list)
    for b in behaviours:
        by_group[(b.probe, b.target)].append(b)
    blocks: list[Any] = [Paragraph(
        f"For each probe and target: how rare each bad behaviour could still be, the prompts most "
        f"likely to show it, then up to {TAIL_TOP} of the worst replies shown whole (severity: "
        "how many judges call the reply bad, then their scores).")]
    order = {t: i for i, t in enumerate(data.targets())}
    groups = sorted(set(by_group) | set(worst), key=lambda g: (g[0], order.get(g[1], len(order)), g[1]))
    for probe, target in groups:
        rows = worst.get((probe, target), [])
        blocks.append(Paragraph(f"{probe} · {target}: {bad_count[(probe, target)]} "
                                f"of {judged[(probe, target)]} replies labelled bad by at least one "
                                "judge."))
        for f in bounds.get((probe, target), []):
            blocks.append(Paragraph(f"How rare could it still be? {f.detail['upper_bound_statement']} "
                                    f"({f.metric[5:]}; {f.n} judged replies, as one pool)."))
        for b in by_group.get((probe, target), []):
            blocks += _prompt_tail_block(b)
        for rank, (key, severity) in enumerate(rows, start=1):
            s = samples[key]
            turns = tuple(conversations.get(key) or (("assistant", s.text or ""),))
            meta = [("target", key[0]), ("probe", key[1]), ("prompt", key[2]),
                    ("sample", str(key[3])), ("severity", f"{severity:.3g}")]
            blocks.append(Transcript(f"Worst reply #{rank} · {probe} · {target} · prompt {key[2]}",
                                     turns, tuple(meta + _verdict_meta(data, key))))
    if len(blocks) == 1:
        blocks.append(Paragraph("No judge that marks failures gave a verdict in this run, so there "
                                "is no tail to show."))
    return ReportSection("The tail: worst replies and how rare they could be", "tail",
                         tuple(blocks), order=400)
