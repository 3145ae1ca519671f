"""The report's generic sections, built from a run's findings and data: a summary card per
behaviour, per-prompt rates, the tail (:mod:`levelhead.report._tail`), methods and known
limitations. Each probe adds its own sections through
its ``report_sections(data, findings, probe_id)`` hook.

Every string here is plain text: the renderer escapes it. Labels that go into a plotly figure
are html-escaped here as well, since plotly reads a few tags in its labels.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from levelhead.analysis import (
    BehaviourCounts,
    Card,
    Chart,
    Paragraph,
    ReportSection,
    RunData,
    Table,
    figure_label,
    judge_bad_labels,
    judge_labels,
    percent,
)
from levelhead.errors import looks_like_secret
from levelhead.judges import JUDGE_ERROR
from levelhead.probes import registry as probe_registry
from levelhead.records import Finding
from levelhead.report._behaviours import behaviour_counts
from levelhead.report._conditions import condition_sections
from levelhead.report._corrected import corrected_card, corrected_limitations, corrected_section
from levelhead.report._tail import Conversations, is_shown_rate, tail_section

__all__ = ["is_secret_name", "public_settings", "report_sections"]

SMALL_N = 30  # judged samples per prompt below which rates per prompt are called rough
LOW_KAPPA = 0.6
_HIGH_SHARE = 0.05  # error or missing-verdict share worth a limitation

Statuses = Mapping[tuple[str, str, str, str | None], str]


# ----------------------------------------------------------------------------- formatting
def _interval(f: Finding) -> str:
    if f.ci_low is None or f.ci_high is None:
        return ""
    return f"{percent(f.confidence)} CI {percent(f.ci_low)} – {percent(f.ci_high)}"


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
        elif is_shown_rate(f):
            parts = [_interval(f), f"n = {f.n}"]
            if f.errors:
                parts.append(f"{f.errors} errors")
            if f.missing:
                parts.append(f"{f.missing} without verdict")
            if f.estimate == 0 and f.detail.get("upper_bound_statement"):
                parts = [f"none in {f.n}: {f.detail['upper_bound_statement']}"] + parts[1:]
            parts.append(f"judge {judge}")
            corrected, note = corrected_card(f)
            cards.append(Card(f"{f.group} · {f.probe} · {f.target}", percent(f.estimate),
                              " · ".join(p for p in parts if p), status, corrected, note))
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
                            Table(("target", "prompt", str(label), "judged", "rate", "low", "high"),
                                  tuple(rows))))
    if not blocks:
        return None
    return ReportSection("Per-prompt rates", "per-prompt", (Paragraph(
        "A probe's rate is an average over its prompts; here is each prompt on its own. A prompt "
        "far above the others is where the behaviour lives."), *blocks), order=150)


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
                    findings: list[Finding]) -> ReportSection:
    """Targets and their settings (no secrets), N, seed, probes, judges with versions, and the
    calibrations behind any corrected rate."""
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
    calibrated = sorted({(f.metric.removeprefix("rate:"), f.corrected.calibration,
                          f.corrected.calibrated_at)
                         for f in findings if f.metric.startswith("rate:") and f.corrected})
    if calibrated:
        blocks.append(Table(("judge", "measured on", "measured at"), tuple(calibrated),
                            caption="judge calibrations: rates of these judges are also shown "
                                    "corrected for their measured errors (Rogan-Gladen, Monte "
                                    "Carlo interval over sampling and calibration)"))
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
        per_prompt[(s.probe, s.target)][s.prompt_id] += s.ok
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
    for judge_a, judge_b, r in agreements:
        if math.isnan(r.kappa) or r.kappa < LOW_KAPPA:
            kappa = "undefined" if math.isnan(r.kappa) else f"{r.kappa:.2f}"
            notes.append(f"Judges disagree: {judge_a} and {judge_b} share a label set but agree on only "
                         f"{percent(r.observed)} of {r.n} replies (Cohen's κ = {kappa}); the rates "
                         "depend on which judge you believe.")
    for b in behaviours:
        if b.total_k == 0 and b.total_n:
            notes.append(f"No {b.group} reply ({b.metric[5:]}) on {b.probe} · {b.target} in "
                         f"{b.total_n}: reported as an upper bound only, never as \"0 %\".")
    notes += corrected_limitations(findings)
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
    """Sections each probe adds with its ``report_sections(data, findings, probe_id)`` hook."""
    out: list[ReportSection] = []
    for probe_id in sorted({s.probe for s in data.samples}):
        name = data.probe_names.get(probe_id, probe_id)
        if name in probe_registry:
            out += probe_registry.get(name).factory.report_sections(data, findings, probe_id)
    return out


def report_sections(data: RunData, findings: list[Finding], *, statuses: Statuses,
                    conversations: Conversations) -> list[ReportSection]:
    """Every generic section of a run, and each probe's own."""
    behaviours = _bad_behaviours(data)
    agreements = _agreements(data)
    out = [summary_section(data, findings, statuses)]
    corrected = corrected_section(findings)
    if corrected is not None:
        out.append(corrected)
    out += probe_sections(data, findings)
    out += condition_sections(data, findings)
    per_prompt = per_prompt_section(data, behaviours)
    if per_prompt is not None:
        out.append(per_prompt)
    out.append(tail_section(data, findings, behaviours, conversations))
    out.append(methods_section(data, agreements, findings))
    out.append(limitations_section(data, findings, behaviours, agreements))
    return out
