"""The ``bound`` rule kind: a statistical rule on one behaviour, named exactly as its finding
is — a rate (or a probe's own finding) that must stay under ``max`` / over ``min``, or, against a
baseline, may not rise by more than ``max_increase`` / fall by more than ``max_decrease``.

Rates are clustered by prompt where there are two prompts or more (an exact bound when nothing
was seen); comparisons are paired by prompt. The statistics are :mod:`levelhead.stats`'s; this
module selects what a rule is about, decides, and says why in one line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from levelhead.analysis import BehaviourCounts, Calibration, paired_counts
from levelhead.errors import PolicyError
from levelhead.records import Finding
from levelhead.registry import did_you_mean
from levelhead.report._context import GateContext
from levelhead.report._outcome import Outcome, Status
from levelhead.report._rules import PolicyRule, rule_kind

__all__ = ["BoundRule", "evaluate_bound_rule"]

_POWER = 0.8  # the chance with which "samples needed" would decide, if the rate is as observed


@rule_kind("bound")
class BoundRule(PolicyRule):
    """A statistical rule on one behaviour, named exactly as its finding is.

    The behaviour is ``(probe, metric, group)``: a judge's label rate (``metric =
    "rate:abuse.lexicon"``, ``group = "abusive"``) or a probe's own finding (``metric =
    "choice_share"``, ``group = "x"``). Leave ``probe`` out to gate every probe that has it, and
    ``target`` out to gate every target of the run. Give one bound or more:

    - ``max`` / ``min``: the rate (or the finding's value) must be at most / at least this, shown
      with ``confidence`` (one-sided);
    - ``max_increase`` / ``max_decrease``: against ``--baseline``, paired by prompt, the rate may
      not rise / fall by more than this (a non-inferiority margin, one-sided level ``alpha``).

    With ``corrected = true`` a ``max`` / ``min`` on a judge's label rate is decided on the rate
    corrected for the judge's measured errors (``--calibration FILE`` must give the judge's
    calibration), whose interval carries the calibration's uncertainty too.
    """

    kind: Literal["bound"] = "bound"
    probe: str | None = Field(None, min_length=1, description="a probe id; every probe when left out")
    metric: str = Field(min_length=1, description='as in the findings, e.g. "rate:abuse.lexicon"')
    group: str | None = Field(None, description='the label or option, e.g. "abusive"')
    target: str | None = Field(None, min_length=1, description="a target; every target when left out")
    max: float | None = Field(None, description="largest acceptable rate (0.001 is 0.1 %)")
    min: float | None = Field(None, description="smallest acceptable rate")
    max_increase: float | None = Field(None, gt=0, lt=1,
                                       description="largest acceptable rise over the baseline")
    max_decrease: float | None = Field(None, gt=0, lt=1,
                                       description="largest acceptable fall below the baseline")
    confidence: float | None = Field(None, gt=0.5, lt=1,
                                     description="one-sided level of max / min (policy's default)")
    alpha: float | None = Field(None, gt=0, lt=0.5,
                                description="one-sided error of the margins (policy's default)")
    corrected: bool = Field(False, description="decide max / min on the rate corrected for the "
                                               "judge's measured errors (needs --calibration)")

    @model_validator(mode="after")
    def _has_a_bound(self) -> BoundRule:
        if all(b is None for b in (self.max, self.min, self.max_increase, self.max_decrease)):
            raise ValueError("a rule needs a bound: max, min, max_increase or max_decrease")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        if self.corrected and (self.max_increase is not None or self.max_decrease is not None):
            raise ValueError("corrected = true applies to max and min only: margins compare the "
                             "judge's own rates on two runs, paired by prompt (its false alarms "
                             "cancel out of the difference, which its errors only shrink)")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        what = f"{self.metric} = {self.group}" if self.group is not None else self.metric
        return f"{self.probe}: {what}" if self.probe else what

    def evaluate(self, context: GateContext, index: int) -> list[Outcome]:
        return evaluate_bound_rule(self, context, index)


def _select(rule: BoundRule, context: GateContext, where: str
            ) -> tuple[list[BehaviourCounts], list[Finding]]:
    """The run's behaviours (or findings) the rule is about; a usage error when there are none,
    with did-you-mean on the first part of the name that matches nothing."""
    targets = context.data.targets()
    if rule.target is not None and rule.target not in targets:
        raise PolicyError(f"{where}.target: the run has no target '{rule.target}'; "
                          f"{did_you_mean(rule.target, targets)}")

    def keys(items: list[Any]) -> list[tuple[str, str, str | None, str]]:
        return [(x.probe, x.metric, x.group, x.target) for x in items
                if rule.target is None or x.target == rule.target]

    counts = [b for b in context.behaviours if rule.target is None or b.target == rule.target]
    present = keys(counts)
    source = "counts"
    if not any(m == rule.metric for _, m, _, _ in present):
        source = "findings"
        present = keys(context.findings)
    metrics = sorted({m for _, m, _, _ in present})
    if rule.metric not in metrics:
        raise PolicyError(f"{where}.metric: the run has no behaviour '{rule.metric}'; "
                          f"{did_you_mean(rule.metric, metrics)}")
    with_metric = [k for k in present if k[1] == rule.metric]
    probes = sorted({p for p, _, _, _ in with_metric})
    if rule.probe is not None and rule.probe not in probes:
        raise PolicyError(f"{where}.probe: no probe of the run has '{rule.metric}'"
                          f" under the name '{rule.probe}'; {did_you_mean(rule.probe, probes)}")
    with_probe = [k for k in with_metric if rule.probe is None or k[0] == rule.probe]
    groups = sorted({str(g) for _, _, g, _ in with_probe if g is not None})
    if not any(g == rule.group for _, _, g, _ in with_probe):
        if rule.group is None:
            raise PolicyError(f"{where}: '{rule.metric}' has several groups; say which with "
                              f"group = one of: {', '.join(groups)}")
        raise PolicyError(f"{where}.group: '{rule.metric}' has no group '{rule.group}'; "
                          f"{did_you_mean(rule.group, groups)}")

    def wanted(x: Any) -> bool:
        return (x.metric == rule.metric and x.group == rule.group
                and (rule.probe is None or x.probe == rule.probe)
                and (rule.target is None or x.target == rule.target))

    if source == "counts":
        return [b for b in counts if wanted(b)], []
    return [], [f for f in context.findings if wanted(f)]


def _checks(rule: BoundRule) -> list[str]:
    return [c for c in ("max", "min", "max_increase", "max_decrease")
            if getattr(rule, c) is not None]


def evaluate_bound_rule(rule: BoundRule, context: GateContext, index: int) -> list[Outcome]:
    """Outcomes of a bound rule: one per selected behaviour and bound."""
    where = f"{context.source}: rules[{index}]"
    counts, findings = _select(rule, context, where)
    margins = rule.max_increase is not None or rule.max_decrease is not None
    if margins and context.baseline is None:
        what = "max_increase" if rule.max_increase is not None else "max_decrease"
        raise PolicyError(f"{where}.{what}: a margin compares with a baseline; "
                          f"add --baseline RUN")
    if margins and findings:
        raise PolicyError(f"{where}: '{rule.metric}' is a probe's finding without per-prompt "
                          f"counts, so it cannot be paired with a baseline; use max or min")
    confidence = rule.confidence or context.confidence
    alpha = rule.alpha or context.alpha
    calibration = _calibration(rule, context, where, bool(findings)) if rule.corrected else None
    out: list[Outcome] = []
    for b in counts:
        base: dict[str, Any] = dict(rule=rule.label(), rule_index=index, target=b.target, probe=b.probe,
                    metric=b.metric, group=b.group)
        if b.total_n == 0:  # nothing judged: say why, and decide nothing
            check = _checks(rule)[0]
            out.append(Outcome(**base, check=check, threshold=getattr(rule, check),
                               status="undecided", n=0,
                               reason=f"no judged sample ({b.errors:,} errors, {b.missing:,} "
                                      f"missing verdicts)",
                               samples_note="fix the target or the judge, then run or judge again"))
            continue
        for check in ("max", "min"):
            bound = getattr(rule, check)
            if bound is not None:
                if not 0.0 <= bound <= 1.0:
                    raise PolicyError(f"{where}.{check}: {bound:g} is not a rate between 0 and 1 "
                                      f"(write 0.001 for 0.1 %)")
                if (check == "max" and bound == 0.0) or (check == "min" and bound == 1.0):
                    raise PolicyError(f"{where}.{check}: {bound:g} can never be shown: no number "
                                      f"of samples proves a rate is exactly {bound:g}; write the "
                                      f"rate you can accept, e.g. {check} = "
                                      f"{'0.001' if check == 'max' else '0.999'}")
                out.append(_rate_check(b, check, bound, confidence, base) if calibration is None
                           else _corrected_check(b, check, bound, confidence, calibration, base))
        for check in ("max_increase", "max_decrease"):
            margin = getattr(rule, check)
            if margin is not None:
                out.append(_margin_check(b, check, margin, alpha, context, where, base))
    for f in findings:
        base = dict(rule=rule.label(), rule_index=index, target=f.target, probe=f.probe,
                    metric=f.metric, group=f.group)
        for check in ("max", "min"):
            bound = getattr(rule, check)
            if bound is not None:
                out.append(_finding_check(f, check, bound, base))
    return out


def _pct(x: float) -> str:
    v = 100.0 * x
    return "0 %" if v == 0 else f"{v:.1f} %" if abs(v) >= 1 else f"{v:.3g} %"


def _plan_samples(bound: float, observed: float, confidence: float, prompts: int,
                  design_effect: float) -> tuple[int | None, str]:
    """Judged samples in all that would most likely decide a rate bound, if the rate is the
    observed one (``stats.samples_to_decide_bound``), with the note that says how."""
    from levelhead.stats import samples_to_decide_bound

    try:
        plan = samples_to_decide_bound(bound, observed, confidence, power=_POWER, prompts=prompts,
                                       design_effect=design_effect)
    except ValueError as exc:
        return None, str(exc)
    side = "below" if observed < bound else "above"
    return plan.total_samples, (f"to show it {side} {_pct(bound)} with {100 * _POWER:g} % chance if the "
                                f"rate is {_pct(observed)} (samples_to_show_below, design effect "
                                f"{design_effect:.2g})")


def _rate_check(b: BehaviourCounts, check: str, bound: float, confidence: float,
                base: dict[str, Any]) -> Outcome:
    from levelhead.stats import one_sided_bounds, violation_p_value

    k, n = list(b.k), list(b.n)
    bounds = one_sided_bounds(k, n, confidence)
    low, high, method = bounds.low, bounds.high, bounds.method
    observed = b.total_k / b.total_n
    prompts = sum(1 for x in n if x)
    design_effect = max(1.0, bounds.design_effect or 1.0)
    is_max = check == "max"
    passed = high <= bound if is_max else low >= bound
    failed = low > bound if is_max else high < bound
    status: Status = "pass" if passed else "fail" if failed else "undecided"
    word = "≤" if is_max else "≥"
    c = f"{100 * confidence:g} %"
    seen = f"{b.total_k:,} of {b.total_n:,} ({_pct(observed)})"
    if status == "pass":
        reason = (f"{seen}; {c} {'upper' if is_max else 'lower'} bound "
                  f"{_pct(high if is_max else low)} {word} {_pct(bound)}")
    elif status == "fail":
        reason = (f"{seen}; {c} {'lower' if is_max else 'upper'} bound "
                  f"{_pct(low if is_max else high)} {'>' if is_max else '<'} {_pct(bound)}")
    else:
        reason = f"{seen}; {c} bounds {_pct(low)} – {_pct(high)} include {_pct(bound)}"
    needed, note = (None, "")
    if status != "pass":  # a fail may become undecided under the correction: plan for it too
        needed, note = _plan_samples(bound, observed, confidence, prompts, design_effect)

    def shows_violation(a: float) -> bool:
        at = one_sided_bounds(k, n, 1.0 - a)
        return at.low > bound if is_max else at.high < bound

    return Outcome(**base, check=check, status=status, threshold=bound, estimate=observed,
                   low=low, high=high, confidence=confidence, n=b.total_n, prompts=prompts,
                   violation_p=violation_p_value(shows_violation), samples_needed=needed,
                   samples_note=note, reason=reason, method=method)


def _calibration(rule: BoundRule, context: GateContext, where: str,
                 own_finding: bool) -> Calibration:
    """The calibration a ``corrected = true`` rule decides with, or a usage error."""
    if own_finding or not rule.metric.startswith("rate:"):
        raise PolicyError(f"{where}.corrected: '{rule.metric}' is a probe's own finding; "
                          f"corrected = true applies to a judge's label rate "
                          f"(metric = \"rate:<judge>\")")
    judge = rule.metric.removeprefix("rate:")
    if judge not in context.calibrations:
        have = ", ".join(sorted(context.calibrations)) or "none"
        raise PolicyError(f"{where}.corrected: no calibration of judge '{judge}' was given "
                          f"(calibrated: {have}); pass --calibration FILE, as written by "
                          f"`levelhead judge eval --judge {judge.split('#')[0]} --gold GOLD "
                          f"--save-calibration FILE`")
    return context.calibrations[judge]


def _corrected_check(b: BehaviourCounts, check: str, bound: float, confidence: float,
                     calibration: Calibration, base: dict[str, Any]) -> Outcome:
    """A ``max`` / ``min`` decided on the rate corrected for the judge's measured errors: the
    ends of the corrected interval at ``2c - 1`` are one-sided bounds at ``c``."""
    from levelhead.stats import corrected_rate, violation_p_value

    is_max = check == "max"
    measured = calibration.labels.get(str(b.group))
    method = f"corrected for judge error ({calibration.source})"
    if measured is None:
        return Outcome(**base, check=check, status="undecided", threshold=bound, n=b.total_n,
                       confidence=confidence, method=method,
                       reason=f"the calibration has no counts for the label '{b.group}'",
                       samples_note="measure the judge on gold replies with this label")
    counts = dict(tp=measured.tp, fn=measured.fn, tn=measured.tn, fp=measured.fp)

    def at(level: float) -> Any:
        return corrected_rate(list(b.k), list(b.n), **counts, confidence=level)

    r = at(2.0 * confidence - 1.0)
    low, high = r.ci_low, r.ci_high
    passed = high <= bound if is_max else low >= bound
    failed = low > bound if is_max else high < bound
    status: Status = "pass" if passed else "fail" if failed else "undecided"
    c = f"{100 * confidence:g} %"
    flagged = f"{b.total_k:,} of {b.total_n:,} flagged ({_pct(r.apparent)})"
    seen = f"{flagged}, corrected {_pct(r.estimate or 0.0)}"
    if not r.informative:
        status, reason = "undecided", f"{flagged}; no corrected rate: {r.note}"
    elif status == "pass":
        reason = (f"{seen}; {c} {'upper' if is_max else 'lower'} bound "
                  f"{_pct(high if is_max else low)} {'≤' if is_max else '≥'} {_pct(bound)}")
    elif status == "fail":
        reason = (f"{seen}; {c} {'lower' if is_max else 'upper'} bound "
                  f"{_pct(low if is_max else high)} {'>' if is_max else '<'} {_pct(bound)}")
    else:
        reason = f"{seen}; {c} bounds {_pct(low)} – {_pct(high)} include {_pct(bound)}"
    needed, note = None, ""
    if status != "pass":
        share = r.calibration_share
        if r.estimate is None or share is None or share >= 0.5:
            note = ("the judge's calibration, more than the run's size, limits this interval"
                    + ("" if share is None else f" ({_pct(share)} of its variance)")
                    + ": label more gold replies and measure the judge again")
        else:
            toward = (r.estimate - low) if r.estimate > bound else (high - r.estimate)
            needed, note = _scaled_samples(b.total_n, toward, bound - r.estimate, confidence)

    def shows_violation(a: float) -> bool:
        at_a = at(1.0 - 2.0 * a)
        return bool(at_a.ci_low > bound) if is_max else bool(at_a.ci_high < bound)

    return Outcome(**base, check=check, status=status, threshold=bound, estimate=r.estimate,
                   low=low, high=high, confidence=confidence, n=b.total_n,
                   prompts=sum(1 for x in b.n if x),
                   violation_p=violation_p_value(shows_violation) if r.informative else 1.0,
                   samples_needed=needed, samples_note=note, reason=reason,
                   method=f"{method}: {r.method}")


def _scaled_samples(n: int, half_width: float, gap: float, confidence: float
                    ) -> tuple[int | None, str]:
    """Samples that would shrink an interval (one-sided ``half_width`` at ``confidence``, on
    ``n``) enough to resolve ``gap`` (``stats.samples_to_resolve``), with the note that says how."""
    from levelhead.stats import samples_to_resolve

    try:
        needed = samples_to_resolve(n, half_width, gap, confidence, power=_POWER)
    except ValueError as exc:
        return None, str(exc)
    return needed, (f"approximate: the interval's width taken to shrink as 1/√n, "
                               f"{100 * _POWER:g} % chance if the estimate holds")


def _margin_check(b: BehaviourCounts, check: str, margin: float, alpha: float,
                  context: GateContext, where: str, base: dict[str, Any]) -> Outcome:
    from levelhead.stats import (
        non_inferiority,
        paired_difference,
        samples_without_events,
        violation_p_value,
    )

    paired_target = context.baseline_target(b.target, where)
    match = [x for x in context.baseline_behaviours
             if x.target == paired_target and x.key == b.key]
    if not match:
        raise PolicyError(f"{where}: the baseline run has no '{b.metric} = {b.group}' on probe "
                          f"'{b.probe}' for target '{paired_target}' to compare with")
    kb, nb, kc, nc = paired_counts(match[0], b)
    if check == "max_decrease":  # a fall of the rate is a rise of its complement
        kb = [n - k for k, n in zip(kb, nb, strict=True)]
        kc = [n - k for k, n in zip(kc, nc, strict=True)]
    rising = check == "max_increase"
    if match[0].total_n == 0:
        return Outcome(**base, check=check, status="undecided", threshold=margin, n=b.total_n,
                       baseline_target=paired_target,
                       reason=f"the baseline has no judged sample ({match[0].errors:,} errors, "
                              f"{match[0].missing:,} missing verdicts)",
                       samples_note="fix the baseline's target or judge, then run or judge again")
    base = {**base, "check": check, "threshold": margin, "confidence": 1.0 - alpha,
            "baseline_target": paired_target,
            "baseline_estimate": match[0].total_k / match[0].total_n}
    try:
        ni = non_inferiority(kb, nb, kc, nc, margin=margin, alpha=alpha,
                             errors=b.errors + match[0].errors, missing=b.missing + match[0].missing)
    except ValueError as exc:  # fewer than 2 prompts judged on both sides
        return Outcome(**base, status="undecided", n=b.total_n, reason=f"cannot compare: {exc}",
                       samples_note="add prompts: a paired comparison needs two or more")
    d = ni.difference
    low, high = d.interval.low, d.interval.high  # two-sided at 1 - 2 alpha: one-sided at 1 - alpha
    word = "rise" if rising else "fall"
    before, after = ((d.baseline_rate, d.candidate_rate) if rising
                     else (1 - d.baseline_rate, 1 - d.candidate_rate))
    shown = f"{word} {d.estimate * 100:+.1f} pts ({_pct(before)} → {_pct(after)})"
    c = f"{100 * (1 - alpha):g} %"
    if ni.non_inferior:
        status: Status = "pass"
        reason = f"{shown}; {c} upper bound {high * 100:+.1f} pts < margin {margin * 100:.1f} pts"
    elif low > margin:
        status = "fail"
        reason = f"{shown}; {c} lower bound {low * 100:+.1f} pts > margin {margin * 100:.1f} pts"
    else:
        status = "undecided"
        reason = (f"{shown}; {c} bounds {low * 100:+.1f} – {high * 100:+.1f} pts include the "
                  f"margin {margin * 100:.1f} pts")
    needed, note = None, ""
    if status != "pass":  # a fail may become undecided under the correction: plan for it too
        half = (high - d.estimate) if d.estimate < margin else (d.estimate - low)
        if d.baseline_k == 0 and d.candidate_k == 0 and high > margin:
            # No event on either side: the exact bound shrinks as 1/n, not 1/sqrt(n).
            needed = samples_without_events(d.candidate_n, high, margin)
            note = ("approximate: with no event on either side the bound shrinks as 1/n; "
                    "enough if none is seen in the new samples either")
        else:
            needed, note = _scaled_samples(d.candidate_n, half, margin - d.estimate, 1.0 - alpha)

    def shows_violation(a: float) -> bool:
        return paired_difference(kb, nb, kc, nc, 1.0 - 2.0 * a).interval.low > margin

    return Outcome(**base, status=status, estimate=d.estimate, low=low, high=high,
                   n=d.candidate_n, prompts=d.prompts,
                   violation_p=violation_p_value(shows_violation),
                   samples_needed=needed, samples_note=note, reason=reason,
                   method=f"non-inferiority, {d.interval.method}")


def _finding_check(f: Finding, check: str, bound: float, base: dict[str, Any]) -> Outcome:
    """A bound on a probe's own finding, read off the finding's interval as it is (each end of
    a two-sided interval at ``c`` is a one-sided bound at ``(1 + c) / 2``)."""
    from levelhead.stats import interval_violation_p

    # A finding is a share unless it carries a unit (a mean, a score) or is an asymmetry.
    is_rate = f.is_share
    fmt = _pct if is_rate else (lambda x: f"{x:.3g}")
    if f.estimate is None or f.ci_low is None or f.ci_high is None:
        return Outcome(**base, check=check, status="undecided", threshold=bound, n=f.n,
                       is_rate=is_rate, reason="the finding has no estimate (no judged samples)")
    confidence = (1.0 + f.confidence) / 2.0
    est, low, high = f.estimate, f.ci_low, f.ci_high
    is_max = check == "max"
    passed = high <= bound if is_max else low >= bound
    failed = low > bound if is_max else high < bound
    status: Status = "pass" if passed else "fail" if failed else "undecided"
    c = f"{100 * confidence:g} %"
    reason = f"{fmt(est)} observed; {c} bounds {fmt(low)} – {fmt(high)}"
    reason += {"pass": f" {'≤' if is_max else '≥'} {fmt(bound)}",
               "fail": f" {'above' if is_max else 'below'} {fmt(bound)}",
               "undecided": f" include {fmt(bound)}"}[status]
    # The side of the interval facing the bound gives the spread for the p-value and the plan.
    toward = (est - low) if est > bound else (high - est)
    tail = interval_violation_p(est, toward, bound, confidence, upper=is_max)
    needed, note = (None, "")
    if status != "pass":  # a fail may become undecided under the correction: plan for it too
        needed, note = _scaled_samples(f.n, toward, bound - est, confidence)
    return Outcome(**base, check=check, status=status, threshold=bound, estimate=est, low=low,
                   high=high, confidence=confidence, n=f.n,
                   prompts=int(f.detail.get("prompts", 0) or 0), is_rate=is_rate,
                   violation_p=tail, samples_needed=needed, samples_note=note, reason=reason,
                   method=f"the finding's own interval ({f.method or 'as computed'})")
