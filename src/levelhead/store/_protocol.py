"""What every store offers its callers (the runner, the CLI, later stats and reports)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from typing import Any, Protocol

from levelhead.records import Prompt, RunInfo, Sample
from levelhead.store._records import (
    BrowsedSample,
    GuardDecisionRecord,
    LeaseHolder,
    MonitorCountRecord,
    MonitorSourceRecord,
    PairVerdictRecord,
    ReviewItemRecord,
    ReviewLabelRecord,
    ReviewQueueRecord,
    RunProgress,
    RunRecord,
    StoredSample,
    StoredTurn,
    TaggedSample,
    TargetPromptSummary,
    TurnRecord,
    TurnVerdictRecord,
    VerdictRecord,
)
from levelhead.store._rows import (
    GuardDecisionRow,
    MonitorTurnRow,
    PairVerdictRow,
    SampleRow,
    TurnRow,
    TurnVerdictRow,
    VerdictRow,
)


class SampleWriter(Protocol):
    """Accepts sample and verdict rows without blocking the caller; writes them in batched
    transactions, in the order given (a verdict after its sample)."""

    def put(self, row: SampleRow | VerdictRow | PairVerdictRow | TurnRow | TurnVerdictRow
            ) -> None:
        """Queue one row; raises :class:`~levelhead.errors.StoreError` if an earlier write
        failed (then nothing more is written)."""
        ...

    async def room(self) -> None:
        """Return once the writer's queue has room for more rows: producers on an event loop
        await it before making more, so that rows never pile up faster than the store commits
        them (``put`` itself never blocks a loop)."""
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

    def existing_indices(self, target_id: int) -> dict[int, AbstractSet[int]]:
        """Sample indices already stored for a target, by prompt row id (errors included): a
        set per prompt (compact: a bitmap; it compares equal to a ``set``)."""
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

    # -- browsing: a page of samples at a time -------------------------------------------------
    def sample_page(self, run_id: int, *, probe: str | None = None, prompt: str | None = None,
                    target: str | None = None, judge: str | None = None,
                    label: str | None = None, lang: str | None = None,
                    query: str | None = None, offset: int = 0, limit: int = 50
                    ) -> tuple[list[BrowsedSample], int]:
        """One page of the run's samples (errors included), in the order stored, that pass
        every filter given, and how many pass in all; filtered and paged by the store, so that
        a page of a 100,000-sample run is as quick as one of a small run.

        Args:
            probe: The probe id.
            prompt: The probe's prompt id.
            target: The target's name.
            judge: Samples with a verdict of this judge (with ``label``: of that label).
            label: Samples with a verdict of this label (of ``judge``, or of any judge).
            lang: The prompt's ``lang`` tag (``""``: prompts without one).
            query: Text the reply (or an error sample's error) contains, case-insensitively
                for ASCII letters; taken literally (``%`` and ``_`` are no wildcards).
            offset: Samples to pass over first.
            limit: The most samples on the page (1 to 500).

        Raises:
            RunNotFoundError: no such run.
            StoreError: a negative offset, or a limit outside 1..500.
        """
        ...

    def browse_sample(self, run_id: int, sample_id: int) -> BrowsedSample:
        """One sample of the run (``sample_id`` of :class:`BrowsedSample` or
        :class:`StoredSample`), whole, with every verdict on it and each judge's identity.

        Raises:
            RunNotFoundError: no such run.
            StoreError: the run has no such sample.
        """
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

    # -- spot-check review: queues of samples and reviewers' labels ---------------------------
    def create_review_queue(self, run_id: int, name: str, judge_id: int, labels: Sequence[str],
                            design: dict[str, Any], items: Sequence[tuple[int, str, float]]
                            ) -> ReviewQueueRecord:
        """Store a review queue of the run's samples, whole or not at all.

        Args:
            run_id: The run whose samples it holds.
            name: Its name, unique in the run (stripped; 1 to 64 characters of plain text, not
                only digits, which would read as an id).
            judge_id: The judge identity whose labels it checks (:meth:`ensure_judge`).
            labels: The labels reviewers choose from (distinct, non-empty).
            design: How it was drawn (seed, size, strata with N_h and n_h): plain JSON, kept as
                given for the estimates that weight each reviewed item.
            items: ``(sample id, stratum, inclusion probability)`` per sample, in the order
                reviewers are to see them: samples with a reply of this run, none twice, each
                probability above 0 and at most 1.

        Raises:
            RunNotFoundError: no such run.
            StoreError: anything above broken, an unknown judge identity, a queue of that name
                already in the run, or a read-only store.
        """
        ...

    def review_queues(self, run_id: int | None = None) -> list[ReviewQueueRecord]:
        """The review queues of the run (of every run when None), newest first, each with its
        count of items and of items labelled."""
        ...

    def find_review_queue(self, run_id: int, ref: str | int) -> ReviewQueueRecord:
        """A review queue of the run by id (or a string of digits) or by name.

        Raises:
            RunNotFoundError: no such run.
            StoreError: the run has no such queue; the message suggests a close name or names
                the run's queues.
        """
        ...

    def review_items(self, queue_id: int) -> list[ReviewItemRecord]:
        """The queue's samples in the order reviewers see them, each with what finds its
        transcript and verdicts (target, probe, prompt id, sample index).

        Raises:
            StoreError: no such queue.
        """
        ...

    def add_review_label(self, queue_id: int, sample_id: int, reviewer: str, label: str,
                         note: str = "") -> ReviewLabelRecord:
        """Append a reviewer's label on one item of the queue; it supersedes the reviewer's
        earlier labels on that item (which stay in the history).

        Args:
            reviewer: Who labels (stripped; 1 to 64 characters, no control or invisible
                characters).
            label: One of the queue's labels.
            note: Up to 2,000 characters (stripped; line breaks kept).

        Raises:
            StoreError: no such queue, the sample is not in it, the label is not one of its
                labels (with a did-you-mean), a malformed reviewer or note, or a read-only store.
        """
        ...

    def undo_review_label(self, queue_id: int, reviewer: str) -> ReviewLabelRecord | None:
        """Mark the reviewer's newest live label in the queue undone, so that their label before
        it on that item (if any) counts again; returns it (``undone`` True), or None when the
        reviewer has no live label in the queue.

        Raises:
            StoreError: no such queue, a malformed reviewer, or a read-only store.
        """
        ...

    def review_labels(self, queue_id: int, *, history: bool = False) -> list[ReviewLabelRecord]:
        """The labels that count, one per reviewer and item (the reviewer's newest label not
        undone), ordered by item position and reviewer; with ``history``, every label given,
        superseded and undone ones too, in the order given.

        Raises:
            StoreError: no such queue.
        """
        ...

    # -- the guard's decisions -----------------------------------------------------------------
    def add_guard_decisions(self, rows: Sequence[GuardDecisionRow]) -> int:
        """Append the guard's decisions in one transaction; returns how many were written.

        Raises:
            StoreError: a row with an unknown action, or with findings that are not a JSON list;
                a read-only store; a store locked for too long.
        """
        ...

    def guard_decisions(self, *, since: str | None = None, until: str | None = None,
                        after_id: int = 0, limit: int | None = None) -> list[GuardDecisionRecord]:
        """The guard's decisions in the order written: made at or after ``since`` and before
        ``until`` (UTC, ISO 8601), with ids after ``after_id``, at most ``limit`` of them."""
        ...

    # -- the monitor: production conversations' turns --------------------------------------------
    def add_monitor_batch(self, source: str, turns: Sequence[MonitorTurnRow], *,
                          position: tuple[int | None, int | None, str, int, int],
                          records: int, malformed: Sequence[tuple[int, str]] = ()) -> int:
        """Store a batch of turns read from ``source`` with their verdicts, where reading got to
        (``(device, inode, fingerprint, offset, line)``) and its malformed lines ``(line, reason)``, in one
        transaction; returns the turns stored (a conversation's turns already there are
        skipped).

        Raises:
            StoreError: a malformed turn (turn < 1, feedback not up/down, an inclusion
                probability outside (0, 1]); a read-only store; a store locked for too long.
        """
        ...

    def monitor_sources(self) -> list[MonitorSourceRecord]:
        """Every source ingested from, with where reading it got to, by name."""
        ...

    def monitor_malformed(self, source: str) -> list[tuple[int, str]]:
        """The newest malformed lines of ``source`` kept, ``(line, reason)``, in line order."""
        ...

    def monitor_turn_count(self) -> int:
        """How many turns the monitor holds."""
        ...

    def monitor_counts(self, *, by: str = "order", step: int = 1_000, since: str | None = None,
                       until: str | None = None) -> list[MonitorCountRecord]:
        """Verdict counts (plain, and weighted by 1 / inclusion probability) per judge identity,
        label, model, language, feedback and bucket: ``step`` turns in ingest order
        (``by="order"``), or a ``day`` or ``hour`` of the turns' time.

        Raises:
            StoreError: an unknown ``by`` or a ``step`` below 1.
        """
        ...

    def close(self) -> None:
        """Close the store's connection (a writer closes on its own)."""
        ...
