"""Conditions: how much a system message, a temperature or another setting moves behaviour.

A spec's ``[conditions]`` grid turns every target into variants (``bot@system:adults/
temperature:0.7``) that ran the same prompts, so every comparison here is paired by prompt:

- ``condition_effect:<metric>`` — each variant minus the reference variant (every setting at
  its first level), per behaviour, with a cluster-robust interval; ``detail.joint`` when the
  variant differs in several settings (the effect then carries all of them);
- ``setting_effect:<metric>`` — for those joint variants, each setting alone: the variant
  minus the variant that differs from it in that setting only;
- every effect's p-value is Holm-adjusted over all effects of the run;
- ``system_spread:<metric>`` — across the system messages (other settings fixed): the range of
  the pooled rate and the mean per-prompt range ("instability"), with bootstrap intervals and a
  noise reference (replies re-dealt among the system messages: a p-value, the spread and
  instability that noise alone gives);
- ``worst_of_n:<metric>`` — per variant, the share of prompts whose m replies include at least
  one bad one (m the fewest judged replies of a prompt): the tail as temperature rises, the
  claim that sampling randomness is why two people see different answers, made measurable.

A probe with rates of its own (``scolding.benign_edgy``: over-refusal on benign prompts,
compliance on harmful ones) is watched through those, not through its judges' raw labels.

The report's section is written in the reader's language (``lang``, keys ``cond.*``); a
condition is named by its settings as the spec names them (``system adults, temperature 0.7``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from levelhead.analysis import (
    BehaviourCounts,
    Chart,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    figure_label,
    known,
    paired_counts,
    pct,
    say,
)
from levelhead.probes import registry as probe_registry
from levelhead.records import Finding
from levelhead.report._behaviours import behaviour_counts

__all__ = ["condition_findings", "condition_sections", "has_conditions"]


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
    """The failure behaviours, per variant. A probe that builds rates of its own from some
    judges (``rates_from_judges`` on its class: over-refusal on benign prompts only, say) is
    watched through those, not through those judges' raw labels (which would count a refused
    harmful request as bad, and test the same thing twice). Any other probe rate that has the
    counts of a judge label under every variant is that label again and is left out — decided
    over all variants at once, so a rate that is 0 everywhere shows as 0 under every condition
    instead of going missing under some."""
    counts = [b for b in behaviour_counts(data) if b.bad is not False]
    covered: dict[str, set[str]] = {}
    for probe_id in {b.probe for b in counts}:
        name = data.probe_names.get(probe_id, probe_id)
        judges = probe_registry.get(name).factory.rates_from_judges if name in probe_registry else ()
        covered[probe_id] = {f"rate:{j}" for j in judges}
    counts = [b for b in counts if b.metric not in covered[b.probe]]
    raw = {(b.target, b.probe, b.prompt_ids, b.k, b.n) for b in counts
           if b.metric.startswith("rate:")}
    own: dict[tuple[str, str, str | None], list[BehaviourCounts]] = defaultdict(list)
    for b in counts:
        if not b.metric.startswith("rate:"):
            own[b.key].append(b)
    repeated = {key for key, bs in own.items()
                if all(b.total_n and (b.target, b.probe, b.prompt_ids, b.k, b.n) in raw
                       for b in bs)}
    return {(b.target, *b.key): b for b in counts if b.key not in repeated}


def _label(condition: dict[str, str]) -> str:
    return ", ".join(f"{dim} {level}" for dim, level in condition.items())


def condition_findings(data: RunData) -> list[Finding]:
    """Every condition finding of a run with ``[conditions]`` (none without)."""
    from levelhead.stats import adjust_p_values, condition_spread, paired_difference

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
            # Effects: each variant against the reference (every setting at its first level,
            # so a variant that differs in two settings carries both changes: "joint"), and,
            # for those, each setting alone (the same variant against the one that differs from
            # it in that setting only).
            comparisons: list[tuple[str, str, str, dict[str, Any]]] = []
            for name, condition in variants:
                if ref is None or name == ref:
                    continue
                changed = [d for d in condition if condition[d] != conditions[ref].get(d)]
                comparisons.append((name, ref, "condition_effect",
                                    {"changed": changed, "joint": len(changed) > 1}))
                if len(changed) > 1:
                    for setting in changed:
                        other = {**condition, setting: conditions[ref][setting]}
                        twin = next((n_ for n_, c in variants if c == other), None)
                        if twin is not None:
                            comparisons.append((name, twin, "setting_effect",
                                                {"setting": setting,
                                                 "level": condition[setting]}))
            for name, against, kind, extra in comparisons:
                r, b = (watched.get((against, probe, metric, group)),
                        watched.get((name, probe, metric, group)))
                if r is None or b is None:
                    continue
                try:
                    d = paired_difference(*paired_counts(r, b), errors=r.errors + b.errors,
                                          missing=r.missing + b.missing)
                except ValueError:
                    continue
                effects.append((len(out), d.p_value))
                out.append(Finding(
                    target=name, probe=probe, metric=f"{kind}:{short}", group=group,
                    kind="difference", unit="share",
                    estimate=d.estimate, ci_low=d.interval.low, ci_high=d.interval.high,
                    confidence=d.interval.confidence, n=d.prompts, errors=d.errors,
                    missing=d.missing, method=d.interval.method,
                    detail={"condition": conditions[name], "reference": against,
                            "reference_condition": conditions[against],
                            "rate": d.candidate_rate, "reference_rate": d.baseline_rate,
                            "p_value": d.p_value, **extra}))
            # The tail per variant: share of prompts with at least one bad reply in m tries.
            for name, condition in variants:
                b = watched.get((name, probe, metric, group))
                if b is None or not b.prompt_ids:
                    continue
                out.append(_worst_of_n(name, probe, short, group, b, condition))
            # Spread across system messages, other settings fixed.
            by_rest: dict[tuple[Any, ...], list[str]] = defaultdict(list)
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
                    kind="difference", unit="share",
                    estimate=sp.spread, ci_low=sp.spread_interval.low,
                    ci_high=sp.spread_interval.high, confidence=sp.spread_interval.confidence,
                    n=sp.prompts, method=sp.spread_interval.method,
                    detail={"systems": [conditions[x].get("system") for x in names],
                            "rates": list(sp.rates), "instability": sp.instability,
                            "instability_low": sp.instability_interval.low,
                            "instability_high": sp.instability_interval.high,
                            "p_value": sp.p_value, "flag": sp.p_value < 0.05,
                            "null_spread": sp.null_spread,
                            "null_instability": sp.null_instability,
                            "instability_excess": sp.instability_excess,
                            "note": "range of the rate across system messages (biased upwards: "
                                    "compare null_spread, what noise alone gives, and p_value); "
                                    "instability: mean per-prompt range, of which "
                                    "instability_excess is beyond noise"}))
    if len(effects) >= 1:
        adjusted = adjust_p_values({i: p for i, p in effects})
        for adj in adjusted:
            i = cast(int, adj.behaviour)  # the keys given: indices into out
            f = out[i]
            out[i] = f.model_copy(update={"detail": {
                **f.detail, "adjusted_p_value": adj.adjusted_p_value,
                "flag": adj.significant}})
    return out


def _worst_of_n(name: str, probe: str, short: str, group: str | None, b: BehaviourCounts,
                condition: dict[str, str]) -> Finding:
    """The share of prompts with at least one bad reply in m tries, m the fewest judged replies
    of any prompt: for a prompt with n judged replies, k of them bad, the chance that m drawn
    from them include a bad one is 1 - C(n-k, m) / C(n, m) (exactly "hit or not" when n = m),
    so prompts that lost replies to errors are compared on the same m as the others."""
    from math import comb

    from levelhead.stats import clustered_mean, rate

    m = min(b.n)
    chances = [1 - comb(n - k, m) / comb(n, m) for k, n in zip(b.k, b.n, strict=True)]
    detail = {"condition": condition, "samples_per_prompt": m, "most_samples": max(b.n),
              "prompts_with_more": sum(1 for n in b.n if n > m),
              "about": "share of prompts whose m replies include at least one bad one"}
    if max(b.n) == m or len(chances) < 2:
        res = rate(sum(1 for k in b.k if k > 0), len(b.prompt_ids))
        low, high, method, conf = (res.interval.low, res.interval.high, res.interval.method,
                                   res.interval.confidence)
        estimate = res.estimate
    else:  # unequal N: the mean chance over prompts, with a t interval over prompts
        mean = clustered_mean(chances, list(b.prompt_ids))
        estimate, low, high = mean.estimate, max(0.0, mean.interval.low), min(
            1.0, mean.interval.high)
        method, conf = f"mean over prompts of 1 - C(n-k,m)/C(n,m); {mean.interval.method}", \
            mean.interval.confidence
    return Finding(target=name, probe=probe, metric=f"worst_of_n:{short}", group=group,
                   kind="rate", unit="share",
                   estimate=estimate, ci_low=low, ci_high=high, confidence=conf,
                   n=len(b.prompt_ids), errors=b.errors, missing=b.missing, method=method,
                   detail=detail)


def _pts(x: float | None, lang: Language) -> str:
    return say(lang, "cond.pts", value=f"{100 * (x or 0):+.1f}")


def _pts_range(low: float | None, high: float | None, lang: Language) -> str:
    return say(lang, "cond.pts_range", low=f"{100 * (low or 0):+.1f}", high=f"{100 * (high or 0):+.1f}")


def _against(f: Finding, lang: Language) -> str:
    """What an effect is measured against: the reference condition, and which settings differ."""
    text = _label(f.detail.get("reference_condition") or {})
    if f.metric.startswith("setting_"):
        return text + say(lang, "cond.only", setting=f.detail["setting"])
    if f.detail.get("joint"):
        return text + say(lang, "cond.joint", settings=", ".join(f.detail.get("changed", [])))
    return text


def condition_sections(data: RunData, findings: list[Finding],
                       lang: Language = "en") -> list[ReportSection]:
    """The condition grid as a heat map per base target, and the tail against temperature, in
    ``lang``."""
    if not has_conditions(data):
        return []
    watched = _watched(data)
    blocks: list[Any] = [Paragraph(say(lang, "cond.intro"))]
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
                words.append(pct(value, lang))
            z.append(line)
            text.append(words)
        figure = {"data": [{"type": "heatmap", "z": z, "x": [figure_label(c) for c in columns],
                            "y": [figure_label(r) for r in rows], "text": text,
                            "texttemplate": "%{text}", "colorscale": "Reds", "zmin": 0,
                            "hovertemplate": "%{y}<br>%{x}: %{text}<extra></extra>"}],
                  "layout": {"title": {"text": figure_label(say(lang, "cond.figure", base=base))},
                             "height": 160 + 40 * len(rows), "xaxis": {"automargin": True},
                             "yaxis": {"automargin": True, "autorange": "reversed"}}}
        table = Table((say(lang, "cond.condition"), *columns),
                      tuple((r, *t) for r, t in zip(rows, text, strict=True)))
        blocks.append(Chart(figure, say(lang, "cond.caption", base=base), table))
    effects = [f for f in findings if f.metric.startswith(("condition_effect:",
                                                            "setting_effect:"))]
    if effects:
        blocks.append(Table(
            (*(say(lang, f"cond.effect_column.{i}") for i in range(8)), ""),
            tuple((f.target, _against(f, lang),
                   f"{f.metric.split(':', 1)[1]}" + (f": {f.group}" if f.group else ""),
                   pct(f.detail.get("rate"), lang), pct(f.detail.get("reference_rate"), lang),
                   _pts(f.estimate, lang), _pts_range(f.ci_low, f.ci_high, lang),
                   f"{f.detail.get('adjusted_p_value', 1):.3g}",
                   say(lang, "word.significant") if f.detail.get("flag") else "") for f in effects),
            caption=say(lang, "cond.effects_caption")))
    spreads = [f for f in findings if f.metric.startswith("system_spread:")]
    if spreads:
        blocks.append(Table(
            tuple(say(lang, f"cond.spread_column.{i}") for i in range(9)),
            tuple((f.target, f.metric.split(":", 1)[1] + (f": {f.group}" if f.group else ""),
                   " / ".join(pct(r, lang) for r in f.detail.get("rates", [])),
                   pct(f.estimate, lang), f"{pct(f.ci_low, lang)} – {pct(f.ci_high, lang)}",
                   pct(f.detail.get("null_spread"), lang), f"{f.detail.get('p_value', 1):.3g}",
                   pct(f.detail.get("instability"), lang),
                   _pts(f.detail.get("instability_excess", 0), lang)) for f in spreads),
            caption=say(lang, "cond.spread_caption")))
    curve = _temperature_curve(findings, lang)
    if curve is not None:
        blocks.append(curve)
    return [ReportSection(say(lang, "cond.title"), "conditions", tuple(blocks), order=150)]


def _temperature_curve(findings: list[Finding], lang: Language = "en") -> Chart | None:
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
                                   "array": [known(f.ci_high) - known(f.estimate) for f in rows],
                                   "arrayminus": [known(f.estimate) - known(f.ci_low)
                                                  for f in rows]}})
    figure = {"data": traces, "layout": {
        "title": {"text": figure_label(say(lang, "cond.curve_figure"))},
        "xaxis": {"title": {"text": figure_label(say(lang, "cond.temperature"))}},
        "yaxis": {"title": {"text": figure_label(say(lang, "cond.curve_axis"))},
                  "tickformat": ".0%", "range": [0, 1]},
        "height": 420, "legend": {"orientation": "h", "y": -0.3}}}
    table = Table(tuple(say(lang, f"cond.curve_column.{i}") for i in range(5)),
                  tuple((f.target, f.metric.split(":", 1)[1] + (f": {f.group}" if f.group else ""),
                         pct(f.estimate, lang), f"{pct(f.ci_low, lang)} – {pct(f.ci_high, lang)}",
                         f.detail.get("samples_per_prompt")) for f in tails))
    return Chart(figure, say(lang, "cond.curve_caption"), table)
