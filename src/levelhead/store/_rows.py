"""The rows a store's writer takes: one sample, turn or verdict each, as the runner and the
judging engine hand them over (tuples: cheap in the hot loop)."""

from __future__ import annotations

from typing import NamedTuple


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


# Any row a writer takes.
Row = SampleRow | VerdictRow | PairVerdictRow | TurnRow | TurnVerdictRow


class GuardDecisionRow(NamedTuple):
    """One screened reply as the guard hands it over (see :class:`GuardDecisionRecord`)."""

    at: str  # UTC, ISO 8601 to the millisecond
    request_id: str
    choice: int
    model: str | None
    language: str
    streamed: bool
    action: str  # "pass" | "flag" | "redact" | "block"
    judged: bool
    latency_ms: float
    judge_ms: float
    verdicts_json: str
    text: str | None


class MonitorTurnRow(NamedTuple):
    """One assistant turn of a production conversation, with its judges' verdicts, as the
    monitor hands it over (see :class:`MonitorTurnRecord`)."""

    conversation: str
    turn: int  # 1-based, among the conversation's assistant turns
    at: str | None  # UTC, ISO 8601
    model: str | None
    language: str
    feedback: str | None  # "up" | "down" | None
    text: str | None
    text_hash: str | None
    verdicts: tuple[tuple[int, str, float], ...]  # (judge id, label, inclusion probability)
