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


class SampleWriter(Protocol):
    """Accepts sample and verdict rows without blocking the caller; writes them in batched
    transactions, in the order given (a verdict after its sample)."""

    def put(self, row: SampleRow | VerdictRow | PairVerdictRow | TurnRow | TurnVerdictRow
            ) -> None:
        """Queue one row; raises :class:`~levelhead.errors.StoreError` if an earlier write
        failed (then nothing more is written)."""
        ...

    def close(self) -> None:
        """Write what is queued, then stop.

        Raises:
            StoreError: a write failed, or the writer's lease was lost (see
                :meth:`Store.writer`); what was written before is kept.
        """
        ...


class Store(Protocol):
    """The interface the runner, the judging engine, the reports and the CLI use; SQLite today,
    PostgreSQL later.

    Every method a caller outside ``levelhead.store`` uses is declared here (a test scans the
    sources for calls on stores and fails on one that is not), and
    ``tests/store/test_store_contract.py`` runs every one of them against every implementation.
    Reads return typed records, never positional tuples. Writes of samples and verdicts go
    through :meth:`writer`; everything else about a run is written on the caller's connection.
    """

    path: str
    """Where the store is (a file path, or a URL for a server store), for messages."""

    # -- runs, targets, prompts ----------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """A context in which everything commits together or not at all; nested, it joins the
        transaction already open."""
        ...

    def begin_run(self, name: str, spec: dict[str, Any], seed: int, samples: int) -> RunRecord:
        """The run called ``name``: created (``resumed`` False), or found again to resume
        (``resumed`` True; nothing about it is changed yet: see :meth:`update_run`).

        Raises:
            SpecError: the run exists with another seed, or with a larger N than ``samples``.
        """
        ...

    def update_run(self, run_id: int, spec: dict[str, Any], samples: int) -> int:
        """Record the spec and N the run now follows; returns the samples it is to hold in all
        (every target x prompt of the run, N times)."""
        ...

    def ensure_target(self, run_id: int, name: str, kind: str, settings: dict[str, Any],
                      settings_hash: str) -> int:
        """The row id of the run's target ``name``, created if new; the same id every time.

        Raises:
            SpecError: the target is stored with another ``settings_hash`` (reply settings
                changed: samples must not mix).
        """
        ...

    def ensure_prompts(self, run_id: int, probe: str, prompts: list[Prompt]) -> dict[str, int]:
        """Row ids of the probe's prompts in the run (prompt id -> row id), inserting new ones;
        the same ids every time.

        Raises:
            SpecError: a prompt id is stored with other messages.
        """
        ...

    def count_samples(self, run_id: int) -> int:
        """Samples stored for the run, errors included."""
        ...

    def existing_indices(self, target_id: int) -> dict[int, set[int]]:
        """Sample indices already stored for a target, by prompt row id (errors included)."""
        ...

    def delete_error_samples(self, run_id: int) -> int:
        """Remove the run's error samples (and error turns) so that a resume samples them
        again; returns how many samples were removed."""
        ...

    # -- multi-turn conversations --------------------------------------------------------------
    def stored_turns(self, target_id: int) -> dict[tuple[int, int], list[StoredTurn]]:
        """A target's stored turns by (prompt row id, sample index), in turn order, each with
        its verdicts (judge id -> label): where a resumed conversation goes on from."""
        ...

    def turn_tokens(self, run_id: int) -> int:
        """Tokens spent on the run's stored turns (prompt + completion, as the targets said)."""
        ...

    def turn_table(self, run_id: int) -> list[TurnRecord]:
        """Every stored turn of the run (errors included), ordered by target, prompt (as
        stored), sample index and turn."""
        ...

    def turn_verdict_table(self, run_id: int) -> list[TurnVerdictRecord]:
        """Every verdict on the run's turns, ordered by judge identity (in the order the
        identities were first stored), target, prompt (as stored), sample index and turn."""
        ...

    # -- writing samples and verdicts ----------------------------------------------------------
    def writer(self, lease: tuple[int, str] | None = None) -> SampleWriter:
        """A writer for sample, verdict and turn rows; close it to flush.

        Args:
            lease: ``(run id, owner)`` of the lease this process holds: each write then first
                checks that the lease is still this owner's and writes nothing if not (its
                :meth:`SampleWriter.close` raises ``StoreError``).

        Raises:
            StoreError: the store was opened read-only.
        """
        ...

    # -- leases: one writer per run (see levelhead.store._lease) -------------------------------
    def try_lease(self, run_id: int, holder: LeaseHolder) -> LeaseHolder | None:
        """Take the run's lease for ``holder``: None when taken, else the live holder that
        keeps it. A lease that lapsed by ``holder.acquired_ms``, or whose holder's process is
        known to be gone (:func:`levelhead.store._lease.takes_over`), is taken over."""
        ...

    def renew_lease(self, run_id: int, owner: str, expires_ms: int) -> bool:
        """Extend ``owner``'s lease to ``expires_ms`` (and beat its heartbeat); False when the
        lease is no longer theirs.

        Raises:
            StoreError: the store could not be written (a busy store: try again).
        """
        ...

    def release_lease(self, run_id: int, owner: str) -> None:
        """Give up ``owner``'s lease; nothing happens when it is no longer theirs."""
        ...

    def lease_of(self, run_id: int) -> LeaseHolder | None:
        """The live holder of the run's lease, or None (a lapsed lease is no holder)."""
        ...

    def progress(self, run_id: int) -> RunProgress:
        """What of the run's plan is stored, per target x prompt (ordered as stored), with the
        live lease holder, if any."""
        ...

    def reopen(self) -> Store:
        """The same store on a connection of its own, opened as this one was (for another
        thread: the lease heartbeat)."""
        ...

    # -- reading -------------------------------------------------------------------------------
    def find_run(self, ref: str | int) -> RunRecord:
        """A run by numeric id (or a string of digits) or by name.

        Raises:
            RunNotFoundError: no such run; the message names the most recent runs.
        """
        ...

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first, with its progress and live holder."""
        ...

    def summary(self, run_id: int) -> list[TargetPromptSummary]:
        """Per target x prompt with samples: counts, errors, median latency and tokens."""
        ...

    def iter_samples(self, run_id: int) -> Iterator[Sample]:
        """Every sample of the run (errors included) with its whole transcript, ordered by
        target, prompt (as stored) and sample index."""
        ...

    def samples_with_tags(self, run_id: int) -> Iterator[TaggedSample]:
        """Every sample of the run as :meth:`iter_samples` gives it, with its prompt's tags."""
        ...

    def probes_of(self, run_id: int) -> list[str]:
        """The probe ids of the run, sorted."""
        ...

    # -- judges and verdicts -------------------------------------------------------------------
    def ensure_judge(self, name: str, version: str, args_json: str) -> int:
        """The row id of a judge identity (name, version, settings as JSON text), created if
        new; the same id every time."""
        ...

    def samples_to_judge(self, run_id: int, judge_id: int,
                         probes: set[str] | None = None) -> Iterator[StoredSample]:
        """The run's good samples (of ``probes``, or all) with no verdict yet from this judge
        identity, in the order stored; a ``judge_error`` verdict counts as none."""
        ...

    def stored_samples(self, run_id: int, probes: set[str] | None = None) -> list[StoredSample]:
        """Every good sample of the run (of ``probes``, or all), in the order stored: what pair
        judges pair up."""
        ...

    def judged_pairs(self, judge_id: int) -> set[tuple[int, int]]:
        """Pairs of sample ids (``sample_id`` of :class:`StoredSample`) this judge identity has
        a verdict on other than ``judge_error``."""
        ...

    def verdict_table(self, run_id: int) -> list[VerdictRecord]:
        """Every verdict on the run's samples, ordered by judge identity (in the order the
        identities were first stored), target, prompt (as stored) and sample index."""
        ...

    def pair_verdict_table(self, run_id: int) -> list[PairVerdictRecord]:
        """Every pair verdict on the run's samples, in the order stored."""
        ...

    def close(self) -> None:
        """Close the store's connection (a writer closes on its own)."""
        ...
