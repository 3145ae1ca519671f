"""Findings of a run: the generic ones every probe gets (error rate, the rate of each judge
label, clustered by prompt, with a one-sided bound for rare labels, and corrected for the
judge's measured errors where a calibration of it is given), then each probe's own (its
``findings(data, probe_id)`` hook)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from levelhead.analysis import (
    Calibration,
    RunData,
    SampleView,
    corrected_estimate,
    count_labels,
    finding_from_rate,
    judge_labels,
    match_calibrations,
    rate_by_prompt,
)
from levelhead.judges import JUDGE_ERROR
from levelhead.probes import registry as probe_registry
from levelhead.records import Finding
from levelhead.report._conditions import condition_findings

__all__ = ["completeness_findings", "compute_findings", "corrected_notes", "corrected_text",
           "findings_markdown"]


def _generic(data: RunData, target: str, probe: str, samples: list[SampleView],
             calibrations: Mapping[str, Calibration]) -> list[Finding]:
    from levelhead.stats import rate, upper_bound

    out = []
    errors = sum(not s.ok for s in samples)
    out.append(finding_from_rate(target, probe, "error_rate", None, rate(errors, len(samples))))
    for judge, verdicts in sorted(data.verdicts.items()):
        # Labels never seen count too (0 of n, with its upper bound): that is the finding for
        # a rare behaviour. A judge's label set is known from its class where it is fixed.
        declared = set(judge_labels(judge))
        seen = {verdicts[s.key] for s in samples if s.key in verdicts}
        if not seen:
            continue
        labels = (seen | declared) - {JUDGE_ERROR}
        if not labels:  # every verdict was a judge_error: say so, as a finding with n = 0
            judged_errors = sum(1 for s in samples if not s.ok)
            out.append(Finding(target=target, probe=probe, metric=f"rate:{judge}", kind="rate",
                               unit="share", group=None,
                               estimate=None, n=0, errors=judged_errors,
                               missing=len(samples) - judged_errors,
                               detail={"note": "no verdict could be given (judge_error)"}))
            continue
        for label, counts in count_labels(samples, verdicts, labels).items():
            _, k, n = counts.lists()
            if not n:
                continue
            result = rate_by_prompt(k, n, errors=counts.errors, missing=counts.missing)
            bound = upper_bound(sum(k), sum(n))
            effect = getattr(result, "design_effect", None)
            finding = finding_from_rate(
                target, probe, f"rate:{judge}", label, result, prompts=len(n),
                design_effect=None if effect is None else float(effect),
                upper_bound=float(bound.bound), upper_bound_statement=bound.statement(label))
            if judge in calibrations:
                finding.corrected = corrected_estimate(counts, label, calibrations[judge],
                                                       finding.confidence)
            out.append(finding)
    return out


def compute_findings(data: RunData, calibrations: Sequence[Calibration] = ()) -> list[Finding]:
    """Every finding of every probe of the run, per target.

    Args:
        data: The run.
        calibrations: Calibrations of its judges (``levelhead judge eval
            --save-calibration``): each ``rate:<judge>`` finding of a calibrated judge gets its
            ``corrected`` estimate.

    Raises:
        CalibrationError: a calibration does not fit the run's judge (see
            :func:`levelhead.analysis.match_calibrations`).
    """
    matched = match_calibrations(data, calibrations)
    out: list[Finding] = []
    by_probe: dict[str, dict[str, list[SampleView]]] = defaultdict(lambda: defaultdict(list))
    for s in data.samples:
        by_probe[s.probe][s.target].append(s)
    for probe_id, per_target in by_probe.items():
        for target, samples in sorted(per_target.items()):
            out += _generic(data, target, probe_id, samples, matched)
        name = data.probe_names.get(probe_id, probe_id)
        if name in probe_registry:
            out += probe_registry.get(name).factory.findings(data, probe_id)
    return out + condition_findings(data) + completeness_findings(data)


def completeness_findings(data: RunData) -> list[Finding]:
    """Per target x probe, the share of the planned samples that is stored (replies and
    errors alike): metric ``completeness``. ``missing`` counts the planned samples never
    stored; ``detail`` says whether the run is complete, which prompts were never sampled, and
    how to resume."""
    if data.progress is None:
        return []
    progress = data.progress
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for p in progress.prompts:
        groups[(p.target, p.probe)].append(p)
    out = []
    for (target, probe), prompts in groups.items():
        planned = progress.samples * len(prompts)
        stored = sum(p.stored for p in prompts)
        never = [p.prompt_id for p in prompts if p.stored == 0]
        out.append(Finding(
            target=target, probe=probe, metric="completeness", kind="rate", unit="share",
            estimate=stored / planned if planned else None, n=planned,
            errors=sum(p.errors for p in prompts), missing=planned - stored, method="count",
            detail={"planned": planned, "stored": stored,
                    "complete": stored == planned, "run_complete": progress.complete,
                    "prompts": len(prompts), "never_sampled": never[:50],
                    "never_sampled_count": len(never),
                    **({} if progress.complete else {"resume": progress.resume_command()})}))
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def corrected_text(f: Finding) -> str:
    """A finding's corrected estimate in a few characters: ``"19.7 % (15.7 % – 23.8 %)"``,
    ``"uninformative"``, or empty when it has none; a ``*`` marks one with a note."""
    c = f.corrected
    if c is None:
        return ""
    if not c.informative or c.estimate is None:
        return "uninformative *"
    return (f"{_pct(c.estimate)} ({_pct(c.ci_low)} – {_pct(c.ci_high)})"
            + (" *" if c.note else ""))


def corrected_notes(findings: list[Finding]) -> list[str]:
    """One line per corrected finding with a note (the ``*`` of the table): which finding, and
    why its corrected interval is wide, uninformative or clipped."""
    return [f"{f.target} · {f.probe} · {f.metric} = {f.group}: {f.corrected.note}"
            for f in findings if f.corrected is not None and f.corrected.note]


def findings_markdown(findings: list[Finding]) -> str:
    """Findings as a Markdown table; with a ``corrected`` column (the rate corrected for the
    judge's measured errors) when any finding has one."""
    corrected = any(f.corrected is not None for f in findings)
    rows = ["| target | probe | metric | group | estimate | 95 % interval | n | errors | missing |"
            + (" corrected (95 % interval) |" if corrected else ""),
            "|---|---|---|---|---|---|---|---|---|" + ("---|" if corrected else "")]
    for f in findings:
        rate_like = f.is_share  # a share or a difference of shares: percent
        est = _pct(f.estimate) if rate_like else ("-" if f.estimate is None else f"{f.estimate:.3g}")
        ci = (f"{_pct(f.ci_low)} – {_pct(f.ci_high)}" if rate_like else
              "-" if f.ci_low is None else f"{f.ci_low:.3g} – {f.ci_high:.3g}")
        rows.append(f"| {f.target} | {f.probe} | {f.metric} | {f.group or ''} | {est} | {ci} "
                    f"| {f.n} | {f.errors} | {f.missing} |"
                    + (f" {corrected_text(f)} |" if corrected else ""))
    return "\n".join(rows)
