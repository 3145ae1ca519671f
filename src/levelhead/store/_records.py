"""The typed records a store's reads return: runs, their progress and leases, stored samples
and turns, the verdict tables and review queues with their labels (named fields, never
positional tuples)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from levelhead.records import Sample


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
        node: The holder's boot and process-namespace ids: two machines (or containers) may
            share a host name, but not these, so a pid is looked up only on the same node.
    """

    owner: str
    host: str
    pid: int
    command: str
    acquired_ms: int
    heartbeat_ms: int
    expires_ms: int
    node: str = ""

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


@dataclass(frozen=True, slots=True)
class TaggedSample:
    """A stored sample with its prompt's tags (what findings group by: persona, language …).

    Attributes:
        sample: The sample with its whole transcript, as :meth:`Store.iter_samples` gives it.
        tags: The tags of its prompt (shared by every sample of that prompt: do not change).
    """

    sample: Sample
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A judge's verdict on one stored sample, as reports read it.

    Attributes:
        target: The target's name.
        probe: The probe id.
        prompt_id: The probe's prompt id.
        sample_index: The sample's index, 0..N-1.
        judge: The judge's registered name (``abuse.lexicon``).
        judge_version: The judge's version.
        judge_args: The judge's settings as stored: JSON text. Name, version and this text are
            the judge's identity: two judges that differ in any of them are two judges.
        label: The label given (``judge_error`` when no verdict could be given).
        score: The judge's score, if it gives one.
    """

    target: str
    probe: str
    prompt_id: str
    sample_index: int
    judge: str
    judge_version: str
    judge_args: str
    label: str
    score: float | None


@dataclass(frozen=True, slots=True)
class PairVerdictRecord:
    """A judge's verdict on a pair of stored samples (two prompts of one probe, the same sample
    index; the targets may differ).

    Attributes:
        target_a: The first sample's target.
        probe: The probe id both prompts belong to.
        prompt_a: The first sample's prompt id.
        target_b: The second sample's target.
        prompt_b: The second sample's prompt id.
        sample_index: The sample index both share.
        judge: The judge's registered name.
        judge_version: The judge's version.
        judge_args: The judge's settings as stored (JSON text; part of its identity).
        label: The label given.
        score: The judge's score, if it gives one.
        extra_json: What else the judge recorded (JSON text, e.g. which side was shown first),
            or None.
    """

    target_a: str
    probe: str
    prompt_a: str
    target_b: str
    prompt_b: str
    sample_index: int
    judge: str
    judge_version: str
    judge_args: str
    label: str
    score: float | None
    extra_json: str | None


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One stored assistant turn of a multi-turn conversation, as reports read it.

    Attributes:
        target: The target's name.
        probe: The probe id.
        prompt_id: The probe's prompt id (the conversation's task and persona).
        sample_index: The conversation's index, 0..N-1.
        turn: The turn, 1 = the first assistant reply.
        user_text: The user message this turn answers.
        status: ``ok`` or ``error``.
        text: The reply (None for an error).
        error: What went wrong, for an error.
        prompt_tokens: Tokens in, as the target said.
        completion_tokens: Tokens out, as the target said.
        latency_ms: How long the reply took.
        tags: The tags of the conversation's prompt (shared by every turn of that prompt: do
            not change).
        finish_reason: How the reply ended, as the target said (``stop``, ``length``,
            ``content_filter`` …); None for an error.
    """

    target: str
    probe: str
    prompt_id: str
    sample_index: int
    turn: int
    user_text: str
    status: str
    text: str | None
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    tags: dict[str, str]
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TurnVerdictRecord:
    """A judge's verdict on one stored assistant turn.

    Attributes:
        target: The target's name.
        probe: The probe id.
        prompt_id: The probe's prompt id.
        sample_index: The conversation's index.
        turn: The turn judged, 1 = the first assistant reply.
        judge: The judge's registered name.
        judge_version: The judge's version.
        judge_args: The judge's settings as stored (JSON text; part of its identity).
        label: The label given.
        score: The judge's score, if it gives one.
    """

    target: str
    probe: str
    prompt_id: str
    sample_index: int
    turn: int
    judge: str
    judge_version: str
    judge_args: str
    label: str
    score: float | None


@dataclass(frozen=True, slots=True)
class ReviewQueueRecord:
    """A spot-check review queue: a run's samples drawn for people to label, to check one judge
    identity's labels against theirs.

    Attributes:
        id: The queue's row id.
        run_id: The run whose samples it holds.
        name: Its name, unique in the run.
        judge_id: The row id of the judge identity whose labels it checks.
        judge_name: That judge's registered name.
        judge_version: That judge's version.
        judge_args: That judge's settings as stored (JSON text; part of its identity).
        labels: The labels reviewers choose from, in the order given.
        design: How it was drawn (seed, size, strata with N_h and n_h), as given.
        created_at: When it was made (UTC, ISO 8601).
        items: The samples in it.
        labelled: Its items with at least one reviewer's label (undone ones do not count).
    """

    id: int
    run_id: int
    name: str
    judge_id: int
    judge_name: str
    judge_version: str
    judge_args: str
    labels: tuple[str, ...]
    design: dict[str, Any]
    created_at: str
    items: int
    labelled: int


@dataclass(frozen=True, slots=True)
class ReviewItemRecord:
    """One sample of a review queue, with what finds its transcript and verdicts.

    Attributes:
        queue_id: The queue's row id.
        position: Where reviewers see it, 0..n-1.
        sample_id: The sample's row id (``sample_id`` of :class:`StoredSample`).
        stratum: The stratum it was drawn from (the judge's label then).
        inclusion_prob: The probability it had of being drawn (0 < p <= 1).
        target: The sample's target.
        probe: The probe id.
        prompt_id: The probe's prompt id.
        sample_index: The sample's index, 0..N-1.
    """

    queue_id: int
    position: int
    sample_id: int
    stratum: str
    inclusion_prob: float
    target: str
    probe: str
    prompt_id: str
    sample_index: int


@dataclass(frozen=True, slots=True)
class ReviewLabelRecord:
    """A reviewer's label on one item of a review queue.

    Attributes:
        id: The label's row id (later labels have larger ids).
        queue_id: The queue's row id.
        sample_id: The sample labelled.
        reviewer: Who labelled it (plain text, as given, stripped).
        label: One of the queue's labels.
        note: The reviewer's note ("" for none).
        created_at: When it was given (UTC, ISO 8601 to the millisecond).
        undone: Whether the reviewer took it back (only a label history shows these).
    """

    id: int
    queue_id: int
    sample_id: int
    reviewer: str
    label: str
    note: str
    created_at: str
    undone: bool = False


@dataclass(frozen=True, slots=True)
class SampleVerdictRecord:
    """One judge's verdict on a sample, with the judge's whole identity.

    Attributes:
        judge: The judge's registered name.
        judge_version: Its version.
        judge_args: Its settings as stored (JSON text; part of its identity).
        label: The label it gave.
        score: Its score, if it gives one.
        rationale: Why, in its words (empty when it gives none).
    """

    judge: str
    judge_version: str
    judge_args: str
    label: str
    score: float | None
    rationale: str


@dataclass(frozen=True, slots=True)
class BrowsedSample:
    """A sample as a person browses it: where it is from, its whole transcript and every
    verdict on it.

    Attributes:
        sample_id: The sample's row id.
        run_id: Its run's row id.
        target: The target's name.
        probe: The probe id.
        prompt_key: The probe's prompt id.
        sample_index: The sample's index, 0..N-1.
        status: ``ok`` or ``error``.
        text: The reply (empty for an error).
        error: What went wrong, for an error sample (else empty).
        messages: The whole conversation, as sent and answered.
        tags: The prompt's tags (``lang``, ``side``, ...).
        verdicts: Every verdict on it, in the order the judge identities were stored.
    """

    sample_id: int
    run_id: int
    target: str
    probe: str
    prompt_key: str
    sample_index: int
    status: str
    text: str
    error: str
    messages: list[dict[str, str]]
    tags: dict[str, str]
    verdicts: tuple[SampleVerdictRecord, ...]


@dataclass(frozen=True, slots=True)
class GuardFinding:
    """What one rule's judge said of a screened reply.

    Attributes:
        judge: The judge's registered name.
        label: Its label, or None when it could not judge (an error or a timeout).
        action: What the rule did: ``pass`` (the label does not trigger it) or its action.
        error: Why it could not judge, when it could not.
    """

    judge: str
    label: str | None
    action: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class GuardDecisionRecord:
    """One reply the guard screened, and what it did (one per choice of a completion).

    Attributes:
        id: The row id; rows are numbered in the order written.
        at: When the decision was made (UTC, ISO 8601 to the millisecond).
        request_id: The request's id (the client's ``X-Request-Id``, else the guard's own).
        choice: The choice's index in the completion.
        model: The model the upstream named in its answer (else the request's).
        language: The user's language (``en``, ``zh``...), as the judges decide it.
        streamed: Whether the reply was streamed.
        action: ``pass``, ``flag``, ``redact`` or ``block``.
        judged: False when some judge could not give a verdict (then ``action`` follows the
            policy's ``on_error``; it is never counted as a pass).
        latency_ms: From the request's arrival to the decision.
        judge_ms: Of that, the time the judges took.
        findings: Every rule's finding.
        text: The reply as the upstream sent it, when the policy keeps text (else None).
    """

    id: int
    at: str
    request_id: str
    choice: int
    model: str | None
    language: str
    streamed: bool
    action: str
    judged: bool
    latency_ms: float
    judge_ms: float
    findings: tuple[GuardFinding, ...]
    text: str | None


@dataclass(frozen=True, slots=True)
class MonitorSourceRecord:
    """Where ingesting one source got to, and what it found there.

    Attributes:
        source: The source's name (a log file's path as given, or ``guard``).
        device: The file's device number when last read (None for the guard).
        inode: Its inode then: a new file at the path (rotation) has another.
        fingerprint: A hash of the file's first line (a reused inode has another), or "".
        offset: The byte offset after the last line taken (for the guard: the last decision id).
        line: The number of the last line taken.
        records: Conversations ingested from it.
        malformed: Lines that could not be read, all told.
        updated_at: When it was last ingested from (UTC, ISO 8601).
    """

    source: str
    device: int | None
    inode: int | None
    fingerprint: str
    offset: int
    line: int
    records: int
    malformed: int
    updated_at: str


@dataclass(frozen=True, slots=True)
class MonitorCountRecord:
    """Turns judged by one judge identity in one slice and bucket, counted two ways.

    Attributes:
        judge_id: The row id of the judge identity (name, version and settings).
        judge: The judge's registered name.
        judge_version: Its version.
        label: The label given.
        model: The model named in the log (None when it named none).
        language: The conversation's language.
        feedback: The user's thumbs on the turn (``up``, ``down``) or None.
        bucket: The bucket's key: an index in ingest order (``step`` turns each) or a period
            (``2026-12-07``, ``2026-12-07T10``), as asked.
        n: Turns with that label.
        weighted: The same, each weighted by 1 / its probability of being judged (an unbiased
            count of the turns in the slice that would have that label).
        weighted_squares: The sum of the squared weights (for the effective number of verdicts,
            ``weighted ** 2 / weighted_squares``).
    """

    judge_id: int
    judge: str
    judge_version: str
    label: str
    model: str | None
    language: str
    feedback: str | None
    bucket: str
    n: int
    weighted: float
    weighted_squares: float
