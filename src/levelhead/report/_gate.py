"""The release gate: a policy evaluated on a run (and its baseline) → pass / fail / cannot decide.

Every check has three outcomes, because a small run proves nothing either way:

- **pass**: the rule is shown to hold (the one-sided upper bound is at or below ``max``; the
  non-inferiority bound of the rise is below ``max_increase``);
- **fail**: the rule is shown to be broken (the one-sided lower bound is above ``max``; the lower
  bound of the rise is above the margin), and stays so after the policy's correction;
- **undecided**: neither; the outcome says about how many samples would most likely decide it.

Rates are clustered by prompt where there are two prompts or more (an exact bound when nothing
was seen); comparisons are paired by prompt. The renderers (Markdown, JUnit, report section) are
in :mod:`levelhead.report._gate_render`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

from levelhead.errors import PolicyError
from levelhead.records import Finding
from levelhead.registry import did_you_mean
from levelhead.report._behaviours import BehaviourCounts, behaviour_counts, paired_counts
from levelhead.report._data import RunData
from levelhead.report._policy import BoundRule, Policy, load_policy

__all__ = ["GateContext", "GateResult", "Outcome", "evaluate_gate", "gate_junit", "gate_markdown",
           "gate_section", "load_policy"]

Status = Literal["pass", "fail", "undecided"]
StatusKey = tuple[str, str, str, str | None]  # target, probe, metric, group
_RANK = {"pass": 0, "undecided": 1, "fail": 2}
_POWER = 0.8  # the chance with which "samples needed" would decide, if the rate is as observed


@dataclass(frozen=True, slots=True)
class Outcome:
    """One check of one rule on one target (and probe): the decision, its numbers and why.

    Attributes:
        rule: The rule's label (its ``name``, or one made from the behaviour).
        rule_index: Position of the rule in the policy.
        check: ``"max"``, ``"min"``, ``"max_increase"``, ``"max_decrease"`` (or a later kind's).
        target: The target gated.
        probe: The probe, or None for a rule that is not about one probe.
        metric: As in the findings.
        group: As in the findings.
        status: ``"pass"``, ``"fail"`` or ``"undecided"``.
        threshold: The bound of the rule (a rate, a margin, or a finding's value).
        estimate: The observed rate (or the observed rise for a margin, or the finding's value).
        low: One-sided lower bound of the estimate at ``confidence``.
        high: One-sided upper bound of the estimate at ``confidence``.
        confidence: One-sided level of ``low`` and ``high``.
        n: Judged samples of the target (per side for a margin).
        prompts: Prompts they came from.
        is_rate: Whether estimate, bounds and threshold are rates (shown as percentages).
        baseline_target: The baseline's target, for a margin.
        baseline_estimate: The baseline's rate, for a margin.
        violation_p: One-sided p-value of "the rule is broken", for the multiplicity correction.
        adjusted_p: The same after the policy's correction, when applied.
        samples_needed: About how many judged samples in all (per side for a margin) would
            most likely decide an undecided check, or None.
        samples_note: How that number was found, or why there is none.
        reason: One line that says why.
        method: How the bounds were computed.
    """

    rule: str
    rule_index: int
    check: str
    target: str
    probe: str | None
    metric: str
    group: str | None
    status: Status
    threshold: float
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    confidence: float = 0.95
    n: int = 0
    prompts: int = 0
    is_rate: bool = True
    baseline_target: str | None = None
    baseline_estimate: float | None = None
    violation_p: float | None = None
    adjusted_p: float | None = None
    samples_needed: int | None = None
    samples_note: str = ""
    reason: str = ""
    method: str = ""

    @property
    def key(self) -> StatusKey:
        return (self.target, self.probe or "", self.metric, self.group)

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence


@dataclass(frozen=True)
class GateResult:
    """A policy's outcomes on a run.

    Attributes:
        outcomes: Every check, in policy order.
        run: ``(id, name)`` of the run gated.
        baseline: ``(id, name)`` of the baseline run, or None.
        policy: The policy.
        incomplete: One line for each gated run (the run, the baseline) that does not hold
            every sample it planned.
        allow_incomplete: Decide all the same (the checks then rest on part of the plan).
    """

    outcomes: tuple[Outcome, ...]
    run: tuple[int, str]
    baseline: tuple[int, str] | None
    policy: Policy
    incomplete: tuple[str, ...] = ()
    allow_incomplete: bool = False

    @property
    def blocked(self) -> bool:
        """True when an incomplete run keeps the gate from deciding at all."""
        return bool(self.incomplete) and not self.allow_incomplete

    @property
    def checks_status(self) -> Status:
        """The checks alone: ``"fail"`` if any fails, else ``"undecided"`` if any cannot be
        decided, else ``"pass"``."""
        return max((o.status for o in self.outcomes), key=_RANK.__getitem__, default="pass")

    @property
    def status(self) -> Status:
        """The verdict: cannot decide while a gated run is incomplete (unless allowed), else
        that of the checks."""
        return "undecided" if self.blocked else self.checks_status

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail (any check), 2 cannot decide (a check, or an incomplete run)."""
        return {"pass": 0, "fail": 1, "undecided": 2}[self.status]

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def statuses(self) -> dict[StatusKey, Status]:
        """``(target, probe, metric, group) -> status`` for the report's cards; where several
        checks gate one behaviour, the worst wins."""
        out: dict[StatusKey, Status] = {}
        for o in self.outcomes:
            if o.key not in out or _RANK[o.status] > _RANK[out[o.key]]:
                out[o.key] = o.status
        return out


@dataclass
class GateContext:
    """What rules evaluate against: the run, the baseline, and their behaviours."""

    policy: Policy
    data: RunData
    baseline: RunData | None = None

    @cached_property
    def behaviours(self) -> list[BehaviourCounts]:
        return behaviour_counts(self.data)

    @cached_property
    def baseline_behaviours(self) -> list[BehaviourCounts]:
        return behaviour_counts(self.baseline) if self.baseline is not None else []

    @cached_property
    def findings(self) -> list[Finding]:
        from levelhead.report._findings import compute_findings

        return compute_findings(self.data)

    def baseline_target(self, target: str, where: str) -> str:
        """The baseline's target paired with ``target``: the one with the same name, or the only
        one when each run has one."""
        assert self.baseline is not None
        mine, theirs = self.data.targets(), self.baseline.targets()
        if target in theirs:
            return target
        if len(mine) == 1 and len(theirs) == 1:
            return theirs[0]
        raise PolicyError(f"{where}: the baseline run '{self.baseline.run_name}' has no target "
                          f"'{target}' to pair with; {did_you_mean(target, theirs)} (pairing is "
                          f"by name, or one target with one when each run has one)")


def evaluate_gate(policy: Policy, data: RunData, baseline: RunData | None = None, *,
                  allow_incomplete: bool = False) -> GateResult:
    """Evaluate every rule of ``policy`` on a run (and its baseline, for margins).

    A run (or baseline) that does not hold every sample it planned cannot pass or fail: the
    result cannot decide, naming what is missing, unless ``allow_incomplete``. The checks are
    evaluated all the same, to show where the run stands.

    Raises:
        PolicyError: a rule names a behaviour, probe or target the run does not have, a margin
            has no baseline, or a baseline target cannot be paired (usage errors: exit 3).
    """
    context = GateContext(policy, data, baseline)
    outcomes: list[Outcome] = []
    for index, rule in enumerate(policy.rules):
        outcomes += rule.evaluate(context, index)
    if policy.correction == "holm":
        outcomes = _holm(outcomes)
    incomplete = tuple(("baseline " if run is baseline else "") + line
                       for run in (data, baseline) if run is not None
                       if (line := run.incomplete) is not None)
    return GateResult(tuple(outcomes), (data.run_id, data.run_name),
                      None if baseline is None else (baseline.run_id, baseline.run_name), policy,
                      incomplete=incomplete, allow_incomplete=allow_incomplete)


def _holm(outcomes: list[Outcome]) -> list[Outcome]:
    """Fails that do not stand after Holm's correction over every tested check become
    undecided (see :class:`~levelhead.report._policy.Policy` for why only fails)."""
    from levelhead.stats import adjust_p_values

    tested = [i for i, o in enumerate(outcomes) if o.violation_p is not None]
    if len(tested) < 2:
        return outcomes
    adjusted = adjust_p_values({i: outcomes[i].violation_p for i in tested}, method="holm")
    out = list(outcomes)
    for a in adjusted:
        o = out[a.behaviour]  # type: ignore[index]
        o = replace(o, adjusted_p=a.adjusted_p_value)
        if o.status == "fail" and a.adjusted_p_value > o.alpha:
            o = replace(o, status="undecided", reason=(
                f"{o.reason}; but not after Holm's correction over {len(tested)} checks "
                f"(adjusted p = {a.adjusted_p_value:.3g})"))
        out[a.behaviour] = o  # type: ignore[index]
    return out


# ------------------------------------------------------------------------------------ bound rules


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
    where = f"{context.policy.source}: rules[{index}]"
    counts, findings = _select(rule, context, where)
    margins = rule.max_increase is not None or rule.max_decrease is not None
    if margins and context.baseline is None:
        what = "max_increase" if rule.max_increase is not None else "max_decrease"
        raise PolicyError(f"{where}.{what}: a margin compares with a baseline; "
                          f"add --baseline RUN")
    if margins and findings:
        raise PolicyError(f"{where}: '{rule.metric}' is a probe's finding without per-prompt "
                          f"counts, so it cannot be paired with a baseline; use max or min")
    confidence = rule.confidence or context.policy.confidence
    alpha = rule.alpha or context.policy.alpha
    out: list[Outcome] = []
    for b in counts:
        base = dict(rule=rule.label(), rule_index=index, target=b.target, probe=b.probe,
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
                out.append(_rate_check(b, check, bound, confidence, base))
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


def _one_sided_ends(k: list[int], n: list[int], confidence: float) -> tuple[float, float, str, Any]:
    """One-sided lower and upper bounds of a rate at ``confidence``, clustered by prompt when
    there are two prompts or more; exact when every sample or none has the label."""
    from levelhead.stats import clustered_rate, rate, upper_bound

    total_k, total_n = sum(k), sum(n)
    two_sided = 2.0 * confidence - 1.0  # each end of an equal-tailed interval is one-sided
    if total_k == 0:
        return 0.0, upper_bound(0, total_n, confidence).bound, "exact (Clopper-Pearson)", None
    if total_k == total_n:
        return 1.0 - upper_bound(0, total_n, confidence).bound, 1.0, "exact (Clopper-Pearson)", None
    if sum(1 for x in n if x) >= 2:
        r = clustered_rate(k, n, two_sided)
        return r.interval.low, r.interval.high, "clustered by prompt (" + r.interval.method + ")", r
    r = rate(total_k, total_n, two_sided, "exact")
    return r.interval.low, r.interval.high, "exact (one prompt)", r


def _violation_p(shows_violation: Callable[[float], bool]) -> float:
    """The smallest one-sided error level at which the evidence shows the rule broken (by
    bisection on the level; the bounds move monotonically with it), 1 when not even at 0.5."""
    low, high = 1e-15, 0.5 - 1e-9
    if not shows_violation(high):
        return 1.0
    if shows_violation(low):
        return low
    for _ in range(60):
        middle = (low + high) / 2.0
        low, high = (low, middle) if shows_violation(middle) else (middle, high)
    return high


def _plan_samples(bound: float, observed: float, confidence: float, prompts: int,
                  design_effect: float) -> tuple[int | None, str]:
    """Judged samples in all that would most likely decide a rate bound, if the rate is the
    observed one (``stats.samples_to_show_below``; a rate above the bound is shown by its
    complement being below ``1 - bound``)."""
    from levelhead.stats import samples_to_show_below

    if observed == bound:
        return None, "the observed rate sits on the bound: no number of samples is likely to decide"
    below = observed < bound
    try:
        plan = samples_to_show_below(bound if below else 1.0 - bound, confidence,
                                     expected_rate=observed if below else 1.0 - observed,
                                     power=_POWER, prompts=prompts or None,
                                     design_effect=design_effect if prompts else None)
    except ValueError as exc:
        return None, str(exc)
    side = "below" if below else "above"
    return plan.total_samples, (f"to show it {side} {_pct(bound)} with {100 * _POWER:g} % chance if the "
                                f"rate is {_pct(observed)} (samples_to_show_below, design effect "
                                f"{design_effect:.2g})")


def _rate_check(b: BehaviourCounts, check: str, bound: float, confidence: float,
                base: dict[str, Any]) -> Outcome:
    k, n = list(b.k), list(b.n)
    low, high, method, result = _one_sided_ends(k, n, confidence)
    observed = b.total_k / b.total_n
    prompts = sum(1 for x in n if x)
    effect = getattr(result, "design_effect", None)
    design_effect = max(1.0, effect or 1.0)
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
        lo, hi, _, _ = _one_sided_ends(k, n, 1.0 - a)
        return lo > bound if is_max else hi < bound

    return Outcome(**base, check=check, status=status, threshold=bound, estimate=observed,
                   low=low, high=high, confidence=confidence, n=b.total_n, prompts=prompts,
                   violation_p=_violation_p(shows_violation), samples_needed=needed,
                   samples_note=note, reason=reason, method=method)


def _scaled_samples(n: int, se: float, gap: float, z: float) -> tuple[int | None, str]:
    """Samples that would shrink a standard error ``se`` (on ``n``) enough to resolve ``gap``
    with the usual power: approximate, taking the width to shrink as ``1 / sqrt(n)``."""
    from scipy import stats

    if gap == 0:
        return None, "the estimate sits on the bound: no number of samples is likely to decide"
    if se <= 0 or n <= 0:
        return None, "no spread to scale from"
    needed = n * (se * (z + float(stats.norm.ppf(_POWER))) / abs(gap)) ** 2
    if needed > 1e9:
        return None, "more than a billion samples: the estimate is too close to the bound"
    return math.ceil(needed), (f"approximate: the interval's width taken to shrink as 1/√n, "
                               f"{100 * _POWER:g} % chance if the estimate holds")


def _margin_check(b: BehaviourCounts, check: str, margin: float, alpha: float,
                  context: GateContext, where: str, base: dict[str, Any]) -> Outcome:
    from scipy import stats

    from levelhead.stats import non_inferiority, paired_difference

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
        z = float(stats.norm.ppf(1.0 - alpha))
        half = (high - d.estimate) if d.estimate < margin else (d.estimate - low)
        if d.baseline_k == 0 and d.candidate_k == 0 and high > margin:
            # No event on either side: the exact bound shrinks as 1/n, not 1/sqrt(n).
            needed = math.ceil(d.candidate_n * high / margin)
            note = ("approximate: with no event on either side the bound shrinks as 1/n; "
                    "enough if none is seen in the new samples either")
        else:
            needed, note = _scaled_samples(d.candidate_n, half / z, margin - d.estimate, z)

    def shows_violation(a: float) -> bool:
        return paired_difference(kb, nb, kc, nc, 1.0 - 2.0 * a).interval.low > margin

    return Outcome(**base, status=status, estimate=d.estimate, low=low, high=high,
                   n=d.candidate_n, prompts=d.prompts, violation_p=_violation_p(shows_violation),
                   samples_needed=needed, samples_note=note, reason=reason,
                   method=f"non-inferiority, {d.interval.method}")


def _finding_check(f: Finding, check: str, bound: float, base: dict[str, Any]) -> Outcome:
    """A bound on a probe's own finding, read off the finding's interval as it is (each end of
    a two-sided interval at ``c`` is a one-sided bound at ``(1 + c) / 2``)."""
    from scipy import stats

    # A finding is a share unless it carries a unit (a mean, a score) or is an asymmetry.
    is_rate = f.is_share
    fmt = _pct if is_rate else (lambda x: f"{x:.3g}")
    if f.estimate is None or f.ci_low is None or f.ci_high is None:
        return Outcome(**base, check=check, status="undecided", threshold=bound, n=f.n,
                       is_rate=is_rate, reason="the finding has no estimate (no judged samples)")
    confidence = (1.0 + f.confidence) / 2.0
    z = float(stats.norm.ppf(confidence))
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
    se = toward / z if z else 0.0
    gap = bound - est
    if se > 0:
        tail = float(stats.norm.sf(-gap / se)) if is_max else float(stats.norm.sf(gap / se))
    else:
        tail = 0.0 if failed else 1.0
    needed, note = (None, "")
    if status != "pass":  # a fail may become undecided under the correction: plan for it too
        needed, note = _scaled_samples(f.n, se, gap, z)
    return Outcome(**base, check=check, status=status, threshold=bound, estimate=est, low=low,
                   high=high, confidence=confidence, n=f.n,
                   prompts=int(f.detail.get("prompts", 0) or 0), is_rate=is_rate,
                   violation_p=tail, samples_needed=needed, samples_note=note, reason=reason,
                   method=f"the finding's own interval ({f.method or 'as computed'})")


# The renderers live beside, and are re-exported here so that the gate has one import.
from levelhead.report._gate_render import gate_junit, gate_markdown, gate_section  # noqa: E402
