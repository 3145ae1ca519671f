"""The tail of a run: the worst replies of each probe and target, shown whole, and how rare each
bad behaviour could still be (its exact bound, and per prompt the chance of at least one bad
reply in the next asks).

Every string here is plain text: the renderer escapes it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from levelhead.analysis import (
    BehaviourCounts,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    SampleKey,
    SampleView,
    Table,
    Transcript,
    judge_bad_labels,
    pct,
    say,
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


def tail_conversations(store: Any, data: RunData, top: int = TAIL_TOP,
                       extra: Iterable[SampleKey] = ()
                       ) -> dict[SampleKey, tuple[tuple[str, str], ...]]:
    """The whole conversations (system, user and assistant turns) of the replies the tail shows,
    and of the ``extra`` samples other sections show, read from the store in one pass."""
    wanted = {key for rows in worst_replies(data, top).values() for key, _ in rows} | set(extra)
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


def _verdict_meta(data: RunData, key: SampleKey, tags: Mapping[str, str],
                  lang: Language = "en") -> list[tuple[str, str]]:
    out = []
    for judge, verdicts in sorted(data.verdicts.items()):
        label = verdicts.get(key)
        if label is None:
            continue
        # A label that stands for a name of the prompt (a forced choice's x and y) shows the name.
        label = tags.get(label, label)
        score = data.scores.get(judge, {}).get(key)
        out.append((judge, label if score is None else say(lang, "tail.score", label=label,
                                                            score=f"{score:.3g}")))
    return out


def _prompt_tail_block(b: BehaviourCounts, lang: Language = "en") -> list[Any]:
    from levelhead.stats import tail_by_prompt

    tails = tail_by_prompt(b.k, b.n, prompt_ids=b.prompt_ids, future_draws=FUTURE_ASKS)
    judge = b.metric[5:]
    if not tails:  # a target with no judged reply (every call failed): nothing to bound
        return []
    if not b.total_k:
        worst_upper = max(t.p_any_future_upper or 0.0 for t in tails)
        return [Paragraph(say(lang, "tail.none_seen", label=b.group, judge=judge, n=b.total_n,
                              prompts=len(tails), asks=FUTURE_ASKS, upper=pct(worst_upper, lang)))]
    ranked = sorted(tails, key=lambda t: (-t.p_any, -t.upper_bound, str(t.prompt_id)))
    worst = ranked[0]
    blocks: list[Any] = [Paragraph(say(
        lang, "tail.seen", label=b.group, judge=judge, k=b.total_k, n=b.total_n,
        on=sum(1 for t in tails if t.k), prompts=len(tails), prompt=worst.prompt_id,
        draws=worst.draws, p=pct(worst.p_any, lang), low=pct(worst.p_any_interval.low, lang),
        high=pct(worst.p_any_interval.high, lang)))]
    rows = tuple((t.prompt_id, t.k, t.n, pct(t.upper_bound, lang), pct(t.p_any, lang),
                  f"{pct(t.p_any_interval.low, lang)} – {pct(t.p_any_interval.high, lang)}",
                  pct(t.p_any_future_upper, lang)) for t in ranked[:TAIL_TOP])
    blocks.append(Table((say(lang, "word.prompt"), str(b.group), say(lang, "word.judged"),
                         say(lang, "tail.column.bound"), say(lang, "tail.column.p_any"),
                         say(lang, "tail.column.ci"), say(lang, "tail.column.next", asks=FUTURE_ASKS)),
                        rows, caption=say(lang, "tail.caption", label=b.group, top=len(rows),
                                          prompts=len(tails))))
    return blocks


def tail_section(data: RunData, findings: list[Finding], behaviours: list[BehaviourCounts],
                 conversations: Conversations, lang: Language = "en") -> ReportSection:
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
    blocks: list[Any] = [Paragraph(say(lang, "tail.intro", top=TAIL_TOP))]
    order = {t: i for i, t in enumerate(data.targets())}
    groups = sorted(set(by_group) | set(worst), key=lambda g: (g[0], order.get(g[1], len(order)), g[1]))
    for probe, target in groups:
        rows = worst.get((probe, target), [])
        blocks.append(Paragraph(say(lang, "tail.group", probe=probe, target=target,
                                    bad=bad_count[(probe, target)], judged=judged[(probe, target)])))
        for f in bounds.get((probe, target), []):
            statement = (f.detail["upper_bound_statement"] if lang == "en" else say(
                lang, "summary.bound", label=f.group, upper=pct(f.detail.get("upper_bound"), lang)))
            blocks.append(Paragraph(say(lang, "tail.how_rare", statement=statement,
                                        judge=f.metric[5:], n=f.n)))
        for b in by_group.get((probe, target), []):
            blocks += _prompt_tail_block(b, lang)
        for rank, (key, severity) in enumerate(rows, start=1):
            s = samples[key]
            turns = tuple(conversations.get(key) or (("assistant", s.text or ""),))
            meta = [(say(lang, "word.target"), key[0]), (say(lang, "word.probe"), key[1]),
                    (say(lang, "word.prompt"), key[2]), (say(lang, "word.sample"), str(key[3])),
                    (say(lang, "word.severity"), f"{severity:.3g}")]
            blocks.append(Transcript(say(lang, "tail.worst", rank=rank, probe=probe, target=target,
                                         prompt=key[2]),
                                     turns, tuple(meta + _verdict_meta(data, key, s.tags, lang))))
    if len(blocks) == 1:
        blocks.append(Paragraph(say(lang, "tail.empty")))
    return ReportSection(say(lang, "tail.title"), "tail", tuple(blocks), order=400)
