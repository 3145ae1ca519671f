"""The Target protocol with its defaults (:class:`BaseTarget`), the common target settings, and the
target registry."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from levelhead.records import Completion
from levelhead.registry import Registry

__all__ = ["BaseTarget", "Target", "TargetConfig", "registry", "target"]


class TargetConfig(BaseModel):
    """Settings every target kind shares. A kind adds its own fields in a subclass.

    Secrets are never fields: a config names the environment variable that holds a key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:/@+-]+$")
    kind: str
    system: str | None = Field(None, description="system message sent before every prompt")
    temperature: float | None = Field(1.0, ge=0, le=5)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int = Field(256, ge=1, le=1_000_000)
    concurrency: int = Field(16, ge=1, le=4096, description="requests in flight at once")
    n_per_request: int = Field(
        1, ge=1, le=128,
        description="samples asked for in one request where the endpoint accepts `n`",
    )
    timeout_s: float = Field(120.0, gt=0, description="per-request timeout")
    max_retries: int = Field(5, ge=0, le=50, description="retries of a retryable failure")
    max_backoff_s: float = Field(60.0, gt=0, description="longest wait between two attempts")

    def settings(self) -> dict[str, Any]:
        """Settings as stored with a run: everything that shapes the replies, no secrets."""
        return self.model_dump(mode="json", exclude_none=True)

    def settings_hash(self) -> str:
        """Hash of the settings that change what the target replies (not concurrency etc.)."""
        keep = {k: v for k, v in self.settings().items() if k not in _OPERATIONAL}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]

    def ray_resources(self) -> dict[str, float]:
        """What one Ray task sampling this target needs (``--executor ray``): a CPU by
        default; a kind that runs a model in-process asks for its threads or GPUs."""
        return {"num_cpus": 1}


# Settings that change how fast a run goes, not what the target answers: they may differ
# between a run and its resume.
_OPERATIONAL = frozenset(
    {"concurrency", "timeout_s", "max_retries", "max_backoff_s", "n_per_request", "parallel",
     "threads", "latency_ms"}
)


@runtime_checkable
class Target(Protocol):
    """The system under test: one narrow async method, plus start and close. Every hook the
    runner, the judges and the CLI call is here; :class:`BaseTarget` gives the optional ones
    (``max_n``, ``start``, ``close``, ``describe``) their defaults.

    ``complete`` returns between 1 and ``n`` completions for one conversation. It raises
    :class:`~levelhead.errors.RetryableTargetError`, :class:`~levelhead.errors.FatalTargetError`
    or :class:`~levelhead.errors.TargetUnreachableError`, never a library's own exception.
    """

    @property
    def config(self) -> TargetConfig:
        """The validated settings it was built from."""
        ...

    @property
    def max_n(self) -> int:
        """The most samples one ``complete`` call may be asked for."""
        ...

    async def start(self) -> None:
        """Open connections or load weights; called once before the first ``complete``."""
        ...

    async def complete(
        self, messages: list[dict[str, str]], *, n: int = 1, seed: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[Completion]:
        """Sample ``n`` replies to ``messages`` (role/content dicts, system message included).

        ``options`` are requests a caller such as a judge may make; a target honours what its
        endpoint supports and ignores the rest: ``response_schema`` (a JSON schema the reply
        must follow) and ``logprobs`` (how many top alternatives to return per token).
        """
        ...

    async def close(self) -> None:
        """Release what ``start`` opened; safe before ``start`` and more than once."""
        ...

    def describe(self) -> str:
        """Where the target lives, for messages (a URL or a model path), without secrets."""
        ...


class BaseTarget(ABC):
    """The defaults of :class:`Target`'s optional hooks; the built-in kinds inherit it and a
    plugin should. A subclass implements :meth:`complete` (and narrows ``config`` to its own
    settings class)."""

    config: TargetConfig

    def __init__(self, config: TargetConfig) -> None:
        self.config = config

    @property
    def max_n(self) -> int:
        """``n_per_request`` from the settings: the endpoint is asked for that many at once."""
        return self.config.n_per_request

    async def start(self) -> None:
        """Nothing to open by default."""
        return None

    @abstractmethod
    async def complete(
        self, messages: list[dict[str, str]], *, n: int = 1, seed: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[Completion]:
        """Sample ``n`` replies to ``messages`` (see :meth:`Target.complete`)."""

    async def close(self) -> None:
        """Nothing to release by default."""
        return None

    def describe(self) -> str:
        """The target's kind (a subclass names its URL or model path instead)."""
        return f"a {self.config.kind} target"


registry: Registry[type[BaseTarget]] = Registry(
    "target kind",
    "levelhead.targets",
    builtins=(
        "levelhead.targets.openai_compat",
        "levelhead.targets.anthropic",
        "levelhead.targets.local",
        "levelhead.targets.scripted",
        "levelhead.targets.vllm",
    ),
)


def target(kind: str, *, config: type[TargetConfig]) -> Callable[[type[BaseTarget]], type[BaseTarget]]:
    """Register a target class under ``kind``; ``config`` validates its spec table.

    Raises:
        TypeError: when the class does not derive from :class:`BaseTarget` (it gives the
            optional hooks their defaults).
    """
    register = registry.register(kind, config=config)

    def decorate(cls: type[BaseTarget]) -> type[BaseTarget]:
        if not (isinstance(cls, type) and issubclass(cls, BaseTarget)):
            raise TypeError(f"target kind '{kind}' must subclass levelhead.targets.BaseTarget: "
                            "it gives the optional hooks defaults")
        return register(cls)

    return decorate
