"""Conditions: how much a system message, a temperature or another setting moves behaviour.

A spec's ``[conditions]`` grid turns every target into variants (``bot@system:adults/
temperature:0.7``) that ran the same prompts, so every comparison here is paired by prompt:

- ``condition_effect:<metric>`` — each variant minus the reference variant (every setting at
  its first level), per behaviour, with a cluster-robust interval and a Holm-adjusted p-value
  over all effects of the run;
- ``system_spread:<metric>`` — across the system messages (other settings fixed): the range of
  the pooled rate and the mean per-prompt range ("instability"), with bootstrap intervals;
- ``worst_of_n:<metric>`` — per variant, the share of prompts whose N replies include at least
  one bad one: the tail as temperature rises, the claim that sampling randomness is why two
  people see different answers, made measurable.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from levelhead.records import Finding
from levelhead.report._behaviours import BehaviourCounts, behaviour_counts
from levelhead.report._data import RunData
from levelhead.report._page import Chart, Paragraph, ReportSection, Table


def _variants(data: RunData) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Base target -> [(variant, its condition)], in spec order."""
    from levelhead.spec import condition_of

    out: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for target in data.targets():
        base, condition = condition_of(target)
        if condition:
            out[base].append((target, condition))
    return dict(out)


def has_conditions(data: RunData) -> bool:
    return bool(data.spec.get("conditions")) and bool(_variants(data))


def _reference(conditions: dict[str, Any], variants: list[tuple[str, dict[str, str]]]
               ) -> str | None:
    """The variant with every setting at its first level."""
    from levelhead.spec import ConditionsConfig

    first = {dim: levels[0][0] for dim, levels in
             ConditionsConfig.model_validate(conditions).dimensions()}
    for name, condition in variants:
        if condition == first:
            return name
    return None


def _watched(data: RunData) -> dict[tuple[str, str, str, str | None], BehaviourCounts]:
    from levelhead.report._compare import _index

    return {k: b for k, b in _index(behaviour_counts(data)).items() if b.bad is not False}


def _label(condition: dict[str, str]) -> str:
    return ", ".join(f"{dim} {level}" for dim, level in condition.items())


def condition_findings(data: RunData) -> list[Finding]:
    """Every condition finding of a run with ``[conditions]`` (none without)."""
    from levelhead.report._behaviours import paired_counts
    from levelhead.stats import adjust_p_values, condition_spread, paired_difference, rate

    if not has_conditions(data):
        return []
    watched = _watched(data)
    keys = sorted({k[1:] for k in watched}, key=lambda k: (k[0], k[1], k[2] or ""))
    out: list[Finding] = []
    effects: list[tuple[int, float]] = []
    for base, variants in _variants(data).items():
        ref = _reference(data.spec["conditions"], variants)
        conditions = dict(variants)
        for probe, metric, group in keys:
            short = metric.removeprefix("rate:")
            # Effects against the reference variant.
            r = watched.get((ref, probe, metric, group)) if ref else None
            for name, condition in variants:
                b = watched.get((name, probe, metric, group))
                if r is None or b is None or name == ref:
                    continue
                try:
                    d = paired_difference(*paired_counts(r, b), errors=r.errors + b.errors,
                                          missing=r.missing + b.missing)
                except ValueError:
                    continue
                effects.append((len(out), d.p_value))
                out.append(Finding(
                    target=name, probe=probe, metric=f"condition_effect:{short}", group=group,
                    estimate=d.estimate, ci_low=d.interval.low, ci_high=d.interval.high,
                    confidence=d.interval.confidence, n=d.prompts, errors=d.errors,
                    missing=d.missing, method=d.interval.method,
                    detail={"condition": condition, "reference": ref,
                            "reference_condition": conditions[ref], "rate": d.candidate_rate,
                            "reference_rate": d.baseline_rate, "p_value": d.p_value}))
            # The tail per variant: share of prompts with at least one bad reply in their N.
            for name, condition in variants:
                b = watched.get((name, probe, metric, group))
                if b is None or not b.prompt_ids:
                    continue
                hit = sum(1 for k in b.k if k > 0)
                res = rate(hit, len(b.prompt_ids))
                out.append(Finding(
                    target=name, probe=probe, metric=f"worst_of_n:{short}", group=group,
                    estimate=res.estimate, ci_low=res.interval.low, ci_high=res.interval.high,
                    confidence=res.interval.confidence, n=len(b.prompt_ids), errors=b.errors,
                    missing=b.missing, method=res.interval.method,
                    detail={"condition": condition, "samples_per_prompt": min(b.n),
                            "about": "share of prompts whose N replies include at least one"}))
            # Spread across system messages, other settings fixed.
            by_rest: dict[tuple, list[str]] = defaultdict(list)
            for name, condition in variants:
                if "system" in condition:
                    rest = tuple(sorted((d, v) for d, v in condition.items() if d != "system"))
                    by_rest[rest].append(name)
            for rest, names in by_rest.items():
                counts = [watched.get((n_, probe, metric, group)) for n_ in names]
                if len(names) < 2 or any(c is None for c in counts):
                    continue
                prompts = sorted(set().union(*(c.prompt_ids for c in counts)))  # type: ignore[union-attr]
                per = [c.per_prompt() for c in counts]  # type: ignore[union-attr]
                k = [[p.get(x, (0, 0))[0] for x in prompts] for p in per]
                n = [[p.get(x, (0, 0))[1] for x in prompts] for p in per]
                try:
                    sp = condition_spread(k, n)
                except ValueError:
                    continue
                out.append(Finding(
                    target=f"{base}@" + "/".join(f"{d}:{v}" for d, v in rest) if rest else base,
                    probe=probe, metric=f"system_spread:{short}", group=group,
                    estimate=sp.spread, ci_low=sp.spread_interval.low,
                    ci_high=sp.spread_interval.high, confidence=sp.spread_interval.confidence,
                    n=sp.prompts, method=sp.spread_interval.method,
                    detail={"systems": [conditions[x].get("system") for x in names],
                            "rates": list(sp.rates), "instability": sp.instability,
                            "instability_low": sp.instability_interval.low,
                            "instability_high": sp.instability_interval.high,
                            "note": "range of the rate across system messages; instability: mean "
                                    "per-prompt range"}))
    if len(effects) >= 1:
        adjusted = adjust_p_values({i: p for i, p in effects})
        for adj in adjusted:
            f = out[int(adj.behaviour)]  # type: ignore[call-overload]
            out[int(adj.behaviour)] = f.model_copy(update={"detail": {
                **f.detail, "adjusted_p_value": adj.adjusted_p_value,
                "flag": adj.significant}})
    return out


def condition_sections(data: RunData, findings: list[Finding]) -> list[ReportSection]:
    """The condition grid as a heat map per base target, and the tail against temperature."""
    from levelhead.report._sections import figure_label, percent

    if not has_conditions(data):
        return []
    watched = _watched(data)
    blocks: list[Any] = [Paragraph(
        "Each condition (a system message, a temperature…) ran the same prompts as a variant of the "
        "target. The heat map shows each behaviour's rate per condition; the table below it the "
        "effect against the reference condition, paired by prompt, with Holm-adjusted p-values.")]
    for base, variants in _variants(data).items():
        keys = sorted({k[1:] for k in watched if k[0] in dict(variants)},
                      key=lambda k: (k[0], k[1], k[2] or ""))
        if not keys:
            continue
        columns = [f"{m.removeprefix('rate:')}" + (f": {g}" if g else "") + f" ({p})"
                   for p, m, g in keys]
        rows = [_label(c) for _, c in variants]
        z, text = [], []
        for name, _ in variants:
            line, words = [], []
            for p, m, g in keys:
                b = watched.get((name, p, m, g))
                value = b.total_k / b.total_n if b is not None and b.total_n else None
                line.append(value)
                words.append(percent(value))
            z.append(line)
            text.append(words)
        figure = {"data": [{"type": "heatmap", "z": z, "x": [figure_label(c) for c in columns],
                            "y": [figure_label(r) for r in rows], "text": text,
                            "texttemplate": "%{text}", "colorscale": "Reds", "zmin": 0,
                            "hovertemplate": "%{y}<br>%{x}: %{text}<extra></extra>"}],
                  "layout": {"title": {"text": figure_label(f"{base}: rates by condition")},
                             "height": 160 + 40 * len(rows), "xaxis": {"automargin": True},
                             "yaxis": {"automargin": True, "autorange": "reversed"}}}
        table = Table(("condition", *columns), tuple((r, *t) for r, t in zip(rows, text, strict=True)))
        blocks.append(Chart(figure, f"{base}: each behaviour's rate under each condition.", table))
    effects = [f for f in findings if f.metric.startswith("condition_effect:")]
    if effects:
        blocks.append(Table(
            ("variant", "behaviour", "rate", "reference rate", "effect", "95 % interval",
             "adjusted p", ""),
            tuple((f.target, f"{f.metric.split(':', 1)[1]}" + (f": {f.group}" if f.group else ""),
                   percent(f.detail.get("rate")), percent(f.detail.get("reference_rate")),
                   f"{100 * (f.estimate or 0):+.1f} pts",
                   f"{100 * (f.ci_low or 0):+.1f} to {100 * (f.ci_high or 0):+.1f} pts",
                   f"{f.detail.get('adjusted_p_value', 1):.3g}",
                   "significant" if f.detail.get("flag") else "") for f in effects),
            caption="effect of each condition against the reference (every setting at its first "
                    "level), paired by prompt"))
    spreads = [f for f in findings if f.metric.startswith("system_spread:")]
    if spreads:
        blocks.append(Table(
            ("target", "behaviour", "rates per system message", "spread", "95 % interval",
             "per-prompt instability"),
            tuple((f.target, f.metric.split(":", 1)[1] + (f": {f.group}" if f.group else ""),
                   " / ".join(percent(r) for r in f.detail.get("rates", [])), percent(f.estimate),
                   f"{percent(f.ci_low)} – {percent(f.ci_high)}",
                   percent(f.detail.get("instability"))) for f in spreads),
            caption="how far each behaviour moves across the system messages, other settings fixed"))
    curve = _temperature_curve(findings)
    if curve is not None:
        blocks.append(curve)
    return [ReportSection("Conditions: system messages and sampling settings", "conditions",
                          tuple(blocks), order=150)]


def _temperature_curve(findings: list[Finding]) -> Chart | None:
    from levelhead.report._sections import figure_label, percent
    from levelhead.spec import condition_of

    tails = [f for f in findings if f.metric.startswith("worst_of_n:")
             and "temperature" in (f.detail.get("condition") or {})]
    if len({f.detail["condition"]["temperature"] for f in tails}) < 2:
        return None
    lines: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in tails:
        base, condition = condition_of(f.target)
        rest = ", ".join(f"{d} {v}" for d, v in condition.items() if d != "temperature")
        behaviour = f.metric.split(":", 1)[1] + (f": {f.group}" if f.group else "")
        lines[(f"{base} · {behaviour}" + (f" · {rest}" if rest else ""), f.probe)].append(f)
    traces = []
    for (name, probe), rows in sorted(lines.items()):
        if not any(f.estimate for f in rows):
            continue  # never seen at any temperature: a flat line at 0 only hides the others
        rows.sort(key=lambda f: float(f.detail["condition"]["temperature"]))
        traces.append({"type": "scatter", "mode": "lines+markers",
                       "name": figure_label(f"{name} ({probe})"),
                       "x": [float(f.detail["condition"]["temperature"]) for f in rows],
                       "y": [f.estimate for f in rows],
                       "error_y": {"type": "data", "symmetric": False,
                                   "array": [f.ci_high - f.estimate for f in rows],
                                   "arrayminus": [f.estimate - f.ci_low for f in rows]}})
    figure = {"data": traces, "layout": {
        "title": {"text": "the tail against temperature: prompts with at least one bad reply in N"},
        "xaxis": {"title": {"text": "temperature"}},
        "yaxis": {"title": {"text": "share of prompts"}, "tickformat": ".0%", "range": [0, 1]},
        "height": 420, "legend": {"orientation": "h", "y": -0.3}}}
    table = Table(("target", "behaviour", "prompts with ≥ 1 bad reply", "95 % interval", "N"),
                  tuple((f.target, f.metric.split(":", 1)[1] + (f": {f.group}" if f.group else ""),
                         percent(f.estimate), f"{percent(f.ci_low)} – {percent(f.ci_high)}",
                         f.detail.get("samples_per_prompt")) for f in tails))
    return Chart(figure, "The worst of N as temperature rises: the share of prompts whose N "
                         "replies include at least one bad one, with 95 % intervals.", table)
