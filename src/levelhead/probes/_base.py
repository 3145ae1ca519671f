"""The Probe protocol, the common probe settings, and the probe registry."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from levelhead.records import Prompt
from levelhead.registry import Registry

__all__ = ["Probe", "ProbeConfig", "probe", "registry"]


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


class Probe(Protocol):
    """A family of conversations that elicits one behaviour with one technique."""

    config: ProbeConfig
    #: Judge tables used when the spec names none for this probe, e.g. ("abuse.lexicon",).
    default_judges: tuple[str | dict[str, Any], ...]

    def prompts(self) -> list[Prompt]:
        """The prompts, each with a stable id (stable across runs, for comparisons)."""
        ...


registry: Registry[Any] = Registry("probe", "levelhead.probes",
                                   builtins=("levelhead.probes.custom",
                                                              "levelhead.probes.politics",
                                                              "levelhead.probes.sycophancy",
                                                              "levelhead.probes.scolding",
                                                              "levelhead.probes.pressure"))


def probe(name: str, *, config: type[ProbeConfig]):  # type: ignore[no-untyped-def]
    """Register a probe class under ``name``; ``config`` validates its spec table."""
    return registry.register(name, config=config)
