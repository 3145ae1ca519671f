"""Findings of a run: the generic ones every probe gets (error rate, the rate of each judge
label, clustered by prompt, with a one-sided bound for rare labels), then each probe's own
(a probe class may define ``findings(data, probe_id) -> list[Finding]``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from levelhead.judges import JUDGE_ERROR
from levelhead.probes import registry as probe_registry
from levelhead.records import Finding
from levelhead.report._data import RunData, SampleView


def rate_by_prompt(k_per_prompt: list[int], n_per_prompt: list[int], *, errors: int = 0,
                   missing: int = 0) -> Any:
    """The clustered rate when there are two prompts or more; with one, the plain rate (one
    prompt's samples are all the evidence there is: no clustering to correct for)."""
    from levelhead.stats import clustered_rate, rate

    if len(n_per_prompt) >= 2:
        return clustered_rate(k_per_prompt, n_per_prompt, errors=errors, missing=missing)
    return rate(sum(k_per_prompt), sum(n_per_prompt), errors=errors, missing=missing)


def finding_from_rate(target: str, probe: str, metric: str, group: str | None, result: Any,
                      **detail: Any) -> Finding:
    """A Finding from a stats result with ``estimate`` and ``interval`` (Rate, ClusteredRate)."""
    return Finding(target=target, probe=probe, metric=metric, kind="rate", unit="share", group=group,
                   estimate=float(result.estimate), ci_low=float(result.interval.low),
                   ci_high=float(result.interval.high), confidence=result.interval.confidence,
                   n=int(result.n), errors=int(result.errors), missing=int(result.missing),
                   method=result.interval.method, detail=detail)


def label_counts(samples: list[SampleView], verdicts: dict[Any, str], label: str
                 ) -> tuple[list[int], list[int], int, int]:
    """Per prompt: samples with ``label`` and judged samples; plus errors and missing verdicts."""
    k: dict[str, int] = defaultdict(int)
    n: dict[str, int] = defaultdict(int)
    errors = missing = 0
    for s in samples:
        if s.status != "ok":
            errors += 1
            continue
        got = verdicts.get(s.key)
        if got is None or got == JUDGE_ERROR:
            missing += 1
            continue
        n[s.prompt_id] += 1
        k[s.prompt_id] += got == label
    prompts = sorted(n)
    return [k[p] for p in prompts], [n[p] for p in prompts], errors, missing


def _declared_labels(identity: str) -> set[str]:
    from levelhead.judges import registry as judge_registry

    judge = identity.split("#", 1)[0]
    if judge not in judge_registry:
        return set()
    labels = getattr(judge_registry.get(judge).factory, "labels", ())
    return set(labels) if isinstance(labels, tuple) else set()


def _generic(data: RunData, target: str, probe: str, samples: list[SampleView]) -> list[Finding]:
    from levelhead.stats import rate, upper_bound

    out = []
    errors = sum(s.status != "ok" for s in samples)
    out.append(finding_from_rate(target, probe, "error_rate", None, rate(errors, len(samples))))
    for judge, verdicts in sorted(data.verdicts.items()):
        # Labels never seen count too (0 of n, with its upper bound): that is the finding for
        # a rare behaviour. A judge's label set is known from its class where it is fixed.
        declared = _declared_labels(judge)
        seen = {verdicts[s.key] for s in samples if s.key in verdicts}
        if not seen:
            continue
        labels = sorted((seen | declared) - {JUDGE_ERROR})
        if not labels:  # every verdict was a judge_error: say so, as a finding with n = 0
            judged_errors = sum(1 for s in samples if s.status != "ok")
            out.append(Finding(target=target, probe=probe, metric=f"rate:{judge}", kind="rate",
                               unit="share", group=None,
                               estimate=None, n=0, errors=judged_errors,
                               missing=len(samples) - judged_errors,
                               detail={"note": "no verdict could be given (judge_error)"}))
            continue
        for label in labels:
            k, n, errs, missing = label_counts(samples, verdicts, label)
            if not n:
                continue
            result = rate_by_prompt(k, n, errors=errs, missing=missing)
            bound = upper_bound(sum(k), sum(n))
            effect = getattr(result, "design_effect", None)
            out.append(finding_from_rate(
                target, probe, f"rate:{judge}", label, result, prompts=len(n),
                design_effect=None if effect is None else float(effect),
                upper_bound=float(bound.bound), upper_bound_statement=bound.statement(label)))
    return out


def compute_findings(data: RunData) -> list[Finding]:
    """Every finding of every probe of the run, per target."""
    out: list[Finding] = []
    by_probe: dict[str, dict[str, list[SampleView]]] = defaultdict(lambda: defaultdict(list))
    for s in data.samples:
        by_probe[s.probe][s.target].append(s)
    for probe_id, per_target in by_probe.items():
        for target, samples in sorted(per_target.items()):
            out += _generic(data, target, probe_id, samples)
        name = data.probe_names.get(probe_id, probe_id)
        if name in probe_registry:
            factory = probe_registry.get(name).factory
            special = getattr(factory, "findings", None)
            if special is not None:
                out += special(data, probe_id)
    from levelhead.report._conditions import condition_findings

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


def findings_markdown(findings: list[Finding]) -> str:
    """Findings as a Markdown table."""
    rows = ["| target | probe | metric | group | estimate | 95 % interval | n | errors | missing |",
            "|---|---|---|---|---|---|---|---|---|"]
    for f in findings:
        rate_like = f.is_share  # a share or a difference of shares: percent
        est = _pct(f.estimate) if rate_like else ("-" if f.estimate is None else f"{f.estimate:.3g}")
        ci = (f"{_pct(f.ci_low)} – {_pct(f.ci_high)}" if rate_like else
              "-" if f.ci_low is None else f"{f.ci_low:.3g} – {f.ci_high:.3g}")
        rows.append(f"| {f.target} | {f.probe} | {f.metric} | {f.group or ''} | {est} | {ci} "
                    f"| {f.n} | {f.errors} | {f.missing} |")
    return "\n".join(rows)
