"""Requests and retries: one target's queue of missing work and its health during the run
(:class:`TargetState`), and one request sent with retries for what is retryable, backing off
with jitter. A target that is down is stopped (its work stays missing for a resume); a request
that is only unlucky, in the much-retried tail of a run, becomes an error sample."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from levelhead.errors import (
    FatalTargetError,
    RetryableTargetError,
    TargetUnreachableError,
    redact,
)
from levelhead.runner._planning import PromptWork
from levelhead.store import StoredTurn
from levelhead.targets import Target, TargetConfig

# After this many connection failures in a row a target that once answered is given up too.
_UNREACHABLE_STREAK = 8
# After this many batches in a row exhaust their retries, the target is stopped.
_EXHAUSTED_STREAK = 3


class TargetState:
    """One target's queue of missing work and its health during the run."""

    def __init__(self, target: Target, target_id: int,
                 work: Iterator[tuple[PromptWork, Sequence[int]]]):
        self.target = target
        self.target_id = target_id
        self._work = work
        # The prompt being handed out, its missing indices, and how many were handed out (an
        # offset, not a shorter copy per batch: one prompt of a million samples stays linear).
        self._current: tuple[PromptWork, Sequence[int]] | None = None
        self._taken = 0
        self._returned: deque[tuple[PromptWork, list[int]]] = deque()
        self.ok = 0
        self.unreachable_streak = 0
        self.failure: TargetUnreachableError | None = None
        self.pause_until = 0.0
        self.exhausted_streak = 0
        self.last_ok_at = float("-inf")  # monotonic time of the last request that succeeded
        self.turns: dict[tuple[int, int], list[StoredTurn]] = {}  # stored conversation turns
        # Awaited before each request: the store's writer has room for its rows (a target
        # faster than the store waits for it here, without blocking the event loop).
        self.room: Callable[[], Awaitable[None]] = _no_wait

    def halt(self, failure: TargetUnreachableError) -> None:
        """Stop sampling this target (work in hand goes back as missing work)."""
        if self.failure is None:
            self.failure = failure

    def next_batch(self) -> tuple[PromptWork, list[int]] | None:
        """Up to ``max_n`` missing sample indices of one prompt."""
        if self.failure is not None:
            return None
        if self._returned:
            return self._returned.popleft()
        while self._current is None or self._taken >= len(self._current[1]):
            nxt = next(self._work, None)
            if nxt is None:
                return None
            self._current, self._taken = nxt, 0
        work, missing = self._current
        # A conversation is one sample at a time: its turns go one after another.
        n = 1 if work.conversation is not None else max(1, self.target.max_n)
        take = list(missing[self._taken:self._taken + n])
        self._taken += len(take)
        return work, take

    def give_back(self, work: PromptWork, indices: list[int]) -> None:
        self._returned.append((work, indices))


async def _no_wait() -> None:
    return None


def backoff_s(attempt: int, cfg: TargetConfig, retry_after: float | None,
              rng: random.Random) -> float:
    """Seconds to wait before attempt ``attempt + 1`` of a request."""
    # Exponential with full jitter spreads the retries of many workers apart; a server's
    # Retry-After is a floor (plus a little spread, so workers do not all wake at once).
    jittered = rng.uniform(0, min(cfg.max_backoff_s, 0.5 * 2 ** (attempt - 1)))
    if retry_after is not None:
        jittered = max(jittered, retry_after + rng.uniform(0, 0.1 + 0.1 * retry_after))
    return min(jittered, cfg.max_backoff_s)


@dataclass(slots=True)
class Outcome:
    """What came of one request, after its retries."""

    completions: list[Any] | None = None
    attempts: int = 0
    latency_ms: int | None = None
    stopped: bool = False  # the target was stopped: the work goes back, a resume does it
    error: str | None = None  # failed for good: stored as an error


async def request_with_retries(state: TargetState, messages: list[dict[str, str]], n: int,
                               seed: int, rng: random.Random) -> Outcome:
    """Send one request with retries for what is retryable; says what came of it."""
    target, cfg = state.target, state.target.config
    attempts = 0
    first_attempt_at = time.monotonic()
    while True:
        attempts += 1
        wait = state.pause_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        started = time.perf_counter()
        try:
            completions = await target.complete(messages, n=n, seed=seed)
            state.unreachable_streak = 0
            state.last_ok_at = time.monotonic()
            return Outcome(completions, attempts, int((time.perf_counter() - started) * 1000))
        except TargetUnreachableError as exc:
            state.unreachable_streak += 1
            if state.ok == 0 or state.unreachable_streak >= _UNREACHABLE_STREAK:
                state.halt(exc)  # not sampled: a resume will do it
                return Outcome(attempts=attempts, stopped=True)
            error: Exception = exc
        except RetryableTargetError as exc:
            error = exc
            if exc.retry_after is not None:
                state.pause_until = max(state.pause_until, time.monotonic() + min(
                    exc.retry_after, cfg.max_backoff_s))
        except FatalTargetError as exc:
            return Outcome(attempts=attempts, error=str(exc))
        except Exception as exc:  # a plugin's or a library's own failure: this sample fails,
            # the run goes on (a bug in one reply's handling must not end every target).
            return Outcome(attempts=attempts, error=redact(
                f"target '{cfg.name}': unexpected {type(exc).__name__}: {exc}"))
        if attempts > cfg.max_retries:
            if state.last_ok_at > first_attempt_at:
                # The target answered other requests while this one was retried: it is up, and
                # this request was unlucky (the much-retried tail of a run under heavy
                # transient faults). An error sample, and no evidence that the target is down.
                return Outcome(attempts=attempts,
                                error=f"{error} (gave up after {attempts} attempts)")
            if state.ok == 0 or state.exhausted_streak + 1 >= _EXHAUSTED_STREAK:
                # Nothing ever came back, or batch after batch fails: the target is down, not
                # these prompts. Stop it and leave the work missing for a resume.
                state.halt(TargetUnreachableError(
                    f"{error} (gave up after {attempts} attempts"
                    + (", and no request has succeeded yet)" if state.ok == 0 else
                       f", {_EXHAUSTED_STREAK} batches in a row)")))
                return Outcome(attempts=attempts, stopped=True)
            state.exhausted_streak += 1
            return Outcome(attempts=attempts, error=f"{error} (gave up after {attempts} attempts)")
        await asyncio.sleep(backoff_s(attempts, cfg, getattr(error, "retry_after", None), rng))
