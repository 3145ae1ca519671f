"""The ``custom`` probe: prompts written inline in the spec, as text or as a list of turns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from levelhead.probes._base import BaseProbe, ProbeConfig, probe
from levelhead.records import Prompt, Turn


class PromptSpec(BaseModel):
    """One inline prompt: ``text`` (one user turn) or ``messages`` (a list of turns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    text: str | None = Field(None, min_length=1)
    messages: tuple[Turn, ...] | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_of(self) -> PromptSpec:
        if (self.text is None) == (self.messages is None):
            raise ValueError("give either text or messages (exactly one of them)")
        if self.messages is not None and not self.messages:
            raise ValueError("messages is empty; give at least one turn")
        return self

    def to_prompt(self) -> Prompt:
        turns = self.messages or (Turn(role="user", content=self.text or ""),)
        return Prompt(id=self.id, messages=turns, tags=self.tags)


class CustomConfig(ProbeConfig):
    """Inline prompts."""

    prompts: list[PromptSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> CustomConfig:
        seen: set[str] = set()
        for p in self.prompts:
            if p.id in seen:
                raise ValueError(f"prompt id '{p.id}' appears twice; ids must be unique")
            seen.add(p.id)
        return self


@probe("custom", config=CustomConfig)
class CustomProbe(BaseProbe[CustomConfig]):
    """Prompts written inline in the spec (text, or a list of turns)."""

    def prompts(self) -> list[Prompt]:
        return [p.to_prompt() for p in self.config.prompts]
