"""The report's generic sections, built from a run's findings and data: a summary card per
behaviour, per-prompt rates, the tail (the worst replies, shown whole, and how rare a behaviour
could still be), methods and known limitations. Each probe adds its own sections through
``report_sections(data, findings, probe_id)`` on its class.

Every string here is plain text: the renderer escapes it. Labels that go into a plotly figure
are html-escaped here as well, since plotly reads a few tags in its labels.
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from levelhead.judges import JUDGE_ERROR
from levelhead.probes import registry as probe_registry
from levelhead.records import Finding
from levelhead.report._behaviours import BehaviourCounts, behaviour_counts, judge_bad_labels, judge_labels
from levelhead.report._data import RunData, SampleKey, SampleView
from levelhead.report._page import Card, Chart, Paragraph, ReportSection, Table, Transcript

__all__ = ["figure_label", "is_secret_name", "percent", "public_settings", "report_sections",
           "tail_conversations", "worst_replies"]

TAIL_TOP = 5  # worst replies shown per probe and target: a 100,000-sample run stays small
FUTURE_ASKS = 100  # "in the next 100 asks of this prompt"
SMALL_N = 30  # judged samples per prompt below which rates per prompt are called rough
LOW_KAPPA = 0.6
_HIGH_SHARE = 0.05  # error or missing-verdict share worth a limitation

Statuses = Mapping[tuple[str, str, str, str | None], str]
Conversations = Mapping[SampleKey, Sequence[tuple[str, str]]]


# ----------------------------------------------------------------------------- formatting
def percent(x: float | None) -> str:
    """A rate as a percentage with sensible digits (``"7.5 %"``, ``"0.012 %"``)."""
    if x is None or not math.isfinite(x):
        return "–"
    value = 100 * x
    if value == 0 or value >= 1 or value <= -1:
        return f"{value:.1f} %".replace(".0 %", " %")
    return f"{value:.2g} %"


def figure_label(text: Any) -> str:
    """Text for a plotly label: plotly reads some tags (``<b>``, ``<a href>``) in labels, so
    ``&``, ``<`` and ``>`` are written as entities, which it shows as the characters."""
    return html.escape(str(text), quote=False)


def _interval(f: Finding) -> str:
    if f.ci_low is None or f.ci_high is None:
        return ""
    return f"{percent(f.confidence)} CI {percent(f.ci_low)} – {percent(f.ci_high)}"


# ----------------------------------------------------------------------------- secrets
_SECRET_PARTS = {"key", "apikey", "token", "secret", "authorization", "auth", "password",
                 "passwd", "bearer", "credential", "credentials", "cookie", "signature", "sig"}
_SECRET_VALUE = re.compile(r"^\s*(?:bearer\s+\S+|basic\s+\S+|sk-[A-Za-z0-9_-]{8,}|xox[abp]-\S+|"
                           r"gh[pousr]_\S{8,}|hf_[A-Za-z0-9]{8,}|AIza[A-Za-z0-9_-]{16,})", re.IGNORECASE)
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_secret_name(name: str) -> bool:
    """True for a setting named like a credential (``api_key``, ``x-api-key``, ``Authorization``,
    ``access_token``...), whose value a report never shows; ``max_tokens`` is not one."""
    parts = [p.lower() for p in _NAME_PARTS.findall(str(name))]
    return any(p in _SECRET_PARTS for p in parts) or "apikey" in str(name).lower().replace("_", "")


def _public_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("(hidden)" if is_secret_name(k) else _public_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_public_value(v) for v in value]
    if isinstance(value, str):
        if _SECRET_VALUE.match(value):
            return "(hidden)"
        if "://" in value:  # a URL: no credentials, no secret-looking query values
            parts = urlsplit(value)
            host = parts.netloc.rsplit("@", 1)[-1]
            query = urlencode([(k, "(hidden)" if is_secret_name(k) or _SECRET_VALUE.match(v)
                                else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
                              safe="()")
            return urlunsplit((parts.scheme, host, parts.path, query, ""))
    return value


def public_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings fit to print: values of credential-like names hidden, secret-looking values and
    credentials in URLs removed."""
    return _public_value(dict(settings))  # type: ignore[no-any-return]


def _short(value: Any, limit: int = 240) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------- summary
def _is_shown_rate(f: Finding) -> bool:
    if not f.metric.startswith("rate:") or f.group is None:
        return False
    bad = judge_bad_labels(f.metric[5:])
    return bad is None or f.group in bad


def summary_section(data: RunData, findings: list[Finding], statuses: Statuses) -> ReportSection:
    """One card per behaviour (target × probe × bad label; every label of a judge that declares
    none), with its rate, interval, n and the gate's verdict if one was given."""
    blocks: list[Any] = [Paragraph(
        "One card per behaviour: the share of judged replies with that label, with its interval "
        "(clustered by prompt when a probe has several). Errors and replies without a verdict are "
        "left out of n and counted beside it, never as good replies.")]
    cards = []
    for f in findings:
        status = statuses.get((f.target, f.probe, f.metric, f.group))
        judge = f.metric[5:] if f.metric.startswith("rate:") else ""
        if f.metric.startswith("rate:") and f.n == 0:
            cards.append(Card(f"{judge} · {f.probe} · {f.target}", "no verdict",
                              f"the judge gave no usable verdict on {f.missing} samples", status))
        elif _is_shown_rate(f):
            parts = [_interval(f), f"n = {f.n}"]
            if f.errors:
                parts.append(f"{f.errors} errors")
            if f.missing:
                parts.append(f"{f.missing} without verdict")
            if f.estimate == 0 and f.detail.get("upper_bound_statement"):
                parts = [f"none in {f.n}: {f.detail['upper_bound_statement']}"] + parts[1:]
            parts.append(f"judge {judge}")
            cards.append(Card(f"{f.group} · {f.probe} · {f.target}", percent(f.estimate),
                              " · ".join(p for p in parts if p), status))
        elif f.metric == "error_rate" and (f.estimate or 0) > 0:
            cards.append(Card(f"errors · {f.probe} · {f.target}", percent(f.estimate),
                              f"{_interval(f)} · n = {f.n}: failed samples, left out of every rate",
                              status))
        elif status is not None:  # a gate rule on a probe's own finding: show it too
            cards.append(Card(f"{f.metric}{' · ' + f.group if f.group else ''} · {f.probe} · "
                              f"{f.target}", _estimate_text(f), f"{_interval(f)} · n = {f.n}",
                              status))
    if not cards:
        blocks.append(Paragraph("No judged behaviour in this run (no judge gave a verdict)."))
    return ReportSection("Summary", "summary", tuple(blocks + cards), order=0)


def _estimate_text(f: Finding) -> str:
    if f.estimate is None:
        return "–"
    if f.is_share:
        return percent(f.estimate)
    return f"{f.estimate:.3g}"


# ----------------------------------------------------------------------------- per prompt
def _bad_behaviours(data: RunData) -> list[BehaviourCounts]:
    return [b for b in behaviour_counts(data) if b.metric.startswith("rate:") and b.bad]


def per_prompt_section(data: RunData, behaviours: list[BehaviourCounts]) -> ReportSection | None:
    """Per probe and bad label: each prompt's rate with its exact interval, as a dot plot."""
    from levelhead.stats import tail_by_prompt

    grouped: dict[tuple[str, str, str], list[BehaviourCounts]] = defaultdict(list)
    for b in behaviours:
        grouped[b.key].append(b)
    order = {t: i for i, t in enumerate(data.targets())}
    blocks: list[Any] = []
    for (probe, metric, label), per_target in sorted(grouped.items()):
        per_target.sort(key=lambda b: order.get(b.target, len(order)))
        traces, rows = [], []
        for b in per_target:
            tails = tail_by_prompt(b.k, b.n, prompt_ids=b.prompt_ids)
            rates = [t.k / t.n for t in tails]
            lows = [t.rate_interval.low for t in tails]
            highs = [t.rate_interval.high for t in tails]
            traces.append({
                "type": "scatter", "mode": "markers", "name": figure_label(b.target),
                "x": [figure_label(p) for p in b.prompt_ids], "y": rates,
                "error_y": {"type": "data", "symmetric": False,
                            "array": [h - r for h, r in zip(highs, rates, strict=True)],
                            "arrayminus": [r - lo for lo, r in zip(lows, rates, strict=True)]},
                "hovertemplate": "%{x}: %{y:.2%}"})
            rows += [(b.target, t.prompt_id, t.k, t.n, percent(r), percent(t.rate_interval.low),
                      percent(t.rate_interval.high)) for t, r in zip(tails, rates, strict=True)]
        judge = metric[5:]
        figure = {"data": traces, "layout": {
            "title": {"text": figure_label(f"{label} by prompt · {probe} ({judge})")},
            "xaxis": {"type": "category", "title": {"text": "prompt"}, "automargin": True},
            "yaxis": {"title": {"text": f"share {figure_label(label)}"}, "tickformat": ".0%",
                      "rangemode": "tozero"},
            "height": 380, "showlegend": True, "legend": {"orientation": "h", "y": -0.3}}}
        blocks.append(Chart(figure, f"{label} ({judge}) per prompt of {probe}: each dot is one "
                                    "prompt's share, with its exact 95 % interval.",
                            Table(("target", "prompt", label, "judged", "rate", "low", "high"),
                                  tuple(rows))))
    if not blocks:
        return None
    return ReportSection("Per-prompt rates", "per-prompt", (Paragraph(
        "A probe's rate is an average over its prompts; here is each prompt on its own. A prompt "
        "far above the others is where the behaviour lives."), *blocks), order=150)


# ----------------------------------------------------------------------------- the tail
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
    blocks.append(Table(("prompt", b.group, "judged", "rate ≤ (95 %)", "P(≥1 in N)", "95 % CI",
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
        if s.status == "ok":
            judged[(s.probe, s.target)] += 1
    bounds: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if _is_shown_rate(f) and f.n and judge_bad_labels(f.metric[5:]):
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


# ----------------------------------------------------------------------------- methods
def _agreements(data: RunData) -> list[tuple[str, str, Any]]:
    """Cohen's kappa for each two judges that share a label set, over the replies both judged."""
    from levelhead.stats import cohen_kappa

    label_sets: dict[str, frozenset[str]] = {}
    for judge, verdicts in data.verdicts.items():
        # Fixed on the judge's class, else in its settings (a rubric's labels), else as seen.
        configured = data.judge_args.get(judge, {}).get("labels")
        declared = (judge_labels(judge) or tuple(configured if isinstance(configured, list) else ())
                    or tuple({v for v in verdicts.values() if v != JUDGE_ERROR}))
        if len(set(declared)) >= 2:
            label_sets[judge] = frozenset(declared)
    out = []
    judges = sorted(label_sets)
    for i, a in enumerate(judges):
        for b in judges[i + 1:]:
            if label_sets[a] != label_sets[b]:
                continue
            va, vb = data.verdicts[a], data.verdicts[b]
            common = [k for k in va if k in vb]
            try:
                out.append((a, b, cohen_kappa([va[k] for k in common], [vb[k] for k in common])))
            except ValueError:
                continue  # no reply with a verdict from both
    return out


def methods_section(data: RunData, agreements: list[tuple[str, str, Any]]) -> ReportSection:
    """Targets and their settings (no secrets), N, seed, probes, judges with versions."""
    run = data.spec.get("run", {}) if isinstance(data.spec.get("run"), dict) else {}
    statuses: dict[str, int] = defaultdict(int)
    for s in data.samples:
        statuses[s.status] += 1
    blocks: list[Any] = [Paragraph(
        f"Run {data.run_name} (id {data.run_id}), created {data.created_at or 'at an unknown time'}; "
        f"seed {data.seed if data.seed is not None else run.get('seed', 'not recorded')}; "
        f"N = {run.get('samples', '?')} samples per prompt and target; {len(data.samples)} samples "
        f"stored ({', '.join(f'{n} {k}' for k, n in sorted(statuses.items())) or 'none'}).")]
    for t in data.spec.get("targets", []):
        if not isinstance(t, dict):
            continue
        settings = public_settings({k: v for k, v in t.items() if k != "name"})
        blocks.append(Table(("setting", "value"),
                            tuple((k, _short(v)) for k, v in settings.items() if v is not None),
                            caption=f"target {t.get('name', '?')}"))
    prompts: dict[str, set[str]] = defaultdict(set)
    for s in data.samples:
        prompts[s.probe].add(s.prompt_id)
    probe_rows = []
    for probe_id, config in data.probe_configs.items():
        settings = public_settings({k: v for k, v in config.items()
                                    if k not in ("name", "id", "judges", "prompts") and v is not None})
        probe_rows.append((probe_id, data.probe_names.get(probe_id, probe_id), len(prompts[probe_id]),
                           _short(settings) if settings else ""))
    blocks.append(Table(("probe", "kind", "prompts", "settings"), tuple(probe_rows), caption="probes"))
    judge_rows = []
    for identity, (name, version) in sorted(data.judge_versions.items()):
        verdicts = data.verdicts.get(identity, {})
        pairs = data.pair_verdicts.get(identity, [])
        errors = sum(1 for v in verdicts.values() if v == JUDGE_ERROR) + sum(
            1 for p in pairs if p[2] == JUDGE_ERROR)
        bad = judge_bad_labels(identity)
        judge_rows.append((identity, name, version, len(verdicts) + len(pairs), errors,
                           ", ".join(bad) if bad else "–",
                           _short(public_settings(data.judge_args.get(identity, {})))))
    blocks.append(Table(("judge", "kind", "version", "verdicts", "judge errors", "bad labels",
                         "settings"), tuple(judge_rows), caption="judges"))
    if agreements:
        blocks.append(Table(("judge A", "judge B", "replies", "agreement", "Cohen's κ"),
                            tuple((a, b, r.n, percent(r.observed), f"{r.kappa:.2f}")
                                  for a, b, r in agreements),
                            caption="agreement between judges that share a label set"))
    blocks.append(Paragraph(
        "Statistics: a rate is the share of judged replies (errors and missing verdicts left "
        "out and counted); with several prompts its interval is clustered by prompt (Wilson with "
        "an effective n, t with prompts − 1 degrees of freedom); per-prompt intervals are exact "
        "(Clopper-Pearson); \"how rare could it still be\" is the exact one-sided 95 % upper bound. "
        "See docs/statistics.md."))
    return ReportSection("Methods", "methods", tuple(blocks), order=800)


# ----------------------------------------------------------------------------- limitations
def limitations_section(data: RunData, findings: list[Finding], behaviours: list[BehaviourCounts],
                        agreements: list[tuple[str, str, Any]]) -> ReportSection:
    """What this run cannot tell, written from the run itself."""
    notes: list[str] = []
    if data.incomplete:
        notes.append(f"Incomplete run: {data.incomplete}. Prompts sampled less often, or not at "
                     "all, weigh less or nothing in every rate; a rate that depends on the prompt "
                     "can be biased until the run is finished.")
    per_prompt: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in data.samples:
        per_prompt[(s.probe, s.target)][s.prompt_id] += s.status == "ok"
    for (probe, target), counts in sorted(per_prompt.items()):
        smallest = min(counts.values())
        if len(counts) < 2:
            notes.append(f"{probe} · {target}: one prompt only, so nothing here says how the "
                         "behaviour varies between prompts or generalises beyond this one.")
        if max(counts.values()) == 0:
            notes.append(f"No good sample: every sample of {probe} · {target} failed, so this "
                         "run says nothing about its behaviour there.")
        elif smallest < SMALL_N:
            notes.append(f"Small N: {probe} · {target} has as few as {smallest} good samples on a "
                         f"prompt (fewer than {SMALL_N}); per-prompt rates are rough, and a behaviour "
                         f"rarer than about 1 in {max(smallest, 1)} may not have shown at all.")
    for f in findings:
        if f.metric == "error_rate" and f.n and (f.estimate or 0) > 0:
            notes.append(f"Errors: {percent(f.estimate)} of samples of {f.probe} · {f.target} "
                         f"failed ({round((f.estimate or 0) * f.n)} of {f.n}); they are left out of "
                         "every rate, and a failure that depends on the prompt can bias them."
                         + (" That is a high share." if (f.estimate or 0) > _HIGH_SHARE else ""))
        elif f.metric.startswith("rate:") and f.n == 0:
            notes.append(f"{f.metric[5:]} gave no usable verdict on {f.probe} · {f.target} "
                         f"({f.missing} samples): {f.detail.get('note', 'nothing to report')}.")
    seen_missing: set[tuple[str, str, str]] = set()
    for f in findings:
        key = (f.metric, f.probe, f.target)
        if f.metric.startswith("rate:") and f.n and f.missing and key not in seen_missing:
            seen_missing.add(key)
            share = f.missing / (f.n + f.missing)
            notes.append(f"Missing verdicts: {f.metric[5:]} has no verdict on {f.missing} of "
                         f"{f.n + f.missing} good samples of {f.probe} · {f.target} "
                         f"({percent(share)}); they are counted, not treated as good."
                         + (" That is a high share." if share > _HIGH_SHARE else ""))
    for judge, verdicts in sorted(data.verdicts.items()):
        errors = sum(1 for v in verdicts.values() if v == JUDGE_ERROR)
        if errors:
            notes.append(f"Judge {judge} returned judge_error on {errors} of {len(verdicts)} "
                         "replies (re-run `levelhead judge` to try them again).")
    for a, b, r in agreements:
        if math.isnan(r.kappa) or r.kappa < LOW_KAPPA:
            kappa = "undefined" if math.isnan(r.kappa) else f"{r.kappa:.2f}"
            notes.append(f"Judges disagree: {a} and {b} share a label set but agree on only "
                         f"{percent(r.observed)} of {r.n} replies (Cohen's κ = {kappa}); the rates "
                         "depend on which judge you believe.")
    for b in behaviours:
        if b.total_k == 0 and b.total_n:
            notes.append(f"No {b.group} reply ({b.metric[5:]}) on {b.probe} · {b.target} in "
                         f"{b.total_n}: reported as an upper bound only, never as \"0 %\".")
    for t in data.spec.get("targets", []):
        if isinstance(t, dict) and t.get("kind") == "scripted":
            notes.append(f"Target {t.get('name')} is scripted (a test double with planted replies), "
                         "not a model.")
    if not notes:
        notes.append("Nothing in this run stands out: enough samples per prompt, no errors, every "
                     "reply judged. The judges' own accuracy still bounds what the rates mean.")
    return ReportSection("Known limitations", "limitations", tuple(Paragraph(n) for n in notes),
                         order=900)


# ----------------------------------------------------------------------------- probes
def probe_sections(data: RunData, findings: list[Finding]) -> list[ReportSection]:
    """Sections each probe adds with ``report_sections(data, findings, probe_id)`` on its class."""
    out: list[ReportSection] = []
    for probe_id in sorted({s.probe for s in data.samples}):
        name = data.probe_names.get(probe_id, probe_id)
        if name not in probe_registry:
            continue
        own = getattr(probe_registry.get(name).factory, "report_sections", None)
        if own is not None:
            out += own(data, findings, probe_id)
    return out


def report_sections(data: RunData, findings: list[Finding], *, statuses: Statuses,
                    conversations: Conversations) -> list[ReportSection]:
    """Every generic section of a run, and each probe's own."""
    behaviours = _bad_behaviours(data)
    agreements = _agreements(data)
    out = [summary_section(data, findings, statuses)]
    out += probe_sections(data, findings)
    from levelhead.report._conditions import condition_sections

    out += condition_sections(data, findings)
    per_prompt = per_prompt_section(data, behaviours)
    if per_prompt is not None:
        out.append(per_prompt)
    out.append(tail_section(data, findings, behaviours, conversations))
    out.append(methods_section(data, agreements))
    out.append(limitations_section(data, findings, behaviours, agreements))
    return out
