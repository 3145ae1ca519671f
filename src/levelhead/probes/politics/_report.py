"""Report sections of the political even-handedness probes (see ``politics``): forced-choice
shares with their intervals, and mirrored-pair asymmetry pair by pair. Built from the findings
(``_findings``) and the run's replies; plain text and numbers only (the report escapes)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from levelhead.analysis import (
    Block,
    Chart,
    Paragraph,
    ReportSection,
    RunData,
    SampleView,
    Table,
    Transcript,
    figure_label,
    percent,
)
from levelhead.probes.politics._features import reply_features
from levelhead.probes.politics._measures import sample_measures
from levelhead.probes.politics._pairs import PAIR_METRIC
from levelhead.records import Finding

__all__ = ["forced_choice_sections", "mirrored_sections"]


def _order(data: RunData) -> dict[str, int]:
    return {t: i for i, t in enumerate(data.targets())}


def forced_choice_sections(data: RunData, findings: list[Finding], probe_id: str
                           ) -> list[ReportSection]:
    """Per target: each item's share of each option and of declines, as bars with error bars;
    then the pooled findings (side shares, declines, the name asked first, minority answers)."""
    shares = [f for f in findings if f.probe == probe_id and f.metric == "choice_share"]
    if not shares:
        return []
    order = _order(data)
    blocks: list[Block] = [Paragraph(
        "Each item asks the target to pick one of two names, in both orders. Bars are the share "
        "of judged replies picking the first-listed name, the second, or declining (hover a bar "
        "for the name), with simultaneous 95 % intervals; an even-handed target declines or "
        "splits near half and half.")]
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for f in shares:
        by_target[f.target].append(f)
    option_names = {"x": "first-listed name", "y": "second-listed name", "declined": "declined"}
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
            "title": {"text": figure_label(f"forced-choice shares · {target}")},
            "xaxis": {"type": "category", "title": {"text": "item"}, "automargin": True},
            "yaxis": {"title": {"text": "share of judged replies"}, "tickformat": ".0%",
                      "range": [0, 1]},
            "legend": {"orientation": "h", "y": -0.35}}}
        table = Table(("item", "option", "picks", "n", "share", "low", "high"),
                      tuple((f.detail["item"], f.group.split(": ", 1)[-1] if f.group else "",
                             f.detail.get("k"), f.n, percent(f.estimate), percent(f.ci_low),
                             percent(f.ci_high)) for f in sorted(rows, key=lambda f: f.group or "")))
        blocks.append(Chart(figure, f"{probe_id} · {target}: share of each option per item, with "
                                    "95 % intervals.", table))
    pooled = [f for f in findings if f.probe == probe_id and f.metric in (
        "side_share", "decline_rate", "picks_first_named")]
    if pooled:
        blocks.append(Table(("target", "finding", "group", "estimate", "95 % interval", "n", "flag"),
                            tuple((f.target, f.metric, f.group, percent(f.estimate),
                                   f"{percent(f.ci_low)} – {percent(f.ci_high)}", f.n,
                                   bool(f.detail.get("flag"))) for f in pooled),
                            caption="pooled over items, clustered by item (flag: the interval "
                                    "excludes one half)"))
    minority = [f for f in findings if f.probe == probe_id and f.metric == "minority_answer_rate"]
    if minority:
        top = sorted(minority, key=lambda f: -(f.detail.get("p_at_least_one_in_10_asks") or 0))[:10]
        blocks.append(Table(
            ("target", "item", "minority answer", "share", "P(≥1 in 10 asks)", "preference p"),
            tuple((f.target, f.group, f.detail.get("minority"), percent(f.estimate),
                   percent(f.detail.get("p_at_least_one_in_10_asks")),
                   f.detail.get("preference_p")) for f in top),
            caption="the answer someone will screenshot: how often the less-picked name comes up"))
    return [ReportSection(f"Forced choice · {probe_id}", f"probe-{probe_id}", tuple(blocks),
                          order=100)]


def mirrored_sections(data: RunData, findings: list[Finding], probe_id: str) -> list[ReportSection]:
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
    blocks: list[Block] = [Paragraph(
        "The same request with the sides swapped. For each pair, the mean length (words; a Chinese "
        "character counts as one) of the replies about side A and side B: an even-handed target's "
        "bars match. The table below gives the paired differences over all pairs, with intervals.")]
    for target in sorted(words, key=lambda t: (order.get(t, len(order)), t)):
        pairs = sorted(p for p, sides in words[target].items() if "a" in sides and "b" in sides)
        if not pairs:
            continue
        mean = {(p, side): sum(v) / len(v) for p in pairs for side, v in words[target][p].items()}
        traces = [{
            "type": "bar", "name": f"side {side.upper()}", "x": [figure_label(p) for p in pairs],
            "y": [mean[(p, side)] for p in pairs],
            "customdata": [figure_label(names.get((p, side), side)) for p in pairs],
            "hovertemplate": "%{x}<br>%{customdata}: %{y:.0f} words"} for side in ("a", "b")]
        figure = {"data": traces, "layout": {
            "barmode": "group", "height": 420,
            "title": {"text": figure_label(f"words for side A vs side B · {target}")},
            "xaxis": {"type": "category", "title": {"text": "pair"}, "automargin": True},
            "yaxis": {"title": {"text": "mean words per reply"}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.35}}}
        table = Table(("pair", "side A", "words A", "side B", "words B", "B − A"),
                      tuple((p, names.get((p, "a"), "a"), round(mean[(p, "a")], 1),
                             names.get((p, "b"), "b"), round(mean[(p, "b")], 1),
                             round(mean[(p, "b")] - mean[(p, "a")], 1)) for p in pairs))
        blocks.append(Chart(figure, f"{probe_id} · {target}: mean words per reply for each side "
                                    "of each mirrored pair.", table))
    blocks += _unequal_pairs(data, findings, probe_id)
    rows: list[tuple[Any, ...]] = []
    for f in findings:
        if f.probe != probe_id or f.metric.startswith(PAIR_METRIC):
            continue
        if f.kind == "difference":
            show = percent if f.is_share else (lambda x: "–" if x is None else f"{x:.3g}")
            rows.append((f.target, f.metric, f.group, show(f.estimate),
                         f"{show(f.ci_low)} – {show(f.ci_high)}", f.n, f.detail.get("p_value"),
                         bool(f.detail.get("flag"))))
        elif f.metric == "even_handed_rate":
            rows.append((f.target, f.metric, f.group, percent(f.estimate),
                         f"{percent(f.ci_low)} – {percent(f.ci_high)}", f.n, None, None))
    if rows:
        blocks.append(Table(("target", "finding", "group", "estimate", "95 % interval", "pairs", "p",
                             "flag"), tuple(rows),
                            caption="paired asymmetries: asymmetry:<feature> is the first side minus "
                                    "the second, per pair; refusal_asymmetry is the second side's "
                                    "refusal rate minus the first's; even_handed_rate is the share "
                                    "of pairs a pairwise judge found treated the same (flag: the "
                                    "interval excludes 0)"))
    return [ReportSection(f"Mirrored pairs · {probe_id}", f"probe-{probe_id}", tuple(blocks),
                          order=100)]


UNEQUAL_TABLE = 10  # pairs listed per target, most unequal first
UNEQUAL_SHOWN = 3  # pairs per target whose replies are shown


def _number(f: Finding, x: float | None) -> str:
    if x is None:
        return "–"
    return percent(x) if f.is_share else f"{x:.3g}"


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


def _unequal_pairs(data: RunData, findings: list[Finding], probe_id: str) -> list[Block]:
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
    blocks: list[Block] = [Paragraph(
        "Pair by pair: for every pair and measure, the replies to side A against the replies to "
        "side B (difference A − B with its 95 % interval: Welch t for a mean, Newcombe for the "
        f"share refused), the p-value adjusted with {str(first.get('correction')).title()} over "
        "every pair and measure of the target, and a flag where the adjusted p is at most "
        f"{first.get('alpha')}. A flagged pair is unlikely to be a fluke of sampling even "
        "among this many pairs; the replies shown are the ones closest to each side's mean, "
        "what most people asking would see.")]
    samples: dict[tuple[str, str, str], list[SampleView]] = defaultdict(list)
    for s in data.for_probe(probe_id):
        if s.ok:
            samples[(s.target, s.tags.get("pair", s.prompt_id), s.tags.get("side", "a"))].append(s)
    for target in sorted(by_target, key=lambda t: (order.get(t, len(order)), t)):
        pairs = sorted((min(fs, key=_rank) for fs in by_target[target].values()), key=_rank)
        flagged = sum(any(f.detail.get("flag") for f in fs) for fs in by_target[target].values())
        flagged_measures = {
            pair: ", ".join(f.metric.removeprefix(PAIR_METRIC) for f in fs if f.detail.get("flag"))
            for pair, fs in by_target[target].items()}
        blocks.append(Table(
            ("pair", "side A", "side B", "measure", "A", "B", "A − B", "95 % interval",
             "adjusted p", "flagged measures"),
            tuple((f.group, f.detail.get("side_a"), f.detail.get("side_b"),
                   f.metric.removeprefix(PAIR_METRIC), _number(f, f.detail.get("mean_a")),
                   _number(f, f.detail.get("mean_b")), _number(f, f.estimate),
                   f"{_number(f, f.ci_low)} – {_number(f, f.ci_high)}",
                   f"{float(f.detail.get('adjusted_p') or 1.0):.2g}",
                   flagged_measures[f.group or ""] or "none")
                  for f in pairs[:UNEQUAL_TABLE]),
            caption=f"{probe_id} · {target}: {flagged} of {len(pairs)} pairs flagged; the "
                    f"{min(len(pairs), UNEQUAL_TABLE)} most unequal, each by its most telling "
                    "measure (flagged first, then by adjusted p)"))
        shown = pairs[:UNEQUAL_SHOWN]
        chosen = [samples[(target, f.group or "", side)] for f in shown for side in ("a", "b")]
        values = sample_measures(data, probe_id, [s for group in chosen for s in group])
        for f in shown:
            transcript = _side_by_side(f, target, samples, values)
            if transcript is not None:
                blocks.append(transcript)
    return blocks


def _side_by_side(f: Finding, target: str, samples: dict[tuple[str, str, str], list[SampleView]],
                  values: dict[Any, dict[str, float]]) -> Transcript | None:
    feature = f.metric.removeprefix(PAIR_METRIC)
    pair, flag = f.group or "", bool(f.detail.get("flag"))
    turns: list[tuple[str, ...]] = []
    shown = []
    for side in ("a", "b"):
        reply = _typical(samples[(target, pair, side)], values, feature,
                         float(f.detail.get(f"mean_{side}") or 0.0))
        if reply is None:
            return None
        name = f.detail.get(f"side_{side}", side)
        value = _number(f, values[reply.key][feature])
        turns.append(("user", reply.tags.get("prompt", name)))
        turns.append(("assistant", reply.text or "", f"side {side.upper()} · {name} · {feature} "
                                                      f"{value}") if flag else
                     ("assistant", reply.text or ""))
        shown.append(f"#{reply.sample_index}")
    return Transcript(
        f"{'flagged' if flag else 'not flagged'} · {target} · {pair}: {feature}",
        tuple(turns),
        (("target", target), ("pair", pair), ("side A", str(f.detail.get("side_a"))),
         ("side B", str(f.detail.get("side_b"))),
         (feature, f"{_number(f, f.detail.get('mean_a'))} vs {_number(f, f.detail.get('mean_b'))} "
                   f"(mean of {f.detail.get('n_a')} and {f.detail.get('n_b')} replies)"),
         ("A − B", f"{_number(f, f.estimate)} (95 % interval {_number(f, f.ci_low)} – "
                   f"{_number(f, f.ci_high)})"),
         ("adjusted p", f"{float(f.detail.get('adjusted_p') or 1.0):.2g} "
                        f"({f.detail.get('correction')}, {f.detail.get('family')} tests)"),
         ("replies shown", f"A {shown[0]}, B {shown[1]}: closest to each side's mean")))
