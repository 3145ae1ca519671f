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
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from levelhead.errors import SpecError
from levelhead.judges import JUDGE_ERROR, Judge, JudgeConfig, JudgeInput, PairJudge, build_judge
from levelhead.judges._base import judge_identity
from levelhead.monitor._guard_source import GuardReply, guard_verdict_row
from levelhead.store import MonitorTurnRow, Store

__all__ = ["DEFAULT_JUDGES", "UNDETERMINED", "Batch", "Conversation", "IngestTotals", "Monitor",
           "MonitorJudge", "StoreText", "inclusion", "ingest_batches"]

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


class Monitor:
    """The judges of a monitor, bound to a store.

    Args:
        store: where turns and verdicts go (writable).
        judges: the judges' configs, each with the probability that a turn is judged by it
            (1.0: every turn).
        store_text: what is kept of a reply: ``none``, a SHA-256 ``hash``, or the ``full`` text.
        seed: seeds the draw of the sampled judges' turns.
        concurrency: how many verdicts of sampled (costly) judges are awaited at once.
    """

    def __init__(self, store: Store, judges: Sequence[tuple[JudgeConfig, float]], *,
                 store_text: StoreText = "none", seed: int = 0, concurrency: int = 16) -> None:
        if store_text not in ("none", "hash", "full"):
            raise SpecError(f"--store-text: expected none, hash or full, not {store_text!r}")
        self.store = store
        self.store_text = store_text
        self.seed = seed
        self._limit = asyncio.Semaphore(concurrency)
        self._guard_judges: dict[str, int] = {}
        self.judges: list[MonitorJudge] = []
        for config, probability in judges:
            if not 0.0 < probability <= 1.0:
                raise SpecError(f"--sample {config.name}={probability}: a probability of being "
                                "judged must be above 0 and at most 1")
            built = build_judge(config)
            if isinstance(built, PairJudge):
                raise SpecError(f"{config.name} judges pairs of replies; the monitor judges one "
                                "reply at a time")
            self.judges.append(MonitorJudge(built, store.ensure_judge(*judge_identity(built)),
                                            probability))
        if not self.judges:
            raise SpecError("the monitor needs at least one judge")

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

    async def rows(self, c: Conversation) -> list[MonitorTurnRow]:
        """The turns of ``c`` to store: judged, or, for a guard decision kept without its text,
        with the guard's own verdicts."""
        if isinstance(c, GuardReply) and not c.messages:
            return [guard_verdict_row(self.store, c, self._guard_judges)]
        return await self.judge_conversation(c)

    async def judge_conversation(self, c: Conversation) -> list[MonitorTurnRow]:
        """Every assistant turn of ``c``, judged (sampled judges on their turns only)."""
        messages = [dict(m) for m in c.messages]
        assistant = [i for i, m in enumerate(messages) if m.get("role") == "assistant"
                     and isinstance(m.get("content"), str)]
        rows = []
        for turn, i in enumerate(assistant, start=1):
            text = messages[i]["content"]
            item = JudgeInput(id=f"{c.conversation_id}#{turn}", text=text,
                              messages=tuple(messages[:i + 1]))
            chosen = [j for j in self.judges
                      if inclusion(self.seed, j.name, c.conversation_id, turn, j.probability)]
            if all(j.probability >= 1.0 for j in chosen):
                labels = [await self._verdict(j, item) for j in chosen]
            else:
                labels = list(await asyncio.gather(*(self._verdict(j, item) for j in chosen)))
            kept, digest = self._text(text)
            feedback = c.feedback if i == assistant[-1] else None
            rows.append(MonitorTurnRow(
                c.conversation_id, turn, c.timestamp, c.model, c.language or UNDETERMINED,
                feedback, kept, digest,
                tuple((j.judge_id, label, j.probability) for j, label in zip(chosen, labels,
                                                                              strict=True))))
        return rows


@dataclass(frozen=True, slots=True)
class Batch:
    """What a batch of a source brought: conversations, malformed lines, and where it ended."""

    conversations: list[Conversation]
    malformed: list[tuple[int, str]]
    position: tuple[int | None, int | None, str, int, int]


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
    for batch in batches:
        rows: list[MonitorTurnRow] = []
        for c in batch.conversations:
            rows.extend(await monitor.rows(c))
        stored = monitor.store.add_monitor_batch(source, rows, position=batch.position,
                                                 records=len(batch.conversations),
                                                 malformed=batch.malformed)
        totals.conversations += len(batch.conversations)
        totals.turns_judged += len(rows)
        totals.turns_stored += stored
        totals.malformed += len(batch.malformed)
        if on_batch is not None:
            on_batch(totals, batch)
    return totals
