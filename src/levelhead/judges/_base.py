"""The Judge protocol, judge identity, and the judge registry.

A judge turns one sample (a :class:`JudgeInput`) — or a pair of samples, for a
:class:`PairJudge` — into a :class:`JudgeVerdict`: a label from the judge's label set, an
optional score, a short rationale, and optional extra data. Its identity (name, version and
the arguments it was built with) is stored with every verdict so that it can be traced and
re-created.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from levelhead.registry import Registry

__all__ = [
    "JUDGE_ERROR",
    "Judge",
    "JudgeConfig",
    "JudgeInput",
    "JudgeVerdict",
    "PairJudge",
    "judge",
    "judge_identity",
    "registry",
]

#: The label of a verdict the judge could not give (unparsable output, judge model down).
#: It is counted as a missing verdict, never as any real label.
JUDGE_ERROR = "judge_error"


class JudgeConfig(BaseModel):
    """Settings every judge shares; a judge adds its own fields in a subclass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the registered judge, e.g. `abuse.lexicon`")


@dataclass(frozen=True, slots=True)
class JudgeInput:
    """What a judge sees of one sample.

    Attributes:
        id: the sample's identity (a work-item id, or the ``id`` of an input line).
        text: the reply being judged (the last assistant turn).
        messages: the whole transcript as role/content dicts (empty when only text is known).
        tags: the prompt's tags (``lang``, ``side``, ``pair`` ...).
        probe: the probe the sample belongs to, if any.
        prompt_id: the prompt's id, if any.
    """

    id: str
    text: str
    messages: tuple[Mapping[str, str], ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    probe: str | None = None
    prompt_id: str | None = None

    @property
    def user_text(self) -> str:
        """The last user turn before the reply (empty if unknown)."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return m.get("content", "")
        return ""


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    """A judge's decision. ``extra`` holds judge-specific data (matched terms, label
    probabilities, which sample of a pair was shown first ...) and must be JSON-serialisable."""

    label: str
    score: float | None = None
    rationale: str | None = None
    extra: Mapping[str, Any] | None = None


@runtime_checkable
class Judge(Protocol):
    """Judges one sample at a time. ``labels`` lists every label it can give (besides
    :data:`JUDGE_ERROR`); ``version`` changes whenever its verdicts could change. A judge may
    also name, in a class attribute ``bad_labels``, the labels that mark the failure it detects:
    compare and gate then look at those rates only (without it, at every label's). A judge with
    ``judge_text(text)`` is called on the reply alone in the engine's fast path, unless it sets
    ``uses_context = True`` (its verdict reads the conversation, e.g. the user's message)."""

    config: JudgeConfig
    version: str
    labels: tuple[str, ...]

    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        """The verdict on one sample."""
        ...


@runtime_checkable
class PairJudge(Protocol):
    """Judges two samples together (a mirrored pair, or baseline vs candidate)."""

    config: JudgeConfig
    version: str
    labels: tuple[str, ...]

    async def judge_pair(self, a: JudgeInput, b: JudgeInput) -> JudgeVerdict:
        """The verdict on the pair (a, b); the order shown to a model is the judge's business
        and is recorded in ``extra['shown_first']``."""
        ...


def judge_identity(j: Judge | PairJudge) -> tuple[str, str, str]:
    """(name, version, canonical JSON of the other arguments): what the store keys verdicts on."""
    args = j.config.model_dump(mode="json", exclude={"name"})
    return j.config.name, j.version, json.dumps(args, sort_keys=True, ensure_ascii=False)


registry: Registry[Any] = Registry(
    "judge",
    "levelhead.judges",
    # One line per built-in module; importing it registers its judges.
    builtins=(
        "levelhead.judges.lexicon",
        "levelhead.judges.refusal",
        "levelhead.judges.llm",
        "levelhead.judges.pairwise",
        "levelhead.judges.classifier",
        "levelhead.judges.hedging",
        "levelhead.judges.choice",
        "levelhead.judges.sycophancy",
        "levelhead.judges.scolding",
        "levelhead.judges.pressure",
    ),
)


def judge(name: str, *, config: type[JudgeConfig]):  # type: ignore[no-untyped-def]
    """Register a judge class under ``name``; ``config`` validates its settings."""
    return registry.register(name, config=config)
