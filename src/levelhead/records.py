"""The records levelhead stores and exchanges: prompts, samples, verdicts and runs.

pydantic models are used at the boundaries (spec files, the store's JSON, exports); the runner's
hot loop uses the frozen dataclass :class:`Completion` and writes rows straight to the store.
``SCHEMA_VERSION`` names the shape of exported records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FINDINGS_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "Completion",
    "CorrectedEstimate",
    "Finding",
    "FindingKind",
    "TokenLogprob",
    "Prompt",
    "RunInfo",
    "Sample",
    "Turn",
    "work_item_id",
]

SCHEMA_VERSION = 1
# Version 2 added ``kind`` and ``unit``: a finding says what it is, so that no reader guesses
# from its metric's name whether it is a rate. Version 3 added ``corrected``: a judge's rate
# corrected for the judge's measured errors, where a calibration was given.
FINDINGS_SCHEMA_VERSION = 3

FindingKind = Literal["rate", "difference", "mean", "turn"]

Role = Literal["system", "user", "assistant"]


class Turn(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str


class Prompt(BaseModel):
    """One conversation script of a probe: fixed turns sent to the target as they are.

    ``id`` is stable across runs (it identifies the prompt in comparisons); ``tags`` carry
    language, topic, side, variant and the like.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    messages: tuple[Turn, ...] = Field(min_length=1)
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The last user message: what a person would call "the prompt"."""
        for turn in reversed(self.messages):
            if turn.role == "user":
                return turn.content
        return self.messages[-1].content


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token with its log-probability and the top alternatives at its position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """One reply from a target, as the runner receives it."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprobs: tuple[TokenLogprob, ...] | None = None


class Sample(BaseModel):
    """One complete transcript from one target for one prompt (as exported).

    Errors are samples too: ``status == "error"`` with the error text, never dropped.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    run: str
    target: str
    probe: str
    prompt_id: str
    sample_index: int
    status: Literal["ok", "error"]
    text: str | None
    messages: list[Turn]
    latency_ms: int | None
    finish_reason: str | None
    error: str | None
    seed: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    attempts: int
    created_at: str


class CorrectedEstimate(BaseModel):
    """A rate finding corrected for its judge's measured errors (``Finding.corrected``).

    The estimate is Rogan-Gladen's, ``(apparent + sp - 1) / (se + sp - 1)``, clipped to [0, 1];
    the interval is a Monte Carlo percentile interval that carries the run's sampling noise
    (clustered by prompt, as the raw interval is) and the uncertainty of the judge's sensitivity
    and specificity measured on human gold labels (``levelhead.stats.corrected_rate``).
    ``informative`` is false, and the interval ``[0, 1]``, when the calibration cannot rule out a
    judge no better than chance; ``note`` says why an interval is wide, or what was clipped.
    """

    model_config = ConfigDict(extra="forbid")

    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    method: str = ""
    informative: bool = True
    sensitivity: float | None = None
    sensitivity_low: float | None = None
    sensitivity_high: float | None = None
    specificity: float | None = None
    specificity_low: float | None = None
    specificity_high: float | None = None
    positives: int = 0
    negatives: int = 0
    clipped: float = 0.0
    chance: float = 0.0
    calibration_share: float | None = None
    calibration: str = ""
    calibrated_at: str = ""
    note: str = ""


class Finding(BaseModel):
    """A statistic with its uncertainty, computed from a run's samples and verdicts.

    This is the stable JSON contract of ``levelhead findings --format json``: a list of these.
    ``group`` names the slice (an option of a forced choice, a label, a prompt...) or is None;
    ``errors`` and ``missing`` count the samples left out of ``n`` because the target failed or
    no verdict could be given — never folded in as good replies.

    ``kind`` says what the estimate is: a ``rate`` (a share of samples, prompts or
    conversations, or a probability), a ``difference`` (of two rates or two means), a ``mean``,
    or a ``turn`` (a turn number). ``unit`` says in what: ``share`` (0 to 1, shown as a percentage,
    a difference in percentage points), ``score``, ``words``, ``characters``, ``list_items`` or
    ``turn``. Renderers, the gate and comparisons read these, never the metric's name.

    ``corrected`` is set on a judge's label rate (``rate:<judge>``) when a calibration of that
    judge was given: the rate corrected for the judge's measured errors; None otherwise.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = FINDINGS_SCHEMA_VERSION
    target: str
    probe: str
    metric: str
    kind: FindingKind
    unit: str
    group: str | None = None
    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.95
    n: int
    errors: int = 0
    missing: int = 0
    method: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)
    corrected: CorrectedEstimate | None = None

    @property
    def is_share(self) -> bool:
        """True when the estimate is on the 0-to-1 scale of a share (shown as a percentage)."""
        return self.unit == "share"


class RunInfo(BaseModel):
    """A run as listed by ``levelhead runs``."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    created_at: str
    planned: int
    done: int
    errors: int
    targets: list[str]
    running: str | None = None  # who is running it now (its lease's live holder), if anyone

    @property
    def complete(self) -> bool:
        """True when every planned sample is stored (errors included)."""
        return self.done >= self.planned


def work_item_id(run: str, target: str, probe: str, prompt_id: str, sample_index: int) -> str:
    """Stable identity of one unit of work; includes the sample index so k samples stay k.

    The store enforces the same identity with a unique key on
    (run, target, probe, prompt, sample_index); this hash is its portable spelling for exports.
    """
    key = "\x1f".join((run, target, probe, prompt_id, str(sample_index)))
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def dump_turns(turns: list[dict[str, Any]] | tuple[Turn, ...]) -> list[dict[str, str]]:
    """Turns as plain dicts (for JSON)."""
    return [t if isinstance(t, dict) else {"role": t.role, "content": t.content} for t in turns]


def conversation(system: str | None, turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """The messages sent to a target: its system message first, unless the prompt brings its
    own (the prompt's wins), then the prompt's turns. Used by the runner and the exports alike,
    so a stored transcript is exactly what was sent."""
    if system and not any(t["role"] == "system" for t in turns):
        return [{"role": "system", "content": system}, *turns]
    return list(turns)
