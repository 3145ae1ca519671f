"""Judging: apply judges to samples as they are stored (in a run) or from the store later
(re-judging without re-sampling). Each verdict is stored with its judge's identity; a judge
identity that already gave a sample a verdict is not asked again (a ``judge_error`` verdict is
asked again)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from levelhead.errors import redact
from levelhead.judges import (
    JUDGE_ERROR,
    Judge,
    JudgeConfig,
    JudgeInput,
    JudgeVerdict,
    PairJudge,
    build_judge,
    judge_identity,
)
from levelhead.store import PairVerdictRow, Store, StoredSample, VerdictRow

# Batches for judges that judge many texts at once (offline classifiers).
_BATCH = 256


@dataclass
class JudgePlan:
    """One judge identity, its store id, and the probes whose samples it judges."""

    judge: Judge | PairJudge
    judge_id: int
    probes: set[str]

    @property
    def is_pair(self) -> bool:
        return isinstance(self.judge, PairJudge)

    @property
    def name(self) -> str:
        return self.judge.config.name


@dataclass
class JudgingReport:
    """Verdicts given, by judge name and label."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def add(self, judge: str, label: str) -> None:
        self.counts.setdefault(judge, Counter())[label] += 1

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def judge_errors(self) -> int:
        return sum(c[JUDGE_ERROR] for c in self.counts.values())


def plan_judges(store: Store, configs_by_probe: dict[str, Sequence[JudgeConfig]]) -> list[JudgePlan]:
    """Build each distinct judge once and register its identity in the store."""
    plans: dict[tuple[str, str, str], JudgePlan] = {}
    for probe, configs in configs_by_probe.items():
        for cfg in configs:
            j = build_judge(cfg)
            ident = judge_identity(j)
            if ident not in plans:
                plans[ident] = JudgePlan(j, store.ensure_judge(*ident), set())
            plans[ident].probes.add(probe)
    return list(plans.values())


def judge_input(s: StoredSample) -> JudgeInput:
    """What a judge sees of a stored sample."""
    return JudgeInput(id=f"{s.target}/{s.probe}/{s.prompt_key}/{s.sample_index}", text=s.text,
                      messages=tuple(s.messages), tags=s.tags, probe=s.probe,
                      prompt_id=s.prompt_key)


def _extra_json(v: JudgeVerdict) -> str | None:
    return json.dumps(dict(v.extra), ensure_ascii=False, sort_keys=True) if v.extra else None


async def safe_verdict(judge_name: str, call: Any) -> JudgeVerdict:
    """Await a judge's verdict; a judge's own failure becomes a ``judge_error`` verdict (a
    missing verdict, never a label)."""
    try:
        return await call  # type: ignore[no-any-return]
    except Exception as exc:
        return JudgeVerdict(JUDGE_ERROR, rationale=redact(f"{judge_name} failed: "
                                                          f"{type(exc).__name__}: {exc}"))


def _is_sync(judge: Judge) -> bool:
    """A judge whose text methods give the whole verdict (``sync`` False: it may also call a
    model, e.g. a rule judge with an LLM fallback, so it is awaited like any other)."""
    # A judge that reads the conversation or the prompt's tags (``uses_context``) is asked
    # through judge(item): the text-only fast paths pass the reply alone.
    return judge.sync and not judge.uses_context


class SampleJudging:
    """Judges samples handed over during a run, without holding up the samplers: the runner
    calls :meth:`submit` and goes on; verdicts reach the writer as they are given."""

    def __init__(self, plans: list[JudgePlan], put: Any, concurrency: int = 16) -> None:
        self._judges: dict[int, Judge] = {p.judge_id: p.judge for p in plans
                                          if not isinstance(p.judge, PairJudge)}
        # Judged as each reply arrives (cheaper now than queued), unless judge() batches
        # concurrent calls (a classifier).
        self._inline = {judge_id for judge_id, j in self._judges.items()
                        if _is_sync(j) and not j.batched}
        self.plans = [p for p in plans if p.judge_id in self._judges]
        self.put = put
        self.report = JudgingReport()
        self._queue: asyncio.Queue[tuple[JudgePlan, JudgeInput, tuple[int, int, int]] | None] = (
            asyncio.Queue())
        self._workers = [asyncio.create_task(self._work()) for _ in range(concurrency)] \
            if self.plans else []

    def wants(self, probe: str) -> list[JudgePlan]:
        return [p for p in self.plans if probe in p.probes]

    def submit(self, plan: JudgePlan, item: JudgeInput, key: tuple[int, int, int]) -> None:
        if plan.judge_id in self._inline:
            try:
                verdict = self._judges[plan.judge_id].judge_text(item.text)
            except Exception as exc:  # a judge's bug is a missing verdict, not a dead run
                verdict = JudgeVerdict(JUDGE_ERROR, rationale=redact(
                    f"{plan.name} failed: {type(exc).__name__}: {exc}"))
            self._record(plan, key, item.text, verdict)
        else:
            self._queue.put_nowait((plan, item, key))

    def _record(self, plan: JudgePlan, key: tuple[int, int, int], reply: str,
                v: JudgeVerdict) -> None:
        self.put(VerdictRow(key[0], key[1], key[2], plan.judge_id, v.label, v.score, v.rationale,
                            _extra_json(v), int(time.time() * 1000), reply))
        self.report.add(plan.name, v.label)

    async def _work(self) -> None:
        while (job := await self._queue.get()) is not None:
            plan, item, key = job
            # judge() (not judge_texts on one text): classifiers batch concurrent calls there.
            verdict = await safe_verdict(plan.name, self._judges[plan.judge_id].judge(item))
            self._record(plan, key, item.text, verdict)

    async def finish(self) -> JudgingReport:
        """Wait for every submitted sample to be judged."""
        for _ in self._workers:
            self._queue.put_nowait(None)
        await asyncio.gather(*self._workers)
        return self.report

    def cancel(self) -> None:
        """Stop the workers (a run that failed or was interrupted)."""
        for task in self._workers:
            task.cancel()


async def close_judges(plans: Iterable[JudgePlan]) -> None:
    """Release what judges opened (judge-model targets); safe to call more than once."""
    for plan in plans:
        # Closing is best effort: the verdicts are already stored.
        with contextlib.suppress(Exception):
            await plan.judge.close()


def _chunks(items: Iterable[StoredSample], size: int) -> Iterator[list[StoredSample]]:
    """``items`` in lists of ``size`` (the last may be shorter), read as they are needed."""
    chunk: list[StoredSample] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def judge_stored(store: Store, run_id: int, plans: Iterable[JudgePlan], *,
                       concurrency: int = 16, progress: Any = None,
                       lease: tuple[int, str] | None = None) -> JudgingReport:
    """Give every stored good sample of the run a verdict from each planned judge it lacks,
    and every pair a pair judge selects a pair verdict; returns what was given.

    ``lease`` is the ``(run id, owner)`` of the run's lease when the caller holds it: the
    writer then stores nothing once the lease is lost (see :mod:`levelhead.store._lease`).
    """
    plans = list(plans)
    report = JudgingReport()
    started = time.monotonic()
    writer = store.writer(lease)
    sem = asyncio.Semaphore(concurrency)

    def record(plan: JudgePlan, s: StoredSample, v: JudgeVerdict) -> None:
        writer.put(VerdictRow(s.target_id, s.prompt_id, s.sample_index, plan.judge_id, v.label,
                              v.score, v.rationale, _extra_json(v), int(time.time() * 1000),
                              s.text))
        report.add(plan.name, v.label)
        if progress is not None:
            progress.advance(1, 1 if v.label == JUDGE_ERROR else 0)

    async def one(plan: JudgePlan, judge: Judge, s: StoredSample) -> None:
        async with sem:
            record(plan, s, await safe_verdict(plan.name, judge.judge(judge_input(s))))

    async def pair(plan: JudgePlan, judge: PairJudge, a: StoredSample, b: StoredSample) -> None:
        async with sem:
            v = await safe_verdict(plan.name, judge.judge_pair(judge_input(a), judge_input(b)))
        writer.put(PairVerdictRow(a.sample_id, b.sample_id, plan.judge_id, v.label, v.score,
                                  v.rationale, _extra_json(v), int(time.time() * 1000)))
        report.add(plan.name, v.label)
        if progress is not None:
            progress.advance(1, 1 if v.label == JUDGE_ERROR else 0)

    try:
        for plan in plans:
            j = plan.judge
            if isinstance(j, PairJudge):
                done = store.judged_pairs(plan.judge_id)
                pairs = [(a, b) for a, b in j.select_pairs(store.stored_samples(run_id, plan.probes))
                         if (a.sample_id, b.sample_id) not in done]
                await asyncio.gather(*(pair(plan, j, a, b) for a, b in pairs))
                continue
            todo = store.samples_to_judge(run_id, plan.judge_id, plan.probes)
            if _is_sync(j):
                # The fast path for judges that judge text without I/O (rules, lexicons,
                # classifiers): many replies at once, no awaiting.
                for chunk in _chunks(todo, _BATCH):
                    try:
                        verdicts = j.judge_texts([s.text for s in chunk])
                    except Exception as exc:
                        verdicts = [JudgeVerdict(JUDGE_ERROR, rationale=redact(
                            f"{plan.name} failed: {type(exc).__name__}: {exc}"))] * len(chunk)
                    for s, v in zip(chunk, verdicts, strict=True):
                        record(plan, s, v)
                    await writer.room()
                    await asyncio.sleep(0)
            else:
                # A window of samples at a time (many times the concurrency, so that the
                # judge is never idle for long): the store streams them, and a million samples
                # never wait in memory at once.
                for chunk in _chunks(todo, max(_BATCH, concurrency * 64)):
                    await asyncio.gather(*(one(plan, j, s) for s in chunk))
                    await writer.room()
    finally:
        await close_judges(plans)
        writer.close()
    report.elapsed_s = time.monotonic() - started
    return report
