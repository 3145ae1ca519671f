"""A release-gate policy: which behaviours may do what, read from TOML.

A policy is a list of rules. Each rule has a ``kind`` (``"bound"`` when left out); a kind is a
pydantic model registered with :func:`rule_kind` that turns itself into outcomes through
:meth:`PolicyRule.evaluate`. Only ``"bound"`` exists today; qualitative rules from human spot
checks (``kind = "review"``) will register themselves the same way, without touching the gate.

Every mistake is one line with the file and the field path, e.g.
``policy.toml: rules[1].max_increase: Input should be greater than 0 (got -0.02)``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from levelhead.errors import PolicyError
from levelhead.registry import did_you_mean

if TYPE_CHECKING:
    from levelhead.report._gate import GateContext, Outcome

__all__ = ["BoundRule", "Policy", "PolicyRule", "load_policy", "policy_from_dict", "rule_kind"]


class PolicyRule(BaseModel):
    """Base of every rule kind: a name for the CI page, and how to evaluate it.

    A kind subclasses this, sets ``kind: Literal["..."]`` and registers with :func:`rule_kind`.
    ``evaluate`` returns one :class:`~levelhead.report._gate.Outcome` per target (and per probe
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

    @model_validator(mode="after")
    def _has_a_bound(self) -> BoundRule:
        if all(b is None for b in (self.max, self.min, self.max_increase, self.max_decrease)):
            raise ValueError("a rule needs a bound: max, min, max_increase or max_decrease")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        what = f"{self.metric} = {self.group}" if self.group is not None else self.metric
        return f"{self.probe}: {what}" if self.probe else what

    def evaluate(self, context: GateContext, index: int) -> list[Outcome]:
        from levelhead.report._gate import evaluate_bound_rule

        return evaluate_bound_rule(self, context, index)


class Policy(BaseModel):
    """A release-gate policy: defaults, the multiplicity correction, and the rules.

    ``correction = "holm"`` (the default) applies to *fail* decisions only: a release is blocked
    only by regressions that stand after Holm's correction over every check of the policy, so
    twenty rules do not give twenty chances of a false alarm. *Pass* needs no correction: the gate
    passes only when every check passes, an intersection-union test whose chance of passing a
    release that breaks any one rule is at most each check's own error (Berger, 1982).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="shown at the top of the summary")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="default one-sided level of max / min")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="default one-sided error of the margins")
    correction: Literal["holm", "none"] = "holm"
    rules: tuple[PolicyRule, ...] = Field(min_length=1)
    source: str = Field("policy", exclude=True)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _one_line(exc: ValidationError, prefix: tuple[Any, ...], source: str) -> PolicyError:
    err = exc.errors(include_url=False)[0]
    loc = prefix + tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see docs/release-gate.md)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return PolicyError(f"{source}: {_path(loc) or '(top level)'}: {msg}{tail}")


def policy_from_dict(data: Any, source: str = "policy") -> Policy:
    """Validate a policy given as a dict (the parsed TOML).

    Raises:
        PolicyError: the first problem, with ``source`` and the field path.
    """
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a table at the top level")
    rules = data.get("rules")
    if rules is None or rules == []:
        raise PolicyError(f"{source}: rules: a policy needs at least one [[rules]] table")
    if not isinstance(rules, list):
        raise PolicyError(f"{source}: rules: expected a list of [[rules]] tables")
    parsed: list[PolicyRule] = []
    for i, table in enumerate(rules):
        if not isinstance(table, dict):
            raise PolicyError(f"{source}: rules[{i}]: expected a table")
        kind = table.get("kind", "bound")
        if kind not in RULE_KINDS:
            raise PolicyError(f"{source}: rules[{i}].kind: no rule kind {kind!r}; "
                              f"{did_you_mean(str(kind), list(RULE_KINDS))}")
        try:
            parsed.append(RULE_KINDS[kind].model_validate({**table, "kind": kind}))
        except ValidationError as exc:
            raise _one_line(exc, ("rules", i), source) from None
    try:
        return Policy.model_validate({**data, "rules": tuple(parsed), "source": source})
    except ValidationError as exc:
        raise _one_line(exc, (), source) from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy TOML file.

    Raises:
        PolicyError: unreadable file, TOML syntax error or invalid field (file + field path).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    return policy_from_dict(data, str(path))
