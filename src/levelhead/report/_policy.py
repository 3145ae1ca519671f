"""A release-gate policy: which behaviours may do what, read from TOML.

A policy is a list of rules. Each rule has a ``kind`` (``"bound"`` when left out); a kind is a
pydantic model registered with :func:`rule_kind` (:mod:`levelhead.report._rules`) that turns
itself into outcomes through :meth:`PolicyRule.evaluate`. Only ``"bound"`` exists today
(:mod:`levelhead.report._bound`) and ``"review"``, rules on human spot checks
(:mod:`levelhead.report._review_rule`), registered the same way, without touching the gate.

Every mistake is one line with the file and the field path, e.g.
``policy.toml: rules[1].max_increase: Input should be greater than 0 (got -0.02)``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from levelhead.errors import PolicyError, validation_message
from levelhead.registry import did_you_mean
from levelhead.report._bound import BoundRule
from levelhead.report._review_rule import ReviewRule
from levelhead.report._rules import RULE_KINDS, PolicyRule, rule_kind

__all__ = ["RULE_KINDS", "BoundRule", "Policy", "PolicyRule", "ReviewRule", "load_policy",
           "policy_from_dict", "rule_kind"]


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


def _one_line(exc: ValidationError, prefix: tuple[Any, ...], source: str) -> PolicyError:
    return PolicyError(validation_message(exc.errors(include_url=False), source, prefix,
                                          "docs/release-gate.md"))


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


def load_policy(path: str | os.PathLike[str]) -> Policy:
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
