"""The Probe protocols and their defaults, the common probe settings, and the probe registry.

Every hook the runner, the report, the gate or the CLI calls on a probe is declared here:
:class:`Probe` for every probe, :class:`ConversationProbe` for a multi-turn one (the runner holds
its conversations through a simulated user), and :class:`UserPolicy` for that user.
:class:`BaseProbe` and :class:`BaseConversationProbe` give the optional hooks their defaults;
the built-in probes derive from them and :func:`probe` registers only classes that do, so that
callers call every hook directly.

The analysis hooks (``findings``, ``behaviours``, ``report_sections``) are static methods, called
on the registered class: the report runs them on a stored run without building the probe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeGuard, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from levelhead.records import Finding, Prompt
from levelhead.registry import Registry

if TYPE_CHECKING:
    from levelhead.analysis import BehaviourCounts, Language, ReportSection, RunData
    from levelhead.targets import Target, TargetConfig

__all__ = ["BaseConversationProbe", "BaseProbe", "ConversationProbe", "Probe", "ProbeClass",
           "ProbeConfig", "UserPolicy", "is_conversation", "probe", "registry"]


class ProbeConfig(BaseModel):
    """Settings every probe shares; a probe adds its own fields in a subclass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the registered probe, e.g. `custom`")
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]+$",
                           description="how this probe is called in the run (default: name)")
    judges: list[Any] = Field(default_factory=list,
                              description="judges for this probe's samples (default: the probe's)")

    @property
    def probe_id(self) -> str:
        """The probe's identity within a run."""
        return self.id or self.name


@runtime_checkable
class Probe(Protocol):
    """A family of conversations that elicits one behaviour with one technique.

    ``prompts`` is what the runner samples. The rest are read from the class as well as from
    an instance: ``default_judges`` when the spec names none; ``findings`` and ``behaviours``
    (the probe's own rates, for compare and gate) and ``report_sections`` computed from a
    stored run; ``rates_from_judges``, the judges whose raw label rates the probe's own rates
    replace where conditions are compared.
    """

    @property
    def config(self) -> ProbeConfig:
        """The validated settings it was built from."""
        ...

    @property
    def default_judges(self) -> tuple[str | dict[str, Any], ...]:
        """Judge tables used when the spec names none for this probe, e.g. ("abuse.lexicon",)."""
        ...

    @property
    def rates_from_judges(self) -> tuple[str, ...]:
        """Judges whose labels the probe's own rates interpret (over-refusal on benign prompts
        only ...): conditions watch those rates, not these judges' raw labels."""
        ...

    def prompts(self) -> list[Prompt]:
        """The prompts, each with a stable id (stable across runs, for comparisons)."""
        ...

    @staticmethod
    def findings(data: RunData, probe_id: str) -> list[Finding]:
        """The probe's own findings on a run (besides the error and label rates every probe
        gets)."""
        ...

    @staticmethod
    def behaviours(data: RunData, probe_id: str) -> list[BehaviourCounts]:
        """The probe's own rates as per-prompt counts, for compare, conditions and gate."""
        ...

    @staticmethod
    def report_sections(data: RunData, findings: list[Finding], probe_id: str,
                        lang: Language = "en") -> list[ReportSection]:
        """The probe's own sections of the report page, in the reader's language ``lang``
        (every word from the catalogue, ``levelhead.analysis.say``)."""
        ...


@runtime_checkable
class UserPolicy(Protocol):
    """Writes the simulated user's next message in a multi-turn conversation."""

    persona: str

    async def next_message(self, history: list[dict[str, str]], turn: int, seed: int) -> str:
        """The user's message number ``turn`` (2, 3, ...; turn 1 is the prompt's own message).

        ``history`` is the conversation so far as ``{"role", "content"}`` dicts, no system
        message, ending with the assistant's latest reply. Same (history, turn, seed), same
        message.
        """
        ...


@runtime_checkable
class ConversationProbe(Probe, Protocol):
    """A multi-turn probe: each prompt opens a conversation that a simulated user carries on,
    up to ``max_turns`` assistant turns, every turn judged as it arrives."""

    @property
    def max_turns(self) -> int:
        """Assistant turns per conversation."""
        ...

    @property
    def stop_on(self) -> bool | list[str]:
        """End a conversation at its first bad turn: True (any judge), judge names, or False."""
        ...

    @property
    def user_target_config(self) -> TargetConfig | None:
        """The target that plays the user, or None for scripted users."""
        ...

    def user_policy(self, prompt: Prompt, user_target: Target | None = None) -> UserPolicy:
        """The simulated user of ``prompt``'s conversation (played by ``user_target`` when
        given: the started target of ``user_target_config``)."""
        ...

    def mean_user_tokens(self) -> float | None:
        """Rough length in tokens of a simulated user's message, for the cost estimate; None:
        as long as the prompts' opening messages."""
        ...


ConfigT = TypeVar("ConfigT", bound=ProbeConfig)


class BaseProbe(ABC, Generic[ConfigT]):
    """The defaults of :class:`Probe`'s optional hooks; the built-in probes derive from it and
    a plugin must. A subclass implements :meth:`prompts` and overrides the hooks it has."""

    default_judges: tuple[str | dict[str, Any], ...] = ()
    rates_from_judges: tuple[str, ...] = ()

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @abstractmethod
    def prompts(self) -> list[Prompt]:
        """The prompts, each with a stable id (stable across runs, for comparisons)."""

    @staticmethod
    def findings(data: RunData, probe_id: str) -> list[Finding]:
        """None of its own by default: the error and label rates every probe gets."""
        return []

    @staticmethod
    def behaviours(data: RunData, probe_id: str) -> list[BehaviourCounts]:
        """None of its own by default: compare and gate use the judges' label rates."""
        return []

    @staticmethod
    def report_sections(data: RunData, findings: list[Finding], probe_id: str,
                        lang: Language = "en") -> list[ReportSection]:
        """None of its own by default: the report's generic sections."""
        return []


class BaseConversationProbe(BaseProbe[ConfigT]):
    """The defaults of :class:`ConversationProbe`'s optional hooks. A subclass sets
    ``max_turns`` and implements :meth:`user_policy` (and :meth:`prompts`)."""

    max_turns: int
    stop_on: bool | list[str] = False
    user_target_config: TargetConfig | None = None

    @abstractmethod
    def user_policy(self, prompt: Prompt, user_target: Target | None = None) -> UserPolicy:
        """The simulated user of ``prompt``'s conversation."""

    def mean_user_tokens(self) -> float | None:
        """None by default: a user message is taken to be as long as an opening message."""
        return None


#: What the probe registry holds: the probe classes, built from their validated configs.
ProbeClass = type[BaseProbe[Any]]

ProbeClassT = TypeVar("ProbeClassT", bound=ProbeClass)


def is_conversation(p: Probe) -> TypeGuard[ConversationProbe]:
    """Whether the runner holds ``p``'s prompts as multi-turn conversations."""
    return isinstance(p, BaseConversationProbe)


registry: Registry[ProbeClass] = Registry("probe", "levelhead.probes",
                                          builtins=("levelhead.probes.custom",
                                                    "levelhead.probes.politics",
                                                    "levelhead.probes.sycophancy",
                                                    "levelhead.probes.scolding",
                                                    "levelhead.probes.pressure"))


def probe(name: str, *, config: type[ProbeConfig]) -> Callable[[ProbeClassT], ProbeClassT]:
    """Register a probe class under ``name``; ``config`` validates its spec table.

    Raises:
        TypeError: when the class does not derive from :class:`BaseProbe` (or
            :class:`BaseConversationProbe`), which give the optional hooks their defaults.
    """
    register = registry.register(name, config=config)

    def decorate(cls: ProbeClassT) -> ProbeClassT:
        if not (isinstance(cls, type) and issubclass(cls, BaseProbe)):
            raise TypeError(f"probe '{name}' must subclass levelhead.probes.BaseProbe (or "
                            "BaseConversationProbe for multi-turn): they give the optional hooks "
                            "defaults")
        register(cls)
        return cls

    return decorate
