"""What every store offers its callers (the runner, the CLI, later stats and reports)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
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

    def writer(self) -> SampleWriter: ...

    def find_run(self, ref: str | int) -> RunRecord: ...

    def list_runs(self) -> list[RunInfo]: ...

    def summary(self, run_id: int) -> list[TargetPromptSummary]: ...

    def iter_samples(self, run_id: int) -> Iterator[Sample]: ...

    def ensure_judge(self, name: str, version: str, args_json: str) -> int: ...

    def samples_to_judge(self, run_id: int, judge_id: int,
                         probes: set[str] | None = None) -> Iterator[StoredSample]: ...

    def verdict_table(self, run_id: int) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...
