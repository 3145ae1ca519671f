"""Judging production conversations as they are ingested, and storing the verdicts.

Every assistant turn of a conversation is judged by every judge the monitor runs, except that a
costly judge (a classifier, an LLM) may run on a random sample of the turns: each verdict keeps
the probability its turn had of being judged, so that every rate stays unbiased (each verdict
counts 1 / that probability). The draw is a hash of the seed, the judge and the turn, so the same
log ingested again draws the same turns.

A conversation's turns are unique: one logged again with more turns adds only the new ones
(the store skips those it holds; they are judged again, which costs time, not correctness).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from levelhead.errors import SpecError
from levelhead.judges import (
    JUDGE_ERROR,
    Judge,
    JudgeConfig,
    JudgeInput,
    PairJudge,
    build_judge,
    registry,
)
from levelhead.judges._base import judge_identity
from levelhead.monitor._guard_source import GuardReply, guard_verdict_row
from levelhead.monitor._source import LineToParse, parse_lines
from levelhead.store import MonitorTurnRow, Store

__all__ = ["DEFAULT_JUDGES", "UNDETERMINED", "Batch", "Conversation", "IngestTotals", "Monitor",
           "MonitorJudge", "StoreText", "TurnJudges", "inclusion", "ingest_batches"]

#: What the monitor judges by default: abuse, flattery and refusal, in English and Chinese.
DEFAULT_JUDGES = ("abuse.lexicon", "flattery.lexicon", "refusal.rules")

StoreText = Literal["none", "hash", "full"]
#: The language of a conversation with no text to tell it by (ISO 639-2 "undetermined").
UNDETERMINED = "und"


class Conversation(Protocol):
    """A logged conversation as the monitor reads it (a log line, or a guard decision)."""

    @property
    def conversation_id(self) -> str: ...
    @property
    def timestamp(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def feedback(self) -> str | None: ...
    @property
    def messages(self) -> Sequence[Mapping[str, str]]: ...


def inclusion(seed: int, judge: str, conversation: str, turn: int, probability: float) -> bool:
    """Whether a turn is in a judge's random sample: a hash of the four, below ``probability``."""
    if probability >= 1.0:
        return True
    digest = hashlib.blake2b(f"{seed}\x1f{judge}\x1f{conversation}\x1f{turn}".encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big") < probability * 2.0**64


@dataclass(frozen=True, slots=True)
class MonitorJudge:
    """A judge the monitor runs, its identity's id in the store and its sampling probability."""

    judge: Judge
    judge_id: int
    probability: float

    @property
    def name(self) -> str:
        return self.judge.config.name


@dataclass
class IngestTotals:
    """What an ingest has done so far."""

    conversations: int = 0
    turns_judged: int = 0
    turns_stored: int = 0
    malformed: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def per_second(self) -> float:
        """Conversations ingested per second since the start."""
        elapsed = time.perf_counter() - self.started
        return self.conversations / elapsed if elapsed > 0 else 0.0


class TurnJudges:
    """Judges assistant turns: every judge on every turn, a sampled judge on its share.

    Needs no store (the judge identities' ids are given), so that worker processes can judge
    too.

    Args:
        judges: each judge with its identity's id in the store and its probability of judging a
            turn.
        store_text: what is kept of a reply: ``none``, a SHA-256 ``hash``, or the ``full`` text.
        seed: seeds the draw of the sampled judges' turns.
        concurrency: how many verdicts of sampled (costly) judges are awaited at once.
    """

    def __init__(self, judges: Sequence[MonitorJudge], *, store_text: StoreText = "none",
                 seed: int = 0, concurrency: int = 16) -> None:
        if store_text not in ("none", "hash", "full"):
            raise SpecError(f"--store-text: expected none, hash or full, not {store_text!r}")
        self.judges = list(judges)
        # Every judge on every turn (rule judges): no draw to make, nothing to wait for.
        self._every = all(j.probability >= 1.0 for j in self.judges)
        self.store_text = store_text
        self.seed = seed
        self._limit = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        """Release what the judges hold (an LLM judge's connections)."""
        for j in self.judges:
            await j.judge.close()

    async def _verdict(self, j: MonitorJudge, item: JudgeInput) -> str:
        try:
            if j.probability < 1.0:  # a costly judge: bounded concurrency
                async with self._limit:
                    return (await j.judge.judge(item)).label
            return (await j.judge.judge(item)).label
        except asyncio.CancelledError:
            raise
        except Exception:  # a failing judge gives judge_error for that turn, never a crash
            return JUDGE_ERROR

    def _text(self, text: str) -> tuple[str | None, str | None]:
        if self.store_text == "full":
            return text, None
        if self.store_text == "hash":
            return None, hashlib.sha256(text.encode()).hexdigest()
        return None, None

    async def judge_batch(self, conversations: Sequence[Conversation]) -> list[MonitorTurnRow]:
        """Every assistant turn of a batch, in order. With a sampled (costly) judge, the batch's
        conversations are judged side by side, up to ``concurrency`` of its calls at once; rule
        judges alone go one after the other (they never wait)."""
        if all(j.probability >= 1.0 for j in self.judges):
            rows: list[MonitorTurnRow] = []
            for c in conversations:
                rows.extend(await self.judge_conversation(c))
            return rows
        done = await asyncio.gather(*(self.judge_conversation(c) for c in conversations))
        return [row for turns in done for row in turns]

    async def judge_conversation(self, c: Conversation) -> list[MonitorTurnRow]:
        """Every assistant turn of ``c``, judged (sampled judges on their turns only)."""
        # A parsed log line's messages are plain dicts already: shared, not copied (judges
        # only read them).
        messages = tuple(m if type(m) is dict else dict(m) for m in c.messages)
        assistant = [i for i, m in enumerate(messages) if m.get("role") == "assistant"
                     and isinstance(m.get("content"), str)]
        if not assistant:
            return []
        rows = []
        conversation, language = c.conversation_id, c.language or UNDETERMINED
        last = assistant[-1]
        for turn, i in enumerate(assistant, start=1):
            text = messages[i]["content"]
            item = JudgeInput(id=f"{conversation}#{turn}", text=text, messages=messages[:i + 1])
            verdicts: tuple[tuple[int, str, float], ...]
            if self._every:
                found = []
                for j in self.judges:  # what _verdict does, without a coroutine per verdict
                    try:
                        label = (await j.judge.judge(item)).label
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        label = JUDGE_ERROR
                    found.append((j.judge_id, label, j.probability))
                verdicts = tuple(found)
            else:
                chosen = [j for j in self.judges
                          if inclusion(self.seed, j.name, conversation, turn, j.probability)]
                if all(j.probability >= 1.0 for j in chosen):
                    labels = [await self._verdict(j, item) for j in chosen]
                else:
                    labels = list(await asyncio.gather(*(self._verdict(j, item) for j in chosen)))
                verdicts = tuple((j.judge_id, label, j.probability)
                                 for j, label in zip(chosen, labels, strict=True))
            kept, digest = self._text(text)
            rows.append(MonitorTurnRow(
                conversation, turn, c.timestamp, c.model, language,
                c.feedback if i == last else None, kept, digest, verdicts))
        return rows


def _build(config: JudgeConfig) -> Judge:
    built = build_judge(config)
    if isinstance(built, PairJudge):
        raise SpecError(f"{config.name} judges pairs of replies; the monitor judges one reply at "
                        "a time")
    return built


class Monitor:
    """The judges of a monitor, bound to a store, judging in this process or in ``workers``
    processes of their own.

    Args:
        store: where turns and verdicts go (writable).
        judges: the judges' configs, each with the probability that a turn is judged by it
            (1.0: every turn).
        store_text: what is kept of a reply: ``none``, a SHA-256 ``hash``, or the ``full`` text.
        seed: seeds the draw of the sampled judges' turns.
        concurrency: how many verdicts of sampled (costly) judges are awaited at once.
        workers: processes that judge batches side by side (1: judge in this process).
    """

    def __init__(self, store: Store, judges: Sequence[tuple[JudgeConfig, float]], *,
                 store_text: StoreText = "none", seed: int = 0, concurrency: int = 16,
                 workers: int = 1) -> None:
        self.store = store
        self._guard_judges: dict[str, int] = {}
        built: list[MonitorJudge] = []
        for config, probability in judges:
            if not 0.0 < probability <= 1.0:
                raise SpecError(f"--sample {config.name}={probability}: a probability of being "
                                "judged must be above 0 and at most 1")
            judge = _build(config)
            built.append(MonitorJudge(judge, store.ensure_judge(*judge_identity(judge)),
                                      probability))
        if not built:
            raise SpecError("the monitor needs at least one judge")
        self.turns = TurnJudges(built, store_text=store_text, seed=seed, concurrency=concurrency)
        self.judges = self.turns.judges
        self.workers = max(1, workers)
        self.pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            plan = [(j.judge.config.model_dump(mode="json"), j.judge_id, j.probability)
                    for j in built]
            # forkserver: the reader's thread is running when workers start; a plain fork
            # could copy a lock it holds.
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=_forkserver_context(),
                initializer=_start_worker,
                initargs=(plan, store_text, seed, concurrency, os.getpid()))

    async def close(self) -> None:
        """Release what the judges hold, and stop the worker processes."""
        await self.turns.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    async def judge_conversation(self, c: Conversation) -> list[MonitorTurnRow]:
        """Every assistant turn of ``c``, judged (sampled judges on their turns only)."""
        return await self.turns.judge_conversation(c)

    async def rows(self, c: Conversation) -> list[MonitorTurnRow]:
        """The turns of ``c`` to store: judged, or, for a guard decision kept without its text,
        with the guard's own verdicts."""
        if isinstance(c, GuardReply) and not c.messages:
            return [guard_verdict_row(self.store, c, self._guard_judges)]
        return await self.turns.judge_conversation(c)

    async def batch_rows(self, conversations: Sequence[Conversation]) -> list[MonitorTurnRow]:
        """The turns of a batch, judged here (see :meth:`submit` for the worker processes)."""
        if any(isinstance(c, GuardReply) and not c.messages for c in conversations):
            rows: list[MonitorTurnRow] = []
            for c in conversations:
                rows.extend(await self.rows(c))
            return rows
        return await self.turns.judge_batch(conversations)

    def submit(self, conversations: Sequence[Conversation]) -> asyncio.Future[list[MonitorTurnRow]]:
        """A batch handed to a worker process; its turns when done."""
        assert self.pool is not None
        return asyncio.get_running_loop().run_in_executor(self.pool, _judge_in_worker,
                                                          list(conversations))

    async def line_rows(self, lines: Sequence[LineToParse]) -> _Judged:
        """A batch of raw log lines, parsed and judged here (see :meth:`submit_lines`)."""
        records, malformed = parse_lines(lines)
        return await self.turns.judge_batch(records), len(records), malformed

    def submit_lines(self, lines: Sequence[LineToParse]) -> asyncio.Future[_Judged]:
        """A batch of raw log lines handed to a worker process, which parses and judges them:
        their turns, how many conversations they held, and the malformed ones, when done."""
        assert self.pool is not None
        return asyncio.get_running_loop().run_in_executor(self.pool, _judge_lines_in_worker,
                                                          list(lines))


# -- worker processes ---------------------------------------------------------------------------
_WORKER: tuple[asyncio.AbstractEventLoop, TurnJudges] | None = None
_STOPPING = (signal.SIGINT, signal.SIGTERM)


def _forkserver_context() -> multiprocessing.context.BaseContext:
    """The forkserver context, its server started deaf to Ctrl-C and SIGTERM.

    Both reach the whole process group (a terminal's Ctrl-C, a service manager's stop). A
    forkserver killed by one takes the pool with it: its workers' sentinels close, the pool
    counts them dead and gives up on them, and the workers, which ignore the signal, outlive
    the ingest as orphans holding its stderr (and the resource tracker) open. Started deaf to
    both, the server and every worker forked from it leave stopping to this process, which
    shuts the pool down; the server exits when this process does.

    A blocked signal stays blocked through ``fork`` and ``exec``, so the server is started with
    both blocked in this thread (and its workers, which ignore both, unblock them): a signal for
    the server then stays pending there for ever, while one sent to this process in that moment
    is delivered to its handler when the mask is restored. The handlers are not touched:
    setting a signal to ignored would discard one already pending. The resource tracker, which
    unblocks both when it starts, is started first. Elsewhere than the main thread the server
    starts as it would anyway, and a forkserver that other code in this process started before
    is reused as it is (not deaf: a stop signal to the process group may then end the pool
    with an error instead of a clean stop).
    """
    context = multiprocessing.get_context("forkserver")
    if threading.current_thread() is not threading.main_thread():
        return context
    multiprocessing.resource_tracker.ensure_running()
    blocked: set[int | signal.Signals] | None = None
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        multiprocessing.forkserver.ensure_running()
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return context


def _end_with(pid: int) -> None:
    """End this worker when the ingest's process ``pid`` ends, where the system can say when.

    A stopped ingest shuts its workers down itself; one killed outright (SIGKILL, a crash)
    cannot, and its workers, waiting for work, would hold the forkserver (and the stderr they
    share) open for ever: each worker holds the end of the pipe whose closing ends the server.
    """
    try:
        watched = os.pidfd_open(pid)  # Linux 5.3 and later: readable once ``pid`` has ended
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return

    def watch() -> None:
        poller = select.poll()  # not select.select: a descriptor may be past 1023
        poller.register(watched, select.POLLIN)
        poller.poll()
        os._exit(1)

    threading.Thread(target=watch, name="levelhead-monitor-watch", daemon=True).start()


def _start_worker(plan: list[tuple[dict[str, object], int, float]], store_text: StoreText,
                  seed: int, concurrency: int, ingest_pid: int) -> None:
    global _WORKER
    # Ctrl-C and SIGTERM reach the whole process group: the parent stores what was read and
    # stops the workers itself; a worker that took the signal would die with a traceback.
    # (Forked from a server started with both blocked: ignored first, then unblocked.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
    _end_with(ingest_pid)
    judges = []
    for dump, judge_id, probability in plan:
        entry = registry.get(str(dump["name"]))
        config_type: Any = entry.config or JudgeConfig
        config: JudgeConfig = config_type.model_validate(dump)
        judges.append(MonitorJudge(_build(config), judge_id, probability))
    # One loop for the worker's life: an LLM judge's connections stay bound to it.
    _WORKER = (asyncio.new_event_loop(),
               TurnJudges(judges, store_text=store_text, seed=seed, concurrency=concurrency))
    # The judges' phrase lists and compiled patterns live as long as the worker: kept out of
    # the garbage collector's passes, which a batch's short-lived objects set off (measured:
    # about 6.5 µs of GC a conversation, 2.5 with this).
    gc.freeze()


def _judge_in_worker(conversations: list[Conversation]) -> list[MonitorTurnRow]:
    assert _WORKER is not None, "not started by Monitor"
    loop, turns = _WORKER

    return loop.run_until_complete(turns.judge_batch(conversations))


def _judge_lines_in_worker(lines: list[LineToParse]) -> _Judged:
    assert _WORKER is not None, "not started by Monitor"
    loop, turns = _WORKER
    records, malformed = parse_lines(lines)
    return loop.run_until_complete(turns.judge_batch(records)), len(records), malformed


@dataclass(frozen=True, slots=True)
class Batch:
    """What a batch of a source brought: conversations, malformed lines, and where it ended.

    A log's batch brings its lines unparsed (``lines``, see
    :func:`~levelhead.monitor._source.parse_lines`), parsed where they are judged; the batch
    :func:`ingest_batches` hands to ``on_batch`` then has ``malformed`` filled in.
    """

    conversations: list[Conversation]
    malformed: list[tuple[int, str]]
    position: tuple[int | None, int | None, str, int, int]
    lines: list[LineToParse] = field(default_factory=list)


# What judging a batch of raw lines gives: its turns, how many conversations it held, and the
# (line, reason) of its malformed lines.
_Judged = tuple[list[MonitorTurnRow], int, list[tuple[int, str]]]


async def ingest_batches(monitor: Monitor, source: str, batches: Iterable[Batch],
                         totals: IngestTotals | None = None,
                         on_batch: Callable[[IngestTotals, Batch], None] | None = None
                         ) -> IngestTotals:
    """Judge each batch's conversations and store them with the batch's end position, in one
    transaction per batch (a restart resumes after the last batch stored).

    Args:
        monitor: the judges and the store.
        source: the source's name in the store.
        batches: what was read, in order.
        totals: counts to add to (a new one by default).
        on_batch: called after each batch is stored (progress, malformed lines).
    """
    totals = totals or IngestTotals()

    def store(batch: Batch, judged: _Judged | list[MonitorTurnRow]) -> None:
        if isinstance(judged, tuple):  # raw lines, parsed where they were judged
            rows, records, found = judged
            batch = replace(batch, malformed=[*batch.malformed, *found])
        else:
            rows, records = judged, len(batch.conversations)
        stored = monitor.store.add_monitor_batch(source, rows, position=batch.position,
                                                 records=records, malformed=batch.malformed)
        totals.conversations += records
        totals.turns_judged += len(rows)
        totals.turns_stored += stored
        totals.malformed += len(batch.malformed)
        if on_batch is not None:
            on_batch(totals, batch)

    async def judged_here(batch: Batch) -> _Judged | list[MonitorTurnRow]:
        if batch.lines:
            return await monitor.line_rows(batch.lines)
        return await monitor.batch_rows(batch.conversations)

    def submitted(batch: Batch) -> asyncio.Future[Any]:
        if batch.lines:
            return monitor.submit_lines(batch.lines)
        return monitor.submit(batch.conversations)

    source_batches = iter(batches)

    async def next_batch() -> Batch | None:
        # In a thread: a followed log waits there for lines, while this loop goes on (worker
        # processes' results, a costly judge's replies).
        return await asyncio.to_thread(next, source_batches, None)

    if monitor.pool is None:
        while (batch := await next_batch()) is not None:
            store(batch, await judged_here(batch))
        return totals
    # Worker processes judge batches side by side; they are stored in the order read, so the
    # position stored is always after every line before it. A batch is stored as soon as it
    # is judged, even while the next one is still being waited for (a quiet followed log).
    pending: deque[tuple[Batch, asyncio.Future[Any]]] = deque()
    reading: asyncio.Future[Batch | None] = asyncio.ensure_future(next_batch())
    try:
        while True:
            head: set[asyncio.Future[Any]] = {pending[0][1]} if pending else set()
            await asyncio.wait({reading} | head, return_when=asyncio.FIRST_COMPLETED)
            while pending and pending[0][1].done():
                first, rows = pending.popleft()
                store(first, rows.result())
            if not reading.done():
                continue
            batch = reading.result()
            if batch is None:
                break
            pending.append((batch, submitted(batch)))
            while len(pending) > monitor.workers:  # no more ahead than there are workers
                first, rows = pending.popleft()
                store(first, await rows)
            reading = asyncio.ensure_future(next_batch())
        while pending:
            first, rows = pending.popleft()
            store(first, await rows)
    finally:
        for _, future in pending:
            future.cancel()
    return totals
