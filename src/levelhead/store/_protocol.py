"""What every store offers its callers (the runner, the CLI, later stats and reports)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from levelhead.records import Prompt, RunInfo, Sample


class SampleRow(NamedTuple):
    """One sample as the runner hands it to the writer (a tuple: cheap in the hot loop)."""

    run_id: int
    target_id: int
    prompt_id: int  # the store's row id of the prompt, not the probe's prompt id
    sample_index: int
    status: str  # "ok" | "error"
    text: str | None
    messages_json: str | None
    latency_ms: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    error: str | None
    seed: int | None
    attempts: int
    created_ms: int


class VerdictRow(NamedTuple):
    """A verdict as the judging engine hands it to the writer; the sample is named by its
    work-item key, so a verdict can be queued before its sample's row id is known."""

    target_id: int
    prompt_id: int
    sample_index: int
    judge_id: int
    label: str
    score: float | None
    rationale: str | None
    extra_json: str | None
    created_ms: int
    reply: str  # the reply judged: the verdict is stored only if it is the stored reply


class PairVerdictRow(NamedTuple):
    """A verdict on two stored samples (by row id)."""

    sample_a: int
    sample_b: int
    judge_id: int
    label: str
    score: float | None
    rationale: str | None
    extra_json: str | None
    created_ms: int


class TurnRow(NamedTuple):
    """One assistant turn of a multi-turn conversation, as the runner hands it to the writer."""

    run_id: int
    target_id: int
    prompt_id: int  # the store's row id of the prompt
    sample_index: int
    turn: int  # 1 = the first assistant reply
    user_text: str  # the user message this turn answers
    status: str  # "ok" | "error"
    text: str | None
    latency_ms: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None
    error: str | None
    seed: int | None
    attempts: int
    created_ms: int


class TurnVerdictRow(NamedTuple):
    """A judge's verdict on one assistant turn, named by its conversation key and turn."""

    target_id: int
    prompt_id: int
    sample_index: int
    turn: int
    judge_id: int
    label: str
    score: float | None
    rationale: str | None
    extra_json: str | None
    created_ms: int
    reply: str  # the reply judged: the verdict is stored only if it is the stored turn's


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """A stored assistant turn with the verdicts it already has (judge id -> label)."""

    turn: int
    user_text: str
    status: str
    text: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    labels: dict[int, str]


@dataclass(frozen=True, slots=True)
class StoredSample:
    """A stored reply with what a judge needs to see of it."""

    sample_id: int
    target_id: int
    target: str
    prompt_id: int
    probe: str
    prompt_key: str
    sample_index: int
    text: str
    messages: list[dict[str, str]]
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as stored."""

    id: int
    name: str
    created_at: str
    spec: dict[str, Any]
    seed: int
    samples: int
    planned: int
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds a run's lease: the one process allowed to write the run's samples and verdicts.

    Attributes:
        owner: A token unique to one acquisition (host, pid and a random part).
        host: The holder's host name.
        pid: The holder's process id on that host.
        command: What it is doing (``run``, ``judge``).
        acquired_ms: When it took the lease (Unix milliseconds).
        heartbeat_ms: Its last heartbeat.
        expires_ms: When the lease lapses unless renewed.
    """

    owner: str
    host: str
    pid: int
    command: str
    acquired_ms: int
    heartbeat_ms: int
    expires_ms: int

    def describe(self, now_ms: int) -> str:
        """``levelhead run (pid 4242 on build-7) since 2026-12-06 18:00:01 UTC, last heartbeat
        3 s ago``."""
        since = datetime.fromtimestamp(self.acquired_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        ago = max(0, now_ms - self.heartbeat_ms) / 1000
        return (f"levelhead {self.command} (pid {self.pid} on {self.host}) since {since}, "
                f"last heartbeat {ago:.0f} s ago")


@dataclass(frozen=True, slots=True)
class PromptProgress:
    """How much of one target x prompt of a run is stored."""

    target: str
    probe: str
    prompt_id: str
    stored: int  # samples stored (errors included), at most the run's N
    errors: int


@dataclass(frozen=True, slots=True)
class RunProgress:
    """Whether a run holds every sample it planned: every target x prompt, N times.

    A run is complete when each of its planned samples is stored, as a reply or as an error;
    findings, reports, comparisons and gates of an incomplete run say so.

    Attributes:
        run: The run's name.
        samples: N, the samples per prompt per target.
        prompts: Per target x prompt, what is stored.
        holder: The process running it now, if any.
    """

    run: str
    samples: int
    prompts: tuple[PromptProgress, ...]
    holder: LeaseHolder | None = None

    @property
    def planned(self) -> int:
        return self.samples * len(self.prompts)

    @property
    def stored(self) -> int:
        return sum(p.stored for p in self.prompts)

    @property
    def errors(self) -> int:
        return sum(p.errors for p in self.prompts)

    @property
    def missing(self) -> int:
        return self.planned - self.stored

    @property
    def complete(self) -> bool:
        return self.missing == 0

    def unsampled(self) -> list[PromptProgress]:
        """The target x prompts with no sample stored at all."""
        return [p for p in self.prompts if p.stored == 0]

    def resume_command(self) -> str:
        return f"levelhead run --resume {self.run}"

    def describe(self) -> str:
        """One line: ``run 'x' is incomplete: 744 of 4,000 samples stored (3,256 missing; 1
        target x prompt never sampled: bot/custom/sky); resume with: levelhead run --resume x``."""
        if self.complete:
            return f"run '{self.run}' is complete: {self.stored:,} of {self.planned:,} samples stored"
        never = self.unsampled()
        shown = ", ".join(f"{p.target}/{p.probe}/{p.prompt_id}" for p in never[:3])
        more = f" and {len(never) - 3:,} more" if len(never) > 3 else ""
        never_text = (f"; {len(never):,} target x prompt never sampled: {shown}{more}"
                      if never else "")
        now = (f"; it is being run now by {self.holder.describe(_now_ms())}"
               if self.holder is not None else f"; resume with: {self.resume_command()}")
        return (f"run '{self.run}' is incomplete: {self.stored:,} of {self.planned:,} samples "
                f"stored ({self.missing:,} missing{never_text}){now}")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class TargetPromptSummary:
    """Per target x prompt: what ``levelhead show`` prints."""

    target: str
    probe: str
    prompt_id: str
    samples: int
    errors: int
    median_latency_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    median_completion_tokens: float | None


class SampleWriter(Protocol):
    """Accepts sample and verdict rows without blocking the caller; writes them in batched
    transactions, in the order given (a verdict after its sample)."""

    def put(self, row: SampleRow | VerdictRow | PairVerdictRow | TurnRow | TurnVerdictRow
            ) -> None: ...

    def close(self) -> None: ...


class Store(Protocol):
    """The interface the runner and the CLI use; SQLite today, PostgreSQL later."""

    path: str

    def begin_run(self, name: str, spec: dict[str, Any], seed: int, samples: int) -> RunRecord: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def update_run(self, run_id: int, spec: dict[str, Any], samples: int) -> int: ...

    def count_samples(self, run_id: int) -> int: ...

    def ensure_target(self, run_id: int, name: str, kind: str, settings: dict[str, Any],
                      settings_hash: str) -> int: ...

    def ensure_prompts(self, run_id: int, probe: str, prompts: list[Prompt]) -> dict[str, int]: ...

    def existing_indices(self, target_id: int) -> dict[int, set[int]]: ...

    def delete_error_samples(self, run_id: int) -> int: ...

    def stored_turns(self, target_id: int) -> dict[tuple[int, int], list[StoredTurn]]: ...

    def turn_tokens(self, run_id: int) -> int: ...

    def turn_table(self, run_id: int) -> list[tuple[Any, ...]]: ...

    def turn_verdict_table(self, run_id: int) -> list[tuple[Any, ...]]: ...

    def writer(self, lease: tuple[int, str] | None = None) -> SampleWriter: ...

    def progress(self, run_id: int) -> RunProgress: ...

    def try_lease(self, run_id: int, holder: LeaseHolder) -> LeaseHolder | None: ...

    def renew_lease(self, run_id: int, owner: str, expires_ms: int) -> bool: ...

    def release_lease(self, run_id: int, owner: str) -> None: ...

    def lease_of(self, run_id: int) -> LeaseHolder | None: ...

    def reopen(self) -> Store: ...

    def find_run(self, ref: str | int) -> RunRecord: ...

    def list_runs(self) -> list[RunInfo]: ...

    def summary(self, run_id: int) -> list[TargetPromptSummary]: ...

    def iter_samples(self, run_id: int) -> Iterator[Sample]: ...

    def ensure_judge(self, name: str, version: str, args_json: str) -> int: ...

    def samples_to_judge(self, run_id: int, judge_id: int,
                         probes: set[str] | None = None) -> Iterator[StoredSample]: ...

    def verdict_table(self, run_id: int) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...
