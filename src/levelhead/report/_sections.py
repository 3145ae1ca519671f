"""The report's generic sections, built from a run's findings and data: a summary card per
behaviour, per-prompt rates, the tail (:mod:`levelhead.report._tail`), methods and known
limitations. Each probe adds its own sections through
its ``report_sections(data, findings, probe_id, lang)`` hook, in the page's language.

Every string here is plain text: the renderer escapes it. Labels that go into a plotly figure
are html-escaped here as well, since plotly reads a few tags in its labels.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from levelhead.analysis import (
    Assessment,
    BehaviourCounts,
    Card,
    Chart,
    Language,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    figure_label,
    judge_bad_labels,
    judge_labels,
    pct,
    say,
    say_note,
)
from levelhead.errors import looks_like_secret
from levelhead.judges import JUDGE_ERROR
from levelhead.probes import registry as probe_registry
from levelhead.records import Finding
from levelhead.report._attention import attention_sections
from levelhead.report._behaviours import behaviour_counts
from levelhead.report._conditions import condition_sections
from levelhead.report._corrected import corrected_card, corrected_limitations, corrected_section
from levelhead.report._spread import spread_section
from levelhead.report._tail import Conversations, is_shown_rate, tail_section

__all__ = ["is_secret_name", "public_settings", "report_sections"]

SMALL_N = 30  # judged samples per prompt below which rates per prompt are called rough
LOW_KAPPA = 0.6
_HIGH_SHARE = 0.05  # error or missing-verdict share worth a limitation

Statuses = Mapping[tuple[str, str, str, str | None], str]


# ----------------------------------------------------------------------------- formatting
def _interval(f: Finding, lang: Language = "en") -> str:
    if f.ci_low is None or f.ci_high is None:
        return ""
    return say(lang, "say.ci", confidence=pct(f.confidence, lang), low=pct(f.ci_low, lang),
               high=pct(f.ci_high, lang))


# ----------------------------------------------------------------------------- secrets
_SECRET_PARTS = {"key", "apikey", "token", "secret", "authorization", "auth", "password",
                 "passwd", "bearer", "credential", "credentials", "cookie", "signature", "sig"}
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
        if looks_like_secret(value):
            return "(hidden)"
        if "://" in value:  # a URL: no credentials, no secret-looking query values
            parts = urlsplit(value)
            host = parts.netloc.rsplit("@", 1)[-1]
            query = urlencode([(k, "(hidden)" if is_secret_name(k) or looks_like_secret(v)
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
def _placeholder_name(data: RunData, f: Finding) -> str | None:
    """The name a judge's label stands for, where the label is a tag of the probe's prompts (a
    forced choice's ``x`` and ``y`` name its options): that name when every prompt of the probe
    gives the same one, None when they differ (the probe's section names them item by item);
    the label itself when it stands for nothing."""
    label = str(f.group)
    names = {s.tags[label] for s in data.for_probe(f.probe) if s.target == f.target and label in s.tags}
    if not names:
        return label
    return names.pop() if len(names) == 1 else None


def summary_section(data: RunData, findings: list[Finding], statuses: Statuses,
                    lang: Language = "en", ranked: Sequence[Assessment] = ()) -> ReportSection:
    """One card per behaviour (target × probe × bad label; every label of a judge that declares
    none), with its rate, interval, n and the gate's verdict if one was given. Cards follow
    ``ranked`` (the order of "What needs attention": flagged first, furthest first), the rest
    in the findings' order; a label that stands for a name (a forced choice's ``x``) is shown
    by that name, or left to the probe's section when it names a different option per item."""
    blocks: list[Any] = [Paragraph(say(lang, "summary.intro"))]
    rank = {id(a.finding): i for i, a in enumerate(ranked)}
    ordered = sorted(enumerate(findings), key=lambda p: (rank.get(id(p[1]), len(rank)), p[0]))
    cards = []
    for _, f in ordered:
        status = statuses.get((f.target, f.probe, f.metric, f.group))
        judge = f.metric[5:] if f.metric.startswith("rate:") else ""
        if f.metric.startswith("rate:") and f.n == 0:
            cards.append(Card(f"{judge} · {f.probe} · {f.target}", say(lang, "summary.no_verdict"),
                              say(lang, "summary.no_verdict_detail", n=f.missing), status))
        elif is_shown_rate(f):
            name = _placeholder_name(data, f)
            if name is None:
                continue
            parts = [_interval(f, lang), say(lang, "attention.n", n=f.n)]
            if f.errors:
                parts.append(say(lang, "summary.errors", n=f.errors))
            if f.missing:
                parts.append(say(lang, "summary.missing", n=f.missing))
            if f.estimate == 0 and f.detail.get("upper_bound_statement"):
                statement = (f.detail["upper_bound_statement"] if lang == "en" else say(
                    lang, "summary.bound", label=name, upper=pct(f.detail.get("upper_bound"), lang)))
                parts = [say(lang, "summary.none", n=f.n, statement=statement)] + parts[1:]
            parts.append(say(lang, "summary.judge", judge=judge))
            corrected, note = corrected_card(f, lang)
            cards.append(Card(f"{name} · {f.probe} · {f.target}", pct(f.estimate, lang),
                              " · ".join(p for p in parts if p), status, corrected, note))
        elif f.metric == "error_rate" and (f.estimate or 0) > 0:
            cards.append(Card(say(lang, "summary.errors_title", probe=f.probe, target=f.target),
                              pct(f.estimate, lang),
                              say(lang, "summary.errors_detail", interval=_interval(f, lang), n=f.n),
                              status))
        elif status is not None:  # a gate rule on a probe's own finding: show it too
            cards.append(Card(f"{f.metric}{' · ' + f.group if f.group else ''} · {f.probe} · "
                              f"{f.target}", _estimate_text(f, lang),
                              f"{_interval(f, lang)} · {say(lang, 'attention.n', n=f.n)}", status))
    if not cards:
        blocks.append(Paragraph(say(lang, "summary.empty")))
    return ReportSection(say(lang, "summary.title"), "summary", tuple(blocks + cards), order=0)


def _estimate_text(f: Finding, lang: Language = "en") -> str:
    if f.estimate is None:
        return "–"
    if f.is_share:
        return pct(f.estimate, lang)
    return f"{f.estimate:.3g}"


# ----------------------------------------------------------------------------- per prompt
def _bad_behaviours(data: RunData) -> list[BehaviourCounts]:
    return [b for b in behaviour_counts(data) if b.metric.startswith("rate:") and b.bad]


def per_prompt_section(data: RunData, behaviours: list[BehaviourCounts],
                       lang: Language = "en") -> ReportSection | None:
    """Per probe and bad label: each prompt's rate with its exact interval, as a dot plot."""
    from levelhead.stats import tail_by_prompt

    grouped: dict[tuple[str, str, str | None], list[BehaviourCounts]] = defaultdict(list)
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
            rows += [(b.target, t.prompt_id, t.k, t.n, pct(r, lang), pct(t.rate_interval.low, lang),
                      pct(t.rate_interval.high, lang)) for t, r in zip(tails, rates, strict=True)]
        judge = metric[5:]
        figure = {"data": traces, "layout": {
            "title": {"text": figure_label(say(lang, "per_prompt.figure", label=label, probe=probe,
                                                judge=judge))},
            "xaxis": {"type": "category", "title": {"text": figure_label(say(lang, "word.prompt"))},
                      "automargin": True},
            "yaxis": {"title": {"text": figure_label(say(lang, "per_prompt.axis", label=label))},
                      "tickformat": ".0%",
                      "rangemode": "tozero"},
            "height": 380, "showlegend": True, "legend": {"orientation": "h", "y": -0.3}}}
        blocks.append(Chart(figure, say(lang, "per_prompt.caption", label=label, judge=judge,
                                        probe=probe),
                            Table((say(lang, "word.target"), say(lang, "word.prompt"), str(label),
                                   say(lang, "word.judged"), say(lang, "word.rate"),
                                   say(lang, "word.low"), say(lang, "word.high")),
                                  tuple(rows))))
    if not blocks:
        return None
    return ReportSection(say(lang, "per_prompt.title"), "per-prompt",
                         (Paragraph(say(lang, "per_prompt.intro")), *blocks), order=150)


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


def methods_section(data: RunData, agreements: list[tuple[str, str, Any]],
                    findings: list[Finding], lang: Language = "en") -> ReportSection:
    """Targets and their settings (no secrets), N, seed, probes, judges with versions, and the
    calibrations behind any corrected rate."""
    run = data.spec.get("run", {}) if isinstance(data.spec.get("run"), dict) else {}
    statuses: dict[str, int] = defaultdict(int)
    for s in data.samples:
        statuses[s.status] += 1
    seed = data.seed if data.seed is not None else run.get("seed", say(lang, "methods.no_seed"))
    blocks: list[Any] = [Paragraph(say(
        lang, "methods.run", run=data.run_name, id=data.run_id,
        created=data.created_at or say(lang, "methods.unknown_time"), seed=seed,
        samples=run.get("samples", "?"), stored=len(data.samples),
        statuses=", ".join(f"{n} {k}" for k, n in sorted(statuses.items())) or say(lang, "word.none")))]
    for t in data.spec.get("targets", []):
        if not isinstance(t, dict):
            continue
        settings = public_settings({k: v for k, v in t.items() if k != "name"})
        blocks.append(Table((say(lang, "word.setting"), say(lang, "word.value")),
                            tuple((k, _short(v)) for k, v in settings.items() if v is not None),
                            caption=say(lang, "methods.target", name=t.get("name", "?"))))
    prompts: dict[str, set[str]] = defaultdict(set)
    for s in data.samples:
        prompts[s.probe].add(s.prompt_id)
    probe_rows = []
    for probe_id, config in data.probe_configs.items():
        settings = public_settings({k: v for k, v in config.items()
                                    if k not in ("name", "id", "judges", "prompts") and v is not None})
        probe_rows.append((probe_id, data.probe_names.get(probe_id, probe_id), len(prompts[probe_id]),
                           _short(settings) if settings else ""))
    blocks.append(Table((say(lang, "word.probe"), say(lang, "word.kind"), say(lang, "word.prompts"),
                         say(lang, "word.settings")), tuple(probe_rows),
                        caption=say(lang, "methods.probes")))
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
    blocks.append(Table(tuple(say(lang, f"methods.judge_column.{i}") for i in range(7)),
                        tuple(judge_rows), caption=say(lang, "methods.judges")))
    if agreements:
        blocks.append(Table(tuple(say(lang, f"methods.agreement_column.{i}") for i in range(5)),
                            tuple((a, b, r.n, pct(r.observed, lang), f"{r.kappa:.2f}")
                                  for a, b, r in agreements),
                            caption=say(lang, "methods.agreement")))
    blocks.append(Paragraph(say(lang, "methods.statistics")))
    calibrated = sorted({(f.metric.removeprefix("rate:"), f.corrected.calibration,
                          f.corrected.calibrated_at)
                         for f in findings if f.metric.startswith("rate:") and f.corrected})
    if calibrated:
        blocks.append(Table(tuple(say(lang, f"methods.calibration_column.{i}") for i in range(3)),
                            tuple(calibrated), caption=say(lang, "methods.calibrations")))
    return ReportSection(say(lang, "methods.title"), "methods", tuple(blocks), order=800)


# ----------------------------------------------------------------------------- limitations
def limitations_section(data: RunData, findings: list[Finding], behaviours: list[BehaviourCounts],
                        agreements: list[tuple[str, str, Any]], lang: Language = "en") -> ReportSection:
    """What this run cannot tell, written from the run itself."""
    notes: list[str] = []
    if data.incomplete:
        notes.append(say(lang, "limits.incomplete", what=data.incomplete))
    per_prompt: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in data.samples:
        per_prompt[(s.probe, s.target)][s.prompt_id] += s.ok
    for (probe, target), counts in sorted(per_prompt.items()):
        smallest = min(counts.values())
        if len(counts) < 2:
            notes.append(say(lang, "limits.one_prompt", probe=probe, target=target))
        if max(counts.values()) == 0:
            notes.append(say(lang, "limits.no_good_sample", probe=probe, target=target))
        elif smallest < SMALL_N:
            notes.append(say(lang, "limits.small_n", probe=probe, target=target, smallest=smallest,
                             small=SMALL_N, rarer=max(smallest, 1)))
    high = say(lang, "limits.high_share")
    for f in findings:
        if f.metric == "error_rate" and f.n and (f.estimate or 0) > 0:
            notes.append(say(lang, "limits.errors", share=pct(f.estimate, lang), probe=f.probe,
                             target=f.target, k=round((f.estimate or 0) * f.n), n=f.n)
                         + (high if (f.estimate or 0) > _HIGH_SHARE else ""))
        elif f.metric.startswith("rate:") and f.n == 0:
            notes.append(say(lang, "limits.no_verdict", judge=f.metric[5:], probe=f.probe,
                             target=f.target, missing=f.missing,
                             note=say_note(lang, str(f.detail.get("note",
                                                                  say(lang, "limits.nothing"))))))
    seen_missing: set[tuple[str, str, str]] = set()
    for f in findings:
        key = (f.metric, f.probe, f.target)
        if f.metric.startswith("rate:") and f.n and f.missing and key not in seen_missing:
            seen_missing.add(key)
            share = f.missing / (f.n + f.missing)
            notes.append(say(lang, "limits.missing", judge=f.metric[5:], missing=f.missing,
                             total=f.n + f.missing, probe=f.probe, target=f.target,
                             share=pct(share, lang))
                         + (high if share > _HIGH_SHARE else ""))
    for judge, verdicts in sorted(data.verdicts.items()):
        errors = sum(1 for v in verdicts.values() if v == JUDGE_ERROR)
        if errors:
            notes.append(say(lang, "limits.judge_errors", judge=judge, errors=errors,
                             total=len(verdicts)))
    for judge_a, judge_b, r in agreements:
        if math.isnan(r.kappa) or r.kappa < LOW_KAPPA:
            kappa = say(lang, "limits.undefined") if math.isnan(r.kappa) else f"{r.kappa:.2f}"
            notes.append(say(lang, "limits.disagree", a=judge_a, b=judge_b,
                             agree=pct(r.observed, lang), n=r.n, kappa=kappa))
    for b in behaviours:
        if b.total_k == 0 and b.total_n:
            notes.append(say(lang, "limits.never_seen", label=b.group, judge=b.metric[5:],
                             probe=b.probe, target=b.target, n=b.total_n))
    notes += corrected_limitations(findings, lang)
    for t in data.spec.get("targets", []):
        if isinstance(t, dict) and t.get("kind") == "scripted":
            notes.append(say(lang, "limits.scripted", name=t.get("name")))
    if not notes:
        notes.append(say(lang, "limits.nothing_stands_out"))
    return ReportSection(say(lang, "limits.title"), "limitations", tuple(Paragraph(n) for n in notes),
                         order=900)


# ----------------------------------------------------------------------------- probes
def probe_sections(data: RunData, findings: list[Finding],
                   lang: Language = "en") -> list[ReportSection]:
    """Sections each probe adds with its ``report_sections(data, findings, probe_id, lang)``
    hook, in ``lang``."""
    out: list[ReportSection] = []
    for probe_id in sorted({s.probe for s in data.samples}):
        name = data.probe_names.get(probe_id, probe_id)
        if name in probe_registry:
            out += probe_registry.get(name).factory.report_sections(data, findings, probe_id,
                                                                    lang=lang)
    return out


def report_sections(data: RunData, findings: list[Finding], *, statuses: Statuses,
                    conversations: Conversations,
                    thresholds: Mapping[tuple[str, str, str, str | None], float] | None = None,
                    lang: Language = "en") -> list[ReportSection]:
    """Every generic section of a run, and each probe's own: first what needs attention and
    what looks fine, then every behaviour's card, in that order."""
    behaviours = _bad_behaviours(data)
    agreements = _agreements(data)
    out, ranked = attention_sections(findings, statuses=statuses, thresholds=thresholds, lang=lang)
    out.append(summary_section(data, findings, statuses, lang, ranked))
    corrected = corrected_section(findings, lang)
    if corrected is not None:
        out.append(corrected)
    spread = spread_section(data, lang, conversations)
    if spread is not None:
        out.append(spread)
    out += probe_sections(data, findings, lang)
    out += condition_sections(data, findings, lang)
    per_prompt = per_prompt_section(data, behaviours, lang)
    if per_prompt is not None:
        out.append(per_prompt)
    out.append(tail_section(data, findings, behaviours, conversations, lang))
    out.append(methods_section(data, agreements, findings, lang))
    out.append(limitations_section(data, findings, behaviours, agreements, lang))
    return out
