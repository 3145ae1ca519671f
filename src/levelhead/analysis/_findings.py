"""Findings from counts: the rate of a yes/no question about samples (clustered by prompt or
item), a paired difference of two such rates, an empty finding that says why it is empty, and
the slices findings are reported for (per target, per language).

Statistics come from :mod:`levelhead.stats`, imported where they are used so that loading a
probe does not load scipy.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from levelhead.analysis._counting import Counts
from levelhead.records import Finding, FindingKind

if TYPE_CHECKING:
    from levelhead.analysis._data import RunData, SampleView
    from levelhead.stats import ClusteredRate, Rate

__all__ = ["by_language", "by_target", "empty_finding", "finding_from_rate", "paired_finding",
           "rate_by_prompt", "rate_finding"]


def rate_by_prompt(k_per_prompt: list[int], n_per_prompt: list[int], *, errors: int = 0,
                   missing: int = 0) -> Rate | ClusteredRate:
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


def rate_finding(target: str, probe: str, metric: str, group: str | None, counts: Counts,
                 **detail: Any) -> Finding:
    """The rate of ``counts`` clustered by its clusters, with the exact upper bound in
    ``detail``; an empty finding (estimate None, the errors and missing verdicts that explain
    it) when nothing was judged."""
    from levelhead.stats import upper_bound

    ids, k, n = counts.lists()
    if not ids:
        return Finding(target=target, probe=probe, metric=metric, kind="rate", unit="share",
                       group=group, estimate=None, n=0, errors=counts.errors, missing=counts.missing,
                       detail={**detail, "note": "no judged sample"})
    result = rate_by_prompt(k, n, errors=counts.errors, missing=counts.missing)
    bound = upper_bound(sum(k), sum(n))
    return finding_from_rate(target, probe, metric, group, result, items=len(ids),
                             upper_bound=float(bound.bound), **detail)


def paired_finding(target: str, probe: str, metric: str, group: str, before: Counts, after: Counts,
                   *, same_samples: bool = False, **detail: Any) -> Finding:
    """After minus before, paired by cluster (``stats.paired_difference``). With
    ``same_samples`` both sides count the same samples (two labels of one reply), so errors
    count once."""
    from levelhead.stats import paired_difference

    ids = sorted(set(before.n) | set(after.n))
    errors = after.errors if same_samples else before.errors + after.errors
    missing = after.missing if same_samples else before.missing + after.missing
    try:
        d = paired_difference([before.k[i] for i in ids], [before.n[i] for i in ids],
                              [after.k[i] for i in ids], [after.n[i] for i in ids],
                              errors=errors, missing=missing)
    except ValueError:
        # Fewer than 2 clusters judged on both sides: no paired estimate, said so in the finding.
        return Finding(target=target, probe=probe, metric=metric, kind="difference", unit="share",
                       group=group, estimate=None, n=0, errors=errors, missing=missing,
                       detail={**detail, "note": "fewer than 2 items judged on both sides"})
    return Finding(target=target, probe=probe, metric=metric, kind="difference", unit="share",
                   group=group, estimate=d.estimate,
                   ci_low=d.interval.low, ci_high=d.interval.high,
                   confidence=d.interval.confidence, n=d.prompts, errors=d.errors,
                   missing=d.missing, method=d.interval.method,
                   detail={"before": d.baseline_rate, "after": d.candidate_rate,
                           "p_value": d.p_value, "items": d.prompts, **detail,
                           "flag": bool(d.interval.low > 0 or d.interval.high < 0)})


def empty_finding(target: str, probe: str, metric: str, group: str | None, note: str, *,
                  kind: FindingKind, unit: str, **detail: Any) -> Finding:
    """A finding without an estimate, with ``note`` saying why."""
    return Finding(target=target, probe=probe, metric=metric, kind=kind, unit=unit, group=group,
                   estimate=None, n=0, detail={**detail, "note": note})


def by_target(data: RunData, probe_id: str) -> dict[str, list[SampleView]]:
    """The probe's samples per target, targets sorted by name."""
    out: dict[str, list[SampleView]] = defaultdict(list)
    for s in data.for_probe(probe_id):
        out[s.target].append(s)
    return dict(sorted(out.items()))


def by_language(samples: list[SampleView]) -> list[tuple[str | None, list[SampleView]]]:
    """All samples (group None), then each language's when there are several."""
    langs = sorted({s.tags.get("lang", "en") for s in samples})
    groups: list[tuple[str | None, list[SampleView]]] = [(None, samples)]
    if len(langs) > 1:
        groups += [(lang, [s for s in samples if s.tags.get("lang", "en") == lang])
                   for lang in langs]
    return groups
