"""A guard policy: which judges screen each reply, and what happens when one of them trips.

Read from TOML (``levelhead guard --policy FILE``); every mistake is one line with the file and
the field path, e.g. ``guard.toml: rules[0].action: Input should be 'block', 'redact' or 'flag'
(got 'drop')``. With no file, :func:`default_policy` blocks abusive replies in English and
Chinese (``examples/guard.toml`` spells it out).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from levelhead.errors import PolicyError, field_path, validation_message
from levelhead.judges import JudgeConfig, registry

__all__ = ["DEFAULT_MESSAGES", "GuardPolicy", "GuardRule", "default_policy", "load_policy",
           "policy_from_dict"]

#: What a blocked reply says instead, by language.
DEFAULT_MESSAGES: dict[Literal["en", "zh"], str] = {
    "en": "This reply was withheld by a content filter.",
    "zh": "该回复已被内容过滤器拦截。",
}


def _default_messages() -> dict[Literal["en", "zh"], str]:
    return dict(DEFAULT_MESSAGES)


class GuardRule(BaseModel):
    """One judge, the labels of it that trigger, and what to do then."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    judge: JudgeConfig = Field(description="a registered judge: a name, or a table with `name`")
    labels: tuple[str, ...] = Field(min_length=1, description="the judge's labels that trigger")
    action: Literal["block", "redact", "flag"] = Field(
        description="block: replace the reply; redact: mask the matched spans; flag: record only")


class GuardPolicy(BaseModel):
    """The rules, what to do when a judge fails, and the limits of the proxy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[GuardRule, ...] = Field(min_length=1)
    on_error: Literal["block", "pass"] = Field(
        "block", description="what a judge that raises or times out does to the reply")
    hold_back: int = Field(64, ge=0, le=100_000,
                           description="characters held back from a stream until judged past")
    message: dict[Literal["en", "zh"], str] = Field(
        default_factory=_default_messages,
        description="what a blocked reply says instead, by language")
    api_key_env: str | None = Field(
        None, description="env var with the upstream key, used when the client sends none")
    judge_timeout_s: float = Field(2.0, gt=0, description="time a judge has for one verdict")
    upstream_timeout_s: float = Field(60.0, gt=0, description="time the upstream has to answer")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger requests get 413")
    store_text: bool = Field(
        False, description="keep each reply's text with its decision in the store (off: only "
                           "the verdicts, action, language, model and timings are kept)")
    source: str = Field("policy", exclude=True)

    def message_for(self, lang: str) -> str:
        """The block message in ``lang`` (English when there is none in it)."""
        for key, text in self.message.items():
            if key == lang:
                return text
        return self.message.get("en") or DEFAULT_MESSAGES["en"]


def _one_line(exc: ValidationError, prefix: tuple[Any, ...], source: str) -> PolicyError:
    return PolicyError(validation_message(exc.errors(include_url=False), source, prefix,
                                          "docs/guard.md"))


def _judge_config(table: Any, where: tuple[Any, ...], source: str) -> JudgeConfig:
    if isinstance(table, str):
        table = {"name": table}
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise PolicyError(f"{source}: {field_path(where)}: expected a judge name, or a table with "
                          "`name` and the judge's settings")
    entry = registry.get(table["name"], field=f"{source}: {field_path(where)}")
    config_type: Any = entry.config or JudgeConfig
    try:
        config: JudgeConfig = config_type.model_validate(table)
    except ValidationError as exc:
        raise _one_line(exc, where, source) from None
    return config


def policy_from_dict(data: Any, source: str = "policy") -> GuardPolicy:
    """Validate a policy given as a dict (the parsed TOML).

    Raises:
        PolicyError: the first problem, with ``source`` and the field path.
        UnknownNameError: a judge that is not registered (with did-you-mean).
    """
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a table at the top level")
    rules = data.get("rules")
    fixed = dict(data)
    if isinstance(rules, list):
        fixed["rules"] = [
            {**r, "judge": _judge_config(r["judge"], ("rules", i, "judge"), source)}
            if isinstance(r, dict) and "judge" in r else r
            for i, r in enumerate(rules)
        ]
    try:
        policy = GuardPolicy.model_validate({**fixed, "source": source})
    except ValidationError as exc:
        raise _one_line(exc, (), source) from None
    for i, rule in enumerate(policy.rules):
        known = getattr(registry.get(rule.judge.name).factory, "labels", None)
        if isinstance(known, tuple) and (unknown := sorted(set(rule.labels) - set(known))):
            raise PolicyError(f"{source}: rules[{i}].labels: {rule.judge.name} never gives "
                              f"{', '.join(unknown)}; it gives {', '.join(known)}")
    return policy


def load_policy(path: str | Path) -> GuardPolicy:
    """Read and validate a policy TOML file.

    Raises:
        PolicyError: the file is missing, not TOML, or not a valid policy (one line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: cannot read the policy (not UTF-8: {exc.reason})") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc})") from None
    return policy_from_dict(data, str(path))


def default_policy() -> GuardPolicy:
    """Block replies that ``abuse.lexicon`` finds abusive, in English and Chinese."""
    return policy_from_dict({"rules": [{"judge": "abuse.lexicon", "labels": ["abusive"],
                                        "action": "block"}]}, "default policy")
