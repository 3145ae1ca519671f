"""One check of one gate rule on one target: the decision, its numbers and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RANK", "Outcome", "Status", "StatusKey"]

Status = Literal["pass", "fail", "undecided"]
StatusKey = tuple[str, str, str, str | None]  # target, probe, metric, group
RANK = {"pass": 0, "undecided": 1, "fail": 2}  # the worse status wins where several meet


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
