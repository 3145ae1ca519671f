"""What a gate's rules evaluate against (:class:`GateContext`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from levelhead.analysis import BehaviourCounts, Calibration, RunData
from levelhead.errors import PolicyError
from levelhead.records import Finding
from levelhead.registry import did_you_mean
from levelhead.report._behaviours import behaviour_counts
from levelhead.report._findings import compute_findings

__all__ = ["GateContext"]


@dataclass
class GateContext:
    """What rules evaluate against: the run, the baseline, their behaviours and findings, the
    policy's defaults (where it was read from, for messages; its confidence and alpha), and the
    calibrations of the run's judges (judge identity -> calibration, already matched to the run)
    for rules decided on corrected rates."""

    data: RunData
    baseline: RunData | None = None
    source: str = "policy"
    confidence: float = 0.95
    alpha: float = 0.05
    calibrations: dict[str, Calibration] = field(default_factory=dict)

    @cached_property
    def behaviours(self) -> list[BehaviourCounts]:
        return behaviour_counts(self.data)

    @cached_property
    def baseline_behaviours(self) -> list[BehaviourCounts]:
        return behaviour_counts(self.baseline) if self.baseline is not None else []

    @cached_property
    def findings(self) -> list[Finding]:
        return compute_findings(self.data, list(self.calibrations.values()))

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
