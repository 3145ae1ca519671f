"""Report sections of the political even-handedness probes (see ``politics``): forced-choice
shares with their intervals, and mirrored-pair asymmetry pair by pair. Built from the findings
(``_findings``) and the run's replies; plain text and numbers only (the report escapes), every
word from the catalogue in the reader's language (keys ``fc.*`` and ``mirror.*``)."""

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
    SampleView,
    Table,
    Transcript,
    figure_label,
    pct,
    say,
)
from levelhead.probes.politics._features import reply_features
from levelhead.probes.politics._measures import MEANS, SHARES, sample_measures
from levelhead.probes.politics._pairs import PAIR_METRIC
from levelhead.records import Finding

__all__ = ["forced_choice_sections", "mirrored_sections"]


def _order(data: RunData) -> dict[str, int]:
    return {t: i for i, t in enumerate(data.targets())}


def forced_choice_sections(data: RunData, findings: list[Finding], probe_id: str,
                           lang: Language = "en") -> list[ReportSection]:
    """Per target: each item's share of each option and of declines, as bars with error bars;
    then the pooled findings (side shares, declines, the name asked first, minority answers)."""
    shares = [f for f in findings if f.probe == probe_id and f.metric == "choice_share"]
    if not shares:
        return []
    order = _order(data)
    blocks: list[Block] = [Paragraph(say(lang, "fc.intro"))]
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for f in shares:
        by_target[f.target].append(f)
    option_names = {option: say(lang, f"fc.option.{option}") for option in ("x", "y", "declined")}
    for target in sorted(by_target, key=lambda t: (order.get(t, len(order)), t)):
        rows = by_target[target]
        items = sorted({f.detail["item"] for f in rows})
        traces = []
        for option, name in option_names.items():
            got = {f.detail["item"]: f for f in rows if f.detail.get("option") == option}
            picked = [got.get(i) for i in items]
            traces.append({
                "type": "bar", "name": name, "x": [figure_label(i) for i in items],
                "y": [f.estimate if f else None for f in picked],
                "customdata": [figure_label(f.group.split(": ", 1)[-1]) if f and f.group else ""
                               for f in picked],
                "hovertemplate": "%{x}<br>%{customdata}: %{y:.1%}",
                "error_y": {"type": "data", "symmetric": False,
                            "array": [(f.ci_high - f.estimate) if f and f.ci_high is not None
                                      and f.estimate is not None else None for f in picked],
                            "arrayminus": [(f.estimate - f.ci_low) if f and f.ci_low is not None
                                           and f.estimate is not None else None for f in picked]}})
        figure = {"data": traces, "layout": {
            "barmode": "group", "height": 420,
            "title": {"text": figure_label(say(lang, "fc.figure", target=target))},
            "xaxis": {"type": "category", "title": {"text": figure_label(say(lang, "fc.item"))},
                      "automargin": True},
            "yaxis": {"title": {"text": figure_label(say(lang, "word.share_judged"))},
                      "tickformat": ".0%", "range": [0, 1]},
            "legend": {"orientation": "h", "y": -0.35}}}
        table = Table(tuple(say(lang, f"fc.column.{i}") for i in range(7)),
                      tuple((f.detail["item"], _option(f, lang), f.detail.get("k"), f.n,
                             pct(f.estimate, lang), pct(f.ci_low, lang), pct(f.ci_high, lang))
                            for f in sorted(rows, key=lambda f: f.group or "")))
        blocks.append(Chart(figure, say(lang, "fc.caption", probe=probe_id, target=target), table))
    pooled = [f for f in findings if f.probe == probe_id and f.metric in (
        "side_share", "decline_rate", "picks_first_named")]
    if pooled:
        blocks.append(Table(_finding_columns(lang, "n"),
                            tuple((f.target, f.metric, f.group, pct(f.estimate, lang),
                                   f"{pct(f.ci_low, lang)} – {pct(f.ci_high, lang)}", f.n,
                                   bool(f.detail.get("flag"))) for f in pooled),
                            caption=say(lang, "fc.pooled_caption")))
    minority = [f for f in findings if f.probe == probe_id and f.metric == "minority_answer_rate"]
    if minority:
        top = sorted(minority, key=lambda f: -(f.detail.get("p_at_least_one_in_10_asks") or 0))[:10]
        blocks.append(Table(
            tuple(say(lang, f"fc.minority_column.{i}") for i in range(6)),
            tuple((f.target, f.group, f.detail.get("minority"), pct(f.estimate, lang),
                   pct(f.detail.get("p_at_least_one_in_10_asks"), lang),
                   f.detail.get("preference_p")) for f in top),
            caption=say(lang, "fc.minority_caption")))
    return [ReportSection(say(lang, "fc.title", probe=probe_id), f"probe-{probe_id}", tuple(blocks),
                          order=100)]


def _option(f: Finding, lang: Language) -> str:
    """The option a choice share counts: the name as the item gives it, or a decline."""
    option = f.group.split(": ", 1)[-1] if f.group else ""
    return say(lang, "fc.option.declined") if f.detail.get("option") == "declined" else option


def _finding_columns(lang: Language, count: str, *, p: bool = False) -> tuple[str, ...]:
    """The columns of a table of pooled findings: target, finding, group, estimate, interval,
    how many (``n``, or ``pairs``) and, with ``p``, the p-value; then the flag."""
    return (say(lang, "word.target"), say(lang, "word.finding"), say(lang, "word.group"),
            say(lang, "word.estimate"), say(lang, "word.interval"),
            count if count == "n" else say(lang, f"word.{count}"), *(("p",) if p else ()),
            say(lang, "word.flag"))


def _measure(feature: str, lang: Language) -> str:
    """A mirrored pair's measurement by name (its id in English)."""
    return say(lang, f"mirror.measure.{feature}") if feature in MEANS + SHARES else feature


def mirrored_sections(data: RunData, findings: list[Finding], probe_id: str,
                      lang: Language = "en") -> list[ReportSection]:
    """Per target: words for side A vs side B, pair by pair (mean over samples), as grouped
    bars; the pairs that differ most, flagged ones first, with a typical reply of each side
    side by side; then the pooled asymmetry findings."""
    words: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    names: dict[tuple[str, str], str] = {}
    for s in data.for_probe(probe_id):
        if not s.ok:
            continue
        pair, side = s.tags.get("pair", s.prompt_id), s.tags.get("side", "a")
        words[s.target][pair][side].append(reply_features(s.text or "")["words"])
        names[(pair, side)] = s.tags.get("side_name", side)
    if not words:
        return []
    order = _order(data)
    blocks: list[Block] = [Paragraph(say(lang, "mirror.intro"))]
    words_unit = say(lang, "mirror.words_unit")
    for target in sorted(words, key=lambda t: (order.get(t, len(order)), t)):
        pairs = sorted(p for p, sides in words[target].items() if "a" in sides and "b" in sides)
        if not pairs:
            continue
        mean = {(p, side): sum(v) / len(v) for p in pairs for side, v in words[target][p].items()}
        traces = [{
            "type": "bar", "name": figure_label(say(lang, "mirror.side", side=side.upper())),
            "x": [figure_label(p) for p in pairs],
            "y": [mean[(p, side)] for p in pairs],
            "customdata": [figure_label(names.get((p, side), side)) for p in pairs],
            "hovertemplate": f"%{{x}}<br>%{{customdata}}: %{{y:.0f}} {figure_label(words_unit)}"}
            for side in ("a", "b")]
        figure = {"data": traces, "layout": {
            "barmode": "group", "height": 420,
            "title": {"text": figure_label(say(lang, "mirror.figure", target=target))},
            "xaxis": {"type": "category", "title": {"text": figure_label(say(lang, "mirror.pair"))},
                      "automargin": True},
            "yaxis": {"title": {"text": figure_label(say(lang, "mirror.axis"))},
                      "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.35}}}
        table = Table(tuple(say(lang, f"mirror.column.{i}") for i in range(6)),
                      tuple((p, names.get((p, "a"), "a"), round(mean[(p, "a")], 1),
                             names.get((p, "b"), "b"), round(mean[(p, "b")], 1),
                             round(mean[(p, "b")] - mean[(p, "a")], 1)) for p in pairs))
        blocks.append(Chart(figure, say(lang, "mirror.caption", probe=probe_id, target=target),
                            table))
    blocks += _unequal_pairs(data, findings, probe_id, lang)
    rows: list[tuple[Any, ...]] = []
    for f in findings:
        if f.probe != probe_id or f.metric.startswith(PAIR_METRIC):
            continue
        if f.kind == "difference":
            rows.append((f.target, f.metric, f.group, _number(f, f.estimate, lang),
                         f"{_number(f, f.ci_low, lang)} – {_number(f, f.ci_high, lang)}", f.n,
                         f.detail.get("p_value"), bool(f.detail.get("flag"))))
        elif f.metric == "even_handed_rate":
            rows.append((f.target, f.metric, f.group, pct(f.estimate, lang),
                         f"{pct(f.ci_low, lang)} – {pct(f.ci_high, lang)}", f.n, None, None))
    if rows:
        blocks.append(Table(_finding_columns(lang, "pairs", p=True), tuple(rows),
                            caption=say(lang, "mirror.pooled_caption")))
    return [ReportSection(say(lang, "mirror.title", probe=probe_id), f"probe-{probe_id}",
                          tuple(blocks), order=100)]


UNEQUAL_TABLE = 10  # pairs listed per target, most unequal first
UNEQUAL_SHOWN = 3  # pairs per target whose replies are shown


def _number(f: Finding, x: float | None, lang: Language = "en") -> str:
    if x is None:
        return "–"
    return pct(x, lang) if f.is_share else f"{x:.3g}"


def _rank(f: Finding) -> tuple[bool, float, float]:
    """Flagged first, then the smallest adjusted p, then the interval farthest from 0 for its
    size (the near end over the far end: 1 for a point, 0 when it holds 0; free of units)."""
    low, high = f.ci_low, f.ci_high
    distance = 0.0
    if low is not None and high is not None and (low > 0 or high < 0):
        distance = min(abs(low), abs(high)) / max(abs(low), abs(high))
    return (not f.detail.get("flag"), float(f.detail.get("adjusted_p") or 1.0), -distance)


def _typical(samples: list[SampleView], values: dict[Any, dict[str, float]], feature: str,
             mean: float) -> SampleView | None:
    """The reply whose measurement is closest to its side's mean: what most askers see, not
    the most extreme reply."""
    measured = [s for s in samples if feature in values.get(s.key, {})]
    if not measured:
        return None
    return min(measured, key=lambda s: (abs(values[s.key][feature] - mean), s.sample_index))


def _unequal_pairs(data: RunData, findings: list[Finding], probe_id: str,
                   lang: Language = "en") -> list[Block]:
    """Per target: the pairs that differ most (one row per pair, its most telling measure),
    then the replies of the first few, side A beside side B."""
    per_pair = [f for f in findings if f.probe == probe_id and f.metric.startswith(PAIR_METRIC)]
    if not per_pair:
        return []
    by_target: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in per_pair:
        by_target[f.target][f.group or ""].append(f)
    order = _order(data)
    first = per_pair[0].detail
    blocks: list[Block] = [Paragraph(say(lang, "mirror.pairs_intro",
                                         correction=str(first.get("correction")).title(),
                                         alpha=first.get("alpha")))]
    samples: dict[tuple[str, str, str], list[SampleView]] = defaultdict(list)
    for s in data.for_probe(probe_id):
        if s.ok:
            samples[(s.target, s.tags.get("pair", s.prompt_id), s.tags.get("side", "a"))].append(s)
    for target in sorted(by_target, key=lambda t: (order.get(t, len(order)), t)):
        pairs = sorted((min(fs, key=_rank) for fs in by_target[target].values()), key=_rank)
        flagged = sum(any(f.detail.get("flag") for f in fs) for fs in by_target[target].values())
        flagged_measures = {
            pair: say(lang, "mirror.join").join(_measure(f.metric.removeprefix(PAIR_METRIC), lang)
                                               for f in fs if f.detail.get("flag"))
            for pair, fs in by_target[target].items()}
        blocks.append(Table(
            tuple(say(lang, f"mirror.pairs_column.{i}") for i in range(10)),
            tuple((f.group, f.detail.get("side_a"), f.detail.get("side_b"),
                   _measure(f.metric.removeprefix(PAIR_METRIC), lang),
                   _number(f, f.detail.get("mean_a"), lang),
                   _number(f, f.detail.get("mean_b"), lang), _number(f, f.estimate, lang),
                   f"{_number(f, f.ci_low, lang)} – {_number(f, f.ci_high, lang)}",
                   f"{float(f.detail.get('adjusted_p') or 1.0):.2g}",
                   flagged_measures[f.group or ""] or say(lang, "word.none"))
                  for f in pairs[:UNEQUAL_TABLE]),
            caption=say(lang, "mirror.pairs_caption", probe=probe_id, target=target,
                        flagged=flagged, pairs=len(pairs), shown=min(len(pairs), UNEQUAL_TABLE))))
        shown = pairs[:UNEQUAL_SHOWN]
        chosen = [samples[(target, f.group or "", side)] for f in shown for side in ("a", "b")]
        values = sample_measures(data, probe_id, [s for group in chosen for s in group])
        for f in shown:
            transcript = _side_by_side(f, target, samples, values, lang)
            if transcript is not None:
                blocks.append(transcript)
    return blocks


def _side_by_side(f: Finding, target: str, samples: dict[tuple[str, str, str], list[SampleView]],
                  values: dict[Any, dict[str, float]], lang: Language = "en") -> Transcript | None:
    feature = f.metric.removeprefix(PAIR_METRIC)
    measure = _measure(feature, lang)
    pair, flag = f.group or "", bool(f.detail.get("flag"))
    turns: list[tuple[str, ...]] = []
    shown = []
    for side in ("a", "b"):
        reply = _typical(samples[(target, pair, side)], values, feature,
                         float(f.detail.get(f"mean_{side}") or 0.0))
        if reply is None:
            return None
        name = f.detail.get(f"side_{side}", side)
        value = _number(f, values[reply.key][feature], lang)
        turns.append(("user", reply.tags.get("prompt", name)))
        turns.append(("assistant", reply.text or "",
                      say(lang, "mirror.turn_note", side=side.upper(), name=name, measure=measure,
                          value=value)) if flag else
                     ("assistant", reply.text or ""))
        shown.append(f"#{reply.sample_index}")
    return Transcript(
        say(lang, "mirror.transcript",
            flag=say(lang, "mirror.flagged" if flag else "mirror.not_flagged"), target=target,
            pair=pair, measure=measure),
        tuple(turns),
        ((say(lang, "word.target"), target), (say(lang, "mirror.pair"), pair),
         (say(lang, "mirror.side", side="A"), str(f.detail.get("side_a"))),
         (say(lang, "mirror.side", side="B"), str(f.detail.get("side_b"))),
         (measure, say(lang, "mirror.means", a=_number(f, f.detail.get("mean_a"), lang),
                       b=_number(f, f.detail.get("mean_b"), lang), n_a=f.detail.get("n_a"),
                       n_b=f.detail.get("n_b"))),
         ("A − B", say(lang, "mirror.difference", estimate=_number(f, f.estimate, lang),
                       low=_number(f, f.ci_low, lang), high=_number(f, f.ci_high, lang))),
         (say(lang, "mirror.adjusted_p"),
          say(lang, "mirror.adjusted", p=f"{float(f.detail.get('adjusted_p') or 1.0):.2g}",
              correction=f.detail.get("correction"), family=f.detail.get("family"))),
         (say(lang, "mirror.replies_shown"), say(lang, "mirror.shown", a=shown[0], b=shown[1]))))
