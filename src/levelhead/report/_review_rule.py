"""Gate rules on people's spot checks (``kind = "review"``): what reviewers said of a run's
replies, and whether the judge agrees with them well enough for its rates to gate.

    [[rules]]
    kind = "review"
    name = "reviewers flag almost nothing"
    label = "off"          # no more than 2 % of reviewed replies labelled `off` by any reviewer
    max_share = 0.02
    [[rules]]
    kind = "review"
    queue = "spot"         # one queue (every queue of the run when left out)
    min_kappa = 0.7        # judge-vs-people κ, weighted by the queue's design
    min_reviewed = 100     # fewer reviewed replies: cannot decide

A share of reviewed replies is a human decision, not a sampled estimate of the run: it passes or
fails as it stands (no p-value, so no multiplicity correction); a ``label`` the queue does not
offer is a usage error. κ is the design-weighted binary κ of the judge's verdict against the
reviewers' consensus, positive labels against the rest (``levelhead.stats.design_agreement``):
the check passes when its interval's lower end reaches ``min_kappa``, fails when its upper end
stays below, and cannot decide in between.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field, model_validator

from levelhead.errors import PolicyError
from levelhead.registry import did_you_mean
from levelhead.report._outcome import Outcome, Status
from levelhead.report._rules import PolicyRule, rule_kind

if TYPE_CHECKING:
    from levelhead.analysis._data import ReviewView
    from levelhead.report._context import GateContext

__all__ = ["ReviewRule"]


@rule_kind("review")
class ReviewRule(PolicyRule):
    """A rule on a run's review queues: the share of reviewed replies any reviewer gave a label
    (``label`` + ``max_share``), and/or the judge's agreement with the reviewers (``min_kappa``;
    ``positive`` labels default to the judge's bad labels)."""

    kind: Literal["review"] = "review"
    queue: str | None = Field(None, min_length=1, description="a queue's name; every queue when left out")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # `label` in the policy file (the name is taken by PolicyRule.label(), the rule's name).
    flag: str | None = Field(None, min_length=1, alias="label",
                             description="the reviewers' label max_share is about")
    max_share: float | None = Field(None, ge=0, le=1,
                                    description="largest share of reviewed replies with that label")
    min_kappa: float | None = Field(None, gt=-1, le=1,
                                    description="smallest acceptable judge-vs-people kappa")
    positive: tuple[str, ...] = Field((), description="labels that count as positive for kappa")
    min_reviewed: int = Field(1, ge=1, description="fewer reviewed replies: cannot decide")

    @model_validator(mode="after")
    def _one_check(self) -> ReviewRule:
        if self.max_share is None and self.min_kappa is None:
            raise ValueError("give max_share (with label) or min_kappa, or both")
        if (self.max_share is None) != (self.flag is None):
            raise ValueError("max_share and label go together")
        return self

    def evaluate(self, context: GateContext, index: int) -> list[Outcome]:
        """One outcome per queue and check."""
        where = f"{context.source}: rules[{index}]"
        queues = context.data.reviews
        if self.queue is not None:
            queues = [q for q in queues if q.name == self.queue]
            if not queues:
                names = [q.name for q in context.data.reviews]
                raise PolicyError(f"{where}: run '{context.data.run_name}' has no review queue "
                                  f"'{self.queue}'; {did_you_mean(self.queue, names)}")
        if not queues:
            return [self._outcome(index, "review", None, "undecided", 0.0, reason=(
                f"run '{context.data.run_name}' has no review queue: levelhead review create "
                "RUN --judge NAME"))]
        out = []
        for q in queues:
            if self.flag is not None and self.flag not in q.labels:
                # A label reviewers cannot give would pass having checked nothing.
                raise PolicyError(f"{where}: review queue '{q.name}' has no label "
                                  f"'{self.flag}'; {did_you_mean(self.flag, list(q.labels))}")
            if self.max_share is not None and self.flag is not None:
                out.append(self._share(q, index))
            if self.min_kappa is not None:
                out.append(self._kappa(q, index, where))
        return out

    def _outcome(self, index: int, check: str, queue: ReviewView | None, status: Status,
                 threshold: float, **more: object) -> Outcome:
        metric = f"review:{queue.name}" if queue is not None else "review"
        return Outcome(rule=self.label(), rule_index=index, check=check, target="reviewers",
                       probe=None, metric=metric, group=self.flag, status=status,
                       threshold=threshold, **more)  # type: ignore[arg-type]

    def label(self) -> str:
        """The rule's name, or one made from its checks."""
        if self.name:
            return self.name
        parts = []
        if self.max_share is not None:
            parts.append(f"reviewers' '{self.flag}' <= {100 * self.max_share:g} %")
        if self.min_kappa is not None:
            parts.append(f"judge-vs-people kappa >= {self.min_kappa:g}")
        return "review: " + ", ".join(parts)

    def _share(self, q: ReviewView, index: int) -> Outcome:
        assert self.max_share is not None
        reviewed = q.reviewed
        if reviewed < self.min_reviewed:
            return self._outcome(index, "max_share", q, "undecided", self.max_share, n=reviewed,
                                 reason=f"{reviewed} replies reviewed in queue '{q.name}', fewer "
                                        f"than min_reviewed {self.min_reviewed}")
        hit = sum(1 for by in q.by_item.values() if self.flag in by.values())
        share = hit / reviewed
        status: Status = "pass" if share <= self.max_share else "fail"
        return self._outcome(index, "max_share", q, status, self.max_share, estimate=share,
                             n=reviewed, method="share of reviewed replies (a human decision)",
                             reason=f"{hit} of {reviewed} reviewed replies labelled "
                                    f"'{self.flag}' by at least one reviewer in queue '{q.name}'")

    def _kappa(self, q: ReviewView, index: int, where: str) -> Outcome:
        from levelhead.analysis import judge_bad_labels
        from levelhead.analysis._review import queue_agreement

        assert self.min_kappa is not None
        positive = self.positive or judge_bad_labels(q.judge[0]) or ()
        if not positive:
            raise PolicyError(f"{where}: say which labels are positive (positive = [...])")
        if q.reviewed < self.min_reviewed:
            return self._outcome(index, "min_kappa", q, "undecided", self.min_kappa,
                                 n=q.reviewed, is_rate=False,
                                 reason=f"{q.reviewed} replies reviewed in queue '{q.name}', "
                                        f"fewer than min_reviewed {self.min_reviewed}")
        try:
            result = queue_agreement(q.items, q.by_item, q.sizes, positive)
        except ValueError as exc:
            return self._outcome(index, "min_kappa", q, "undecided", self.min_kappa,
                                 n=q.reviewed, is_rate=False, reason=str(exc))
        kappa = result.binary_kappa if result is not None else None
        if kappa is None or kappa.value is None or kappa.low is None or kappa.high is None:
            return self._outcome(index, "min_kappa", q, "undecided", self.min_kappa,
                                 n=q.reviewed, is_rate=False,
                                 reason=f"no judge-vs-people kappa in queue '{q.name}' yet")
        status: Status = ("pass" if kappa.low >= self.min_kappa else
                          "fail" if kappa.high < self.min_kappa else "undecided")
        return self._outcome(index, "min_kappa", q, status, self.min_kappa, estimate=kappa.value,
                             low=kappa.low, high=kappa.high, n=q.reviewed, is_rate=False,
                             method=result.method,
                             reason=f"{q.judge[0]} v{q.judge[1]} against {q.reviewed} reviewed "
                                    f"replies of queue '{q.name}': kappa {kappa.value:.2f} "
                                    f"({kappa.low:.2f}-{kappa.high:.2f})")
