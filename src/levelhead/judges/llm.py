"""The ``llm.rubric`` judge: any levelhead target grades replies against a rubric.

The rubric and the label set come from the probe or the spec. The judge model sees the reply
as delimited, neutralised data (see ``_prompting``); its answer must be one JSON object with a
label from the set (enforced by the endpoint where it can, e.g. llama.cpp and OpenAI structured
output) and is parsed strictly: anything else becomes a ``judge_error`` verdict, never a guess.
Where the endpoint returns log-probabilities, the probability of each label is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, cast

from pydantic import Field, field_validator, model_validator

from levelhead.errors import RetryableTargetError, TargetError, UnknownNameError
from levelhead.judges._base import (
    JUDGE_ERROR,
    BaseJudge,
    JudgeConfig,
    JudgeInput,
    JudgeVerdict,
    judge,
)
from levelhead.judges._prompting import (
    ParseError,
    data_block,
    label_probabilities,
    new_nonce,
    parse_answer,
    system_message,
    transcript_context,
    verdict_schema,
)
from levelhead.targets import Target, TargetConfig, build_target
from levelhead.targets import registry as target_registry

DEFAULT_JUDGE_TARGET: dict[str, Any] = {"kind": "local", "temperature": 0.0, "max_tokens": 160}


def validate_judge_target(table: dict[str, Any], judge_name: str) -> TargetConfig:
    """The judge model's target config from its table (temperature 0 unless given)."""
    table = {"name": f"{judge_name}-model", "temperature": 0.0, **table}
    kind = table.get("kind")
    if not isinstance(kind, str):
        raise ValueError("target needs a kind, e.g. { kind = \"local\" }")
    try:
        entry = target_registry.get(kind)
    except UnknownNameError as exc:
        raise ValueError(str(exc)) from None
    config = cast("type[TargetConfig]", entry.config)  # every target registers its config model
    return config.model_validate(table)


class RubricConfig(JudgeConfig):
    """Settings of an LLM rubric judge."""

    rubric: str = Field(min_length=10, description="what to look for and how to label it")
    labels: list[str] = Field(min_length=2, description="the labels the judge may give")
    target: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_JUDGE_TARGET),
                                   description="the judge model: any target table")
    context: bool = Field(True, description="show the conversation before the reply")
    logprobs: int = Field(5, ge=0, le=20, description="top alternatives to ask for (0: none)")
    max_chars: int = Field(8000, ge=100, description="longest reply shown, in characters")
    attempts: int = Field(3, ge=1, le=10, description="tries on a retryable judge-model failure")

    @field_validator("labels")
    @classmethod
    def _labels_ok(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        if JUDGE_ERROR in labels:
            raise ValueError(f"'{JUDGE_ERROR}' is reserved for verdicts that could not be given")
        return labels

    @model_validator(mode="after")
    def _target_ok(self) -> RubricConfig:
        validate_judge_target(self.target, self.name)
        return self


class _ModelJudge:
    """What the rubric and pairwise judges share: the judge model's lifecycle and one call
    (a mixin, before :class:`BaseJudge` or :class:`BasePairJudge` in the bases)."""

    config: Any

    def __init__(self, config: Any, target: Target | None = None, *,
                 shared_target: Target | None = None) -> None:
        self.config = config
        # A shared target is started and closed by its owner (several judges, one model).
        self._owns_target = shared_target is None
        self._target = shared_target or target or build_target(
            validate_judge_target(config.target, config.name))
        self._started = not self._owns_target
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if not self._started:
                await self._target.start()
                self._started = True

    async def close(self) -> None:
        """Close the judge model if this judge owns and started it."""
        if self._started and self._owns_target:
            await self._target.close()
            self._started = False

    async def _ask(self, system: str, user: str, labels: list[str], key: str) -> JudgeVerdict:
        await self.start()
        seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") >> 1
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        options = {"response_schema": verdict_schema(labels),
                   "logprobs": self.config.logprobs or None}
        for attempt in range(1, self.config.attempts + 1):
            try:
                (completion,) = (await self._target.complete(messages, n=1, seed=seed,
                                                             options=options))[:1]
                break
            except RetryableTargetError as exc:
                if attempt == self.config.attempts:
                    return JudgeVerdict(JUDGE_ERROR, rationale=f"judge model failed: {exc}")
                await asyncio.sleep(min(8.0, 0.5 * 2 ** attempt))
            except TargetError as exc:
                return JudgeVerdict(JUDGE_ERROR, rationale=f"judge model failed: {exc}")
        try:
            label, rationale = parse_answer(completion.text, labels)
        except ParseError as exc:
            return JudgeVerdict(JUDGE_ERROR, rationale=str(exc),
                                extra={"raw": completion.text[:500]})
        probs = label_probabilities(completion.text, completion.logprobs, labels)
        return JudgeVerdict(label, probs[label] if probs else None, rationale,
                            {"label_probs": probs} if probs else None)


@judge("llm.rubric", config=RubricConfig)
class RubricJudge(_ModelJudge, BaseJudge):
    """Grade each reply against a rubric with any target as the judge model (injection-hardened).

    Args:
        config: the rubric, labels and judge model.
        target: a ready judge-model target (e.g. a scripted one in tests) instead of building
            one from ``config.target``.
    """

    version = "1"

    def __init__(self, config: RubricConfig, target: Target | None = None, *,
                 shared_target: Target | None = None) -> None:
        super().__init__(config, target, shared_target=shared_target)
        self.labels = tuple(config.labels)

    def prompt(self, item: JudgeInput, nonce: str) -> tuple[str, str]:
        """The (system, user) messages the judge model gets for ``item``."""
        cfg = self.config
        blocks = []
        if cfg.context and len(item.messages) > 1:
            blocks.append(data_block("the conversation before the reply",
                                     transcript_context(item.messages[:-1]), nonce))
        blocks.append(data_block("the assistant reply to grade", item.text[: cfg.max_chars], nonce))
        user = (f"Rubric:\n{cfg.rubric}\n\nLabels: {', '.join(cfg.labels)}\n\n"
                + "\n\n".join(blocks) + "\n\nGrade the reply by the rubric and answer with the JSON "
                "object only.")
        return system_message(cfg.labels, nonce), user

    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        system, user = self.prompt(item, new_nonce())
        return await self._ask(system, user, list(self.config.labels), f"{item.id}:{self.version}")

