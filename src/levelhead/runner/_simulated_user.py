"""The simulated user of a multi-turn probe, when a model plays it: that model is asked
through the same retries as a target (see ``_requests``)."""

from __future__ import annotations

import random
from typing import Any

from levelhead.errors import FatalTargetError
from levelhead.runner._conversation import UserStopped
from levelhead.runner._requests import TargetState, request_with_retries
from levelhead.targets import Target


class UserModel:
    """The model that plays the simulated user, behind the runner's retries: a retryable
    failure is retried like any request, one that fails for good fails that conversation, and
    an unreachable model stops every conversation for a resume (:class:`UserStopped`)."""

    def __init__(self, target: Target, rng: random.Random) -> None:
        self.target = target
        self.config = target.config
        self.state = TargetState(target, -1, iter(()))
        self._rng = rng

    @property
    def max_n(self) -> int:
        return 1

    def describe(self) -> str:
        return f"the simulated user: {self.target.describe()}"

    async def start(self) -> None:
        await self.target.start()

    async def close(self) -> None:
        await self.target.close()

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None, options: Any = None) -> list[Any]:
        if self.state.failure is not None:
            raise UserStopped(str(self.state.failure))
        out = await request_with_retries(self.state, messages, n, seed or 0, self._rng)
        if out.stopped:
            raise UserStopped(str(self.state.failure))
        if out.error is not None:
            raise FatalTargetError(out.error)
        if not out.completions:
            raise FatalTargetError(f"target '{self.config.name}' returned no reply")
        self.state.ok += 1
        self.state.exhausted_streak = 0
        return out.completions
