"""The ``scripted`` target kind: an in-package test double with scripted replies and
injectable faults. It is the sanctioned stand-in for a remote model in tests and demos.

Replies are chosen by a random generator seeded with the request's seed, so a sample's reply
depends on its seed only, whatever the order in which work is done. Faults are drawn afresh
on every call, so a retried call can succeed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from levelhead.errors import FatalTargetError, RetryableTargetError, TargetUnreachableError
from levelhead.records import Completion
from levelhead.targets._base import BaseTarget, TargetConfig, target

Responder = Callable[[list[dict[str, str]], random.Random], "str | Completion"]


class ScriptedConfig(TargetConfig):
    """Replies to give, and faults to inject."""

    kind: Literal["scripted"] = "scripted"
    replies: list[str] = Field(default_factory=lambda: ["OK."], min_length=1)
    weights: list[float] | None = Field(None, description="relative chance of each reply")
    by_prompt: dict[str, list[str]] = Field(
        default_factory=dict,
        description="replies for prompts whose last user message contains the key",
    )
    latency_ms: float = Field(0.0, ge=0)
    fail_rate: float = Field(0.0, ge=0, le=1, description="chance of a retryable failure")
    fatal_rate: float = Field(0.0, ge=0, le=1, description="chance of a non-retryable failure")
    unreachable: bool = Field(False, description="every call fails as if nothing listened")
    n_per_request: int = Field(1, ge=1, le=128)

    @model_validator(mode="after")
    def _weights_match(self) -> ScriptedConfig:
        if self.weights is not None and len(self.weights) != len(self.replies):
            raise ValueError(f"weights has {len(self.weights)} entries but replies has "
                             f"{len(self.replies)}; give one weight per reply")
        return self


@target("scripted", config=ScriptedConfig)
class ScriptedTarget(BaseTarget):
    """Scripted replies with injectable faults, for tests and demos (no model, no network).

    Args:
        config: the replies, weights and fault rates.
        responder: optional function ``(messages, rng) -> str | Completion`` that replaces the
            reply list, for planting a behaviour (e.g. a bias that depends on the prompt).
    """

    config: ScriptedConfig

    def __init__(self, config: ScriptedConfig, responder: Responder | None = None) -> None:
        self.config = config
        self._responder = responder
        self._calls = 0
        self.requests: int = 0

    def describe(self) -> str:
        return "scripted replies"

    def _reply(self, messages: list[dict[str, str]], rng: random.Random) -> Completion:
        if self._responder is not None:
            out = self._responder(messages, rng)
            return out if isinstance(out, Completion) else Completion(out, "stop")
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        replies, weights = self.config.replies, self.config.weights
        for key, options in self.config.by_prompt.items():
            if key in last_user:
                replies, weights = options, None
                break
        text = rng.choices(replies, weights=weights)[0] if weights else rng.choice(replies)
        return Completion(text, "stop", prompt_tokens=sum(len(m["content"]) for m in messages) // 4,
                          completion_tokens=max(1, len(text) // 4))

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None,
                       options: Mapping[str, Any] | None = None) -> list[Completion]:
        self._calls += 1
        self.requests += 1
        cfg = self.config
        if cfg.latency_ms:
            await asyncio.sleep(cfg.latency_ms / 1000)
        if cfg.unreachable:
            raise TargetUnreachableError(f"target '{cfg.name}': scripted as unreachable")
        fault = random.Random(f"{seed}:{self._calls}").random()
        if fault < cfg.fatal_rate:
            raise FatalTargetError(f"target '{cfg.name}': scripted fatal failure")
        if fault < cfg.fatal_rate + cfg.fail_rate:
            raise RetryableTargetError(f"target '{cfg.name}': scripted transient failure")
        base = seed if seed is not None else self._calls
        return [self._reply(messages, random.Random(f"{base}:{i}")) for i in range(n)]
