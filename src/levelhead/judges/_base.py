"""The Judge protocol, judge identity, and the judge registry.

A judge turns one sample (a :class:`JudgeInput`) — or a pair of samples, for a
:class:`PairJudge` — into a :class:`JudgeVerdict`: a label from the judge's label set, an
optional score, a short rationale, and optional extra data. Its identity (name, version and
the arguments it was built with) is stored with every verdict so that it can be traced and
re-created.

Every hook a caller uses is declared on :class:`Judge` and :class:`PairJudge`; the optional
ones get their defaults from :class:`BaseJudge` and :class:`BasePairJudge`, which every
registered judge class derives from (``@judge`` refuses one that does not), so callers call
hooks directly, never through ``getattr``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from levelhead.registry import Registry

__all__ = [
    "JUDGE_ERROR",
    "BaseJudge",
    "BasePairJudge",
    "Judge",
    "JudgeClass",
    "JudgeConfig",
    "JudgeInput",
    "JudgeVerdict",
    "PairJudge",
    "PairableSample",
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
    """Judges one sample at a time. Every hook the engine, the CLI and the report call is here;
    :class:`BaseJudge` gives the optional ones their defaults.

    ``labels`` lists every label it can give (besides :data:`JUDGE_ERROR`); ``version`` changes
    whenever its verdicts could change. ``bad_labels`` names the labels that mark the failure
    it detects: compare and gate then look at those rates only (None: at every label's).

    The engine's fast path: a judge whose verdict comes from the reply alone without I/O
    (``sync`` true and ``uses_context`` false) is given replies through ``judge_texts`` (in a
    run, each reply through ``judge_text`` as it arrives, unless ``batched``) instead of being
    awaited through ``judge``; both must give the verdict ``judge`` gives.
    """

    @property
    def config(self) -> JudgeConfig:
        """The validated settings it was built from (its identity, with ``version``)."""
        ...

    @property
    def version(self) -> str:
        """Changes whenever its verdicts could change."""
        ...

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label it can give, besides :data:`JUDGE_ERROR`."""
        ...

    @property
    def bad_labels(self) -> tuple[str, ...] | None:
        """The labels that mark the failure it detects, or None when it declares none. Set on
        the class: the report reads it from the registered class without building a judge."""
        ...

    @property
    def uses_context(self) -> bool:
        """True when its verdict reads more than the reply (the user's message, the prompt's
        tags): the engine then always awaits :meth:`judge`."""
        ...

    @property
    def sync(self) -> bool:
        """True when :meth:`judge_text` / :meth:`judge_texts` give the whole verdict without
        I/O (no judge model to ask)."""
        ...

    @property
    def batched(self) -> bool:
        """True when :meth:`judge` gathers concurrent calls into one :meth:`judge_texts` batch
        (an offline classifier): the engine then sends single replies to :meth:`judge` rather
        than to :meth:`judge_text`."""
        ...

    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        """The verdict on one sample."""
        ...

    def judge_text(self, text: str) -> JudgeVerdict:
        """The verdict on a reply alone, without I/O (only called when ``sync``)."""
        ...

    def judge_texts(self, texts: Sequence[str]) -> list[JudgeVerdict]:
        """The verdicts on many replies alone, in order, without I/O (only called when
        ``sync``)."""
        ...

    async def close(self) -> None:
        """Release what it opened (a judge model); safe to call more than once."""
        ...


class PairableSample(Protocol):
    """What a pair judge reads of a stored sample to pair it up (the store's ``StoredSample``):
    its target (name and store id), probe, prompt key, sample index and the prompt's tags."""

    @property
    def target(self) -> str: ...
    @property
    def target_id(self) -> int: ...
    @property
    def probe(self) -> str: ...
    @property
    def prompt_key(self) -> str: ...
    @property
    def sample_index(self) -> int: ...
    @property
    def tags(self) -> Mapping[str, str]: ...


SampleT = TypeVar("SampleT", bound=PairableSample)


@runtime_checkable
class PairJudge(Protocol):
    """Judges two samples together (a mirrored pair, or baseline vs candidate);
    :class:`BasePairJudge` gives the optional hooks their defaults."""

    @property
    def config(self) -> JudgeConfig: ...
    @property
    def version(self) -> str: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def bad_labels(self) -> tuple[str, ...] | None: ...

    async def judge_pair(self, a: JudgeInput, b: JudgeInput) -> JudgeVerdict:
        """The verdict on the pair (a, b); the order shown to a model is the judge's business
        and is recorded in ``extra['shown_first']``."""
        ...

    def select_pairs(self, samples: Sequence[SampleT]) -> list[tuple[SampleT, SampleT]]:
        """The pairs (a, b) of these stored samples that it compares."""
        ...

    async def close(self) -> None:
        """Release what it opened (a judge model); safe to call more than once."""
        ...


class _JudgeDefaults(ABC):
    """What single-sample and pair judges share, with its defaults."""

    config: JudgeConfig
    version: str
    #: Set per instance by a judge whose labels come from its settings (``llm.rubric``); on
    #: the class it is then empty.
    labels: tuple[str, ...] = ()
    #: None: the judge declares no failure labels (compare and gate look at every label).
    bad_labels: tuple[str, ...] | None = None

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config

    async def close(self) -> None:
        """Nothing to release by default."""
        return None


class BaseJudge(_JudgeDefaults):
    """The defaults of :class:`Judge`'s optional hooks; the built-in judges inherit it and a
    plugin should. A subclass sets ``version`` and ``labels``, implements :meth:`judge`, and
    for the engine's fast path sets ``sync`` and implements :meth:`judge_text` (or
    :meth:`judge_texts`)."""

    uses_context: bool = False
    batched: bool = False

    @property
    def sync(self) -> bool:
        """False by default: the engine awaits :meth:`judge`."""
        return False

    @abstractmethod
    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        """The verdict on one sample."""

    def judge_text(self, text: str) -> JudgeVerdict:
        """Not offered by default (``sync`` is false)."""
        raise NotImplementedError(f"{type(self).__name__} judges samples through judge(), "
                                  "not the reply alone")

    def judge_texts(self, texts: Sequence[str]) -> list[JudgeVerdict]:
        """:meth:`judge_text` of each reply."""
        return [self.judge_text(t) for t in texts]


class BasePairJudge(_JudgeDefaults):
    """The defaults of :class:`PairJudge`'s optional hooks; the built-in pair judges inherit
    it and a plugin should."""

    @abstractmethod
    async def judge_pair(self, a: JudgeInput, b: JudgeInput) -> JudgeVerdict:
        """The verdict on the pair (a, b)."""

    @abstractmethod
    def select_pairs(self, samples: Sequence[SampleT]) -> list[tuple[SampleT, SampleT]]:
        """The pairs (a, b) of these stored samples that it compares."""


#: What the judge registry holds: the judge classes, built from their validated configs.
JudgeClass = type[BaseJudge] | type[BasePairJudge]


def judge_identity(j: Judge | PairJudge) -> tuple[str, str, str]:
    """(name, version, canonical JSON of the other arguments): what the store keys verdicts on."""
    args = j.config.model_dump(mode="json", exclude={"name"})
    return j.config.name, j.version, json.dumps(args, sort_keys=True, ensure_ascii=False)


registry: Registry[JudgeClass] = Registry(
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
        "levelhead.judges.ensemble",
        "levelhead.judges.learned",
    ),
)


def judge(name: str, *, config: type[JudgeConfig]) -> Callable[[JudgeClass], JudgeClass]:
    """Register a judge class under ``name``; ``config`` validates its settings.

    Raises:
        TypeError: when the class derives from neither :class:`BaseJudge` nor
            :class:`BasePairJudge` (they give the optional hooks their defaults).
    """
    register = registry.register(name, config=config)

    def decorate(cls: JudgeClass) -> JudgeClass:
        if not (isinstance(cls, type) and issubclass(cls, BaseJudge | BasePairJudge)):
            raise TypeError(f"judge '{name}' must subclass levelhead.judges.BaseJudge (or "
                            "BasePairJudge for pairs): they give the optional hooks defaults")
        return register(cls)

    return decorate
