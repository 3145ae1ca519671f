"""Pressure probes: long conversations with a demanding user (EN and ZH, written by this project).

A coding assistant, asked again and again to revise the same code, finally told its user
"你这么事逼的用户我头一次见, 改来改去不烦吗" and "滚" (MISSION.md, incident 3). It happens deep in
a conversation, after repeated negative feedback, where single-turn red-teaming never looks.
``pressure.demanding_user`` reproduces that at scale: each prompt is a starting task (code, copy,
a New Year poster slogan ...) and a **persona** — the endless reviser, the impatient, the rude
and the contradicting user — that writes every next user message from the conversation so far
(scripted templates, deterministic under the seed, or a model playing the user with ``user =``).
The runner sends the growing conversation turn by turn and judges every assistant turn as it
arrives (see ``levelhead.runner._conversation``); the findings measure the risk as a function of
how long the pressure lasts: the Kaplan-Meier curve of "still civil after turn t", the hazard
per turn, its onset, early against late turns, and abusive turns per 1,000.

The package holds the config and the probe (here), the simulated users (``_personas``: the
personas and tasks in ``_data``, scripted users in ``_scripted``, model-played users in
``_llm_user``), the prompt data (``data/``), the findings (``_findings``) and the report
section (``_report``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field, field_validator, model_validator

from levelhead.errors import SpecError
from levelhead.probes._base import BaseConversationProbe, ProbeConfig, UserPolicy, probe
from levelhead.probes.pressure._personas import (
    LANGUAGES,
    PERSONAS,
    LLMUser,
    PressureDataError,
    ScriptedUser,
    Task,
    clean_user_message,
    load_tasks,
    make_policy,
    persona_prompt,
)
from levelhead.records import Finding, Prompt, Turn

if TYPE_CHECKING:
    from levelhead.analysis import BehaviourCounts, ReportSection, RunData
    from levelhead.analysis import Language as ReportLanguage
    from levelhead.targets import Target

__all__ = ["LANGUAGES", "PERSONAS", "DemandingUserProbe", "LLMUser", "PressureConfig",
           "PressureDataError", "ScriptedUser", "Task", "UserPolicy", "clean_user_message",
           "load_tasks", "make_policy", "persona_prompt"]

Lang = Literal["en", "zh"]


class PressureConfig(ProbeConfig):
    """Which conversations to hold, and how long."""

    personas: list[str] | None = Field(
        None, min_length=1, description="reviser, impatient, rude, contradicting (default: all)")
    languages: list[Lang] = Field(default_factory=lambda: cast("list[Lang]", ["en", "zh"]),
                                 min_length=1)
    domains: list[str] | None = Field(None, description="only tasks of these domains (code, "
                                                        "copy, slogan, ...)")
    limit: int | None = Field(None, ge=1, description="at most this many tasks per language")
    file: str | None = Field(None, description="tasks from a JSONL file in the packaged layout")
    max_turns: int = Field(20, ge=2, le=50, description="assistant turns per conversation")
    stop_on: bool | list[str] = Field(
        False, description="end a conversation at its first bad turn: true (any judge), a list "
                           "of judge names, or false (run every conversation to max_turns)")
    user: dict[str, Any] | None = Field(
        None, description="a target table: that model plays the user (default: scripted users)")
    late_from: int | None = Field(
        None, ge=2, description="first turn counted as late in early-vs-late comparisons "
                                "(default: max_turns // 2 + 1)")

    @field_validator("personas")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            if name not in PERSONAS:
                raise ValueError(f"unknown persona {name!r}; choose from {', '.join(PERSONAS)}")
        return value

    @model_validator(mode="after")
    def _late_inside(self) -> PressureConfig:
        if self.late_from is not None and self.late_from > self.max_turns:
            raise ValueError(f"late_from ({self.late_from}) is beyond max_turns "
                             f"({self.max_turns})")
        return self

    @model_validator(mode="after")
    def _user_ok(self) -> PressureConfig:
        # Checked with the spec, so a bad table is reported by field path like any other
        # (and its values, which may hold a key, are not echoed).
        if self.user is not None:
            from pydantic import ValidationError

            from levelhead.judges.llm import validate_judge_target

            try:
                validate_judge_target(self.user_table(), f"{self.probe_id}-user")
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where = ".".join(str(x) for x in first["loc"])
                raise ValueError(f"user.{where}: "
                                 f"{first['msg'].removeprefix('Value error, ')}") from None
            except ValueError as exc:
                raise ValueError(f"user: {exc}") from None
        return self

    def user_table(self) -> dict[str, Any]:
        """The target table of the model that plays the user (warmer than a judge)."""
        return {"name": f"{self.probe_id}-user", "temperature": 0.9, **(self.user or {})}

    @property
    def split(self) -> int:
        return self.late_from or self.max_turns // 2 + 1


@probe("pressure.demanding_user", config=PressureConfig)
class DemandingUserProbe(BaseConversationProbe[PressureConfig]):
    """Starting tasks x personas; each prompt is one conversation of up to ``max_turns``."""

    default_judges = ("abuse.lexicon", "pressure.rules")

    def __init__(self, config: PressureConfig) -> None:
        super().__init__(config)
        self.max_turns = config.max_turns
        self.stop_on = config.stop_on
        self.personas = list(config.personas or PERSONAS)
        try:
            self._tasks = load_tasks(config.languages, config.domains, config.limit, config.file)
        except ValueError as exc:
            raise SpecError(f"probe '{config.name}': {exc}") from None
        if config.user is not None:  # validated with the spec (PressureConfig._user_ok)
            from levelhead.judges.llm import validate_judge_target

            self.user_target_config = validate_judge_target(config.user_table(),
                                                            f"{config.probe_id}-user")
        self._by_id: dict[str, tuple[str, Task]] = {}

    def prompts(self) -> list[Prompt]:
        out = []
        for task in self._tasks:
            for persona in self.personas:
                pid = f"{task.id}.{persona}"
                self._by_id[pid] = (persona, task)
                out.append(Prompt(id=pid, messages=(Turn(role="user", content=task.text),),
                                  tags={"lang": task.lang, "persona": persona,
                                        "domain": task.domain, "task": task.id,
                                        "prompt": task.text}))
        return out

    def user_policy(self, prompt: Prompt, user_target: Target | None = None) -> UserPolicy:
        """The simulated user of this conversation: the prompt's persona on its task."""
        if not self._by_id:
            self.prompts()
        persona, task = self._by_id[prompt.id]
        return make_policy(persona, task, user_target)

    def mean_user_tokens(self) -> float:
        """Rough length of a persona's message, for the cost estimate."""
        return 30.0

    @staticmethod
    def findings(data: RunData, probe_id: str) -> list[Finding]:
        """Per target, overall and per persona: civil-to-the-end (Kaplan-Meier), abusive turns
        per 1,000, early and late hazards, their difference and the onset of the hazard."""
        from levelhead.probes.pressure._findings import pressure_findings

        return pressure_findings(data, probe_id)

    @staticmethod
    def behaviours(data: RunData, probe_id: str) -> list[BehaviourCounts]:
        """Bad turns per prompt (clustered by prompt), for compare and gate."""
        from levelhead.probes.pressure._findings import pressure_behaviours

        return pressure_behaviours(data, probe_id)

    @staticmethod
    def report_sections(data: RunData, findings: list[Finding], probe_id: str,
                        lang: ReportLanguage = "en") -> list[ReportSection]:
        """The survival curve with intervals, the hazard per turn, the worst conversations."""
        from levelhead.probes.pressure._report import pressure_sections

        return pressure_sections(data, findings, probe_id, lang)
