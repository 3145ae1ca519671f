"""Rule kinds of a release-gate policy: the base every kind derives from, and their registry.

A kind is a pydantic model registered with :func:`rule_kind` that turns itself into outcomes
through :meth:`PolicyRule.evaluate`: ``"bound"`` (:mod:`levelhead.report._bound`) and
``"review"``, rules on human spot checks (:mod:`levelhead.report._review_rule`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from levelhead.report._context import GateContext
    from levelhead.report._outcome import Outcome

__all__ = ["RULE_KINDS", "PolicyRule", "rule_kind"]


class PolicyRule(BaseModel):
    """Base of every rule kind: a name for the CI page, and how to evaluate it.

    A kind subclasses this, sets ``kind: Literal["..."]`` and registers with :func:`rule_kind`.
    ``evaluate`` returns one :class:`~levelhead.report._outcome.Outcome` per target (and per probe
    or bound, where the rule fans out). An outcome that rests on a statistical test carries the
    p-value of "the behaviour breaks the rule" (``violation_p``), so the policy's multiplicity
    correction can cover it; an outcome from a human decision leaves it ``None``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="shown in the summary and as the JUnit test name")

    def label(self) -> str:
        """The rule's name, or one made from what it is about."""
        return self.name or self.kind

    def evaluate(self, context: GateContext, index: int) -> list[Outcome]:  # pragma: no cover
        """Outcomes of this rule on the runs of ``context``; ``index`` is the rule's place in
        the policy (usage errors name ``"policy.toml: rules[<index>]"``)."""
        raise NotImplementedError


RULE_KINDS: dict[str, type[PolicyRule]] = {}

R = TypeVar("R", bound=type[PolicyRule])


def rule_kind(name: str) -> Callable[[R], R]:
    """Register a rule kind under ``name`` (the ``kind`` a policy table gives)."""

    def register(cls: R) -> R:
        RULE_KINDS[name] = cls
        return cls

    return register
