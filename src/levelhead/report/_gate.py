"""The release gate: a policy evaluated on a run (and its baseline) → pass / fail / cannot decide.

Every check has three outcomes, because a small run proves nothing either way:

- **pass**: the rule is shown to hold (the one-sided upper bound is at or below ``max``; the
  non-inferiority bound of the rise is below ``max_increase``);
- **fail**: the rule is shown to be broken (the one-sided lower bound is above ``max``; the lower
  bound of the rise is above the margin), and stays so after the policy's correction;
- **undecided**: neither; the outcome says about how many samples would most likely decide it.

Rates are clustered by prompt where there are two prompts or more (an exact bound when nothing
was seen); comparisons are paired by prompt. The pieces: a policy and its rule kinds
(:mod:`~levelhead.report._policy`, :mod:`~levelhead.report._rules`), the bound rule
(:mod:`~levelhead.report._bound`), what rules see (:mod:`~levelhead.report._context`), their
outcomes (:mod:`~levelhead.report._outcome`), and the renderers (Markdown, JUnit, report
section: :mod:`~levelhead.report._gate_render`). The statistics are
:mod:`levelhead.stats`'s (``one_sided_bounds``, ``violation_p_value``, ``samples_to_decide_bound``
...).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from levelhead.analysis import Calibration, RunData, match_calibrations
from levelhead.report._context import GateContext
from levelhead.report._outcome import RANK, Outcome, Status, StatusKey
from levelhead.report._policy import Policy

__all__ = ["GateResult", "evaluate_gate"]


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
        return max((o.status for o in self.outcomes), key=RANK.__getitem__, default="pass")

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
            if o.key not in out or RANK[o.status] > RANK[out[o.key]]:
                out[o.key] = o.status
        return out


def evaluate_gate(policy: Policy, data: RunData, baseline: RunData | None = None, *,
                  allow_incomplete: bool = False,
                  calibrations: Sequence[Calibration] = ()) -> GateResult:
    """Evaluate every rule of ``policy`` on a run (and its baseline, for margins).

    A run (or baseline) that does not hold every sample it planned cannot pass or fail: the
    result cannot decide, naming what is missing, unless ``allow_incomplete``. The checks are
    evaluated all the same, to show where the run stands. ``calibrations`` of the run's judges
    let rules with ``corrected = true`` decide on rates corrected for the judge's errors.

    Raises:
        PolicyError: a rule names a behaviour, probe or target the run does not have, a margin
            has no baseline, a baseline target cannot be paired, or a rule asks for a corrected
            rate of a judge without a calibration (usage errors: exit 3).
        CalibrationError: a calibration does not fit the run's judge.
    """
    context = GateContext(data, baseline, policy.source, policy.confidence, policy.alpha,
                          match_calibrations(data, calibrations))
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


    tested: dict[Hashable, float] = {i: o.violation_p for i, o in enumerate(outcomes)
                                     if o.violation_p is not None}
    if len(tested) < 2:
        return outcomes
    adjusted = adjust_p_values(tested, method="holm")
    out = list(outcomes)
    for a in adjusted:
        i = cast(int, a.behaviour)  # the keys of tested: indices into out
        o = out[i]
        o = replace(o, adjusted_p=a.adjusted_p_value)
        if o.status == "fail" and a.adjusted_p_value > o.alpha:
            o = replace(o, status="undecided", reason=(
                f"{o.reason}; but not after Holm's correction over {len(tested)} checks "
                f"(adjusted p = {a.adjusted_p_value:.3g})"))
        out[i] = o
    return out
