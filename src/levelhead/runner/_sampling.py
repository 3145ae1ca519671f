"""Sampling a target: its workers take batches of missing work, ask for them (one request, or
a conversation turn by turn), and put every sample, error or not, to the store's writer as it
arrives."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable

from levelhead.errors import LevelheadError, TargetUnreachableError, redact
from levelhead.judges import JudgeInput
from levelhead.runner._conversation import converse
from levelhead.runner._judging import SampleJudging
from levelhead.runner._planning import PromptWork
from levelhead.runner._progress import Progress
from levelhead.runner._requests import Outcome, TargetState, request_with_retries
from levelhead.store import PairVerdictRow, SampleRow, TurnRow, TurnVerdictRow, VerdictRow

# What the runner puts to the store's writer, and the callable it puts rows with.
Row = SampleRow | VerdictRow | PairVerdictRow | TurnRow | TurnVerdictRow
Put = Callable[[Row], None]


def sample_seed(run_seed: int, target: str, probe: str, prompt_id: str, k: int) -> int:
    """The seed sent with sample ``k`` (a 31-bit int, stable across resumes)."""
    key = f"{run_seed}\x1f{target}\x1f{probe}\x1f{prompt_id}\x1f{k}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") & 0x7FFFFFFF


async def _sample_batch(state: TargetState, work: PromptWork, indices: list[int], run_id: int,
                        run_seed: int, put: Put, progress: Progress, rng: random.Random,
                        judging: SampleJudging | None = None) -> None:
    """Ask for the samples ``indices`` of one prompt in one request (or, for a multi-turn
    probe, hold their conversations); put what came back, and hand replies to the judges."""
    target, cfg = state.target, state.target.config
    seed = sample_seed(run_seed, cfg.name, work.probe, work.prompt.id, indices[0])
    if work.conversation is not None:
        await _converse_batch(state, work, indices, run_id, run_seed, put, progress, rng)
        return
    out = await request_with_retries(state, work.messages, len(indices), seed, rng)
    if out.stopped:
        state.give_back(work, indices)
        return
    if out.error is not None:
        _store_errors(state, work, indices, run_id, seed, out.attempts, out.error, put, progress)
        return
    completions, attempts, latency_ms = out.completions or [], out.attempts, out.latency_ms
    now_ms = int(time.time() * 1000)
    got = min(len(completions), len(indices))
    for k, c in zip(indices, completions, strict=False):
        put(SampleRow(run_id, state.target_id, work.row_id, k, "ok", c.text, None, latency_ms,
                      c.prompt_tokens, c.completion_tokens, c.finish_reason, None, seed, attempts,
                      now_ms))
    state.ok += got
    state.exhausted_streak = 0
    progress.advance(got, 0)
    if judging is not None and work.judges:
        for k, c in zip(indices, completions, strict=False):
            item = JudgeInput(
                id=f"{target.config.name}/{work.probe}/{work.prompt.id}/{k}", text=c.text,
                messages=(*work.messages, {"role": "assistant", "content": c.text}),
                tags=work.prompt.tags, probe=work.probe, prompt_id=work.prompt.id)
            for plan in work.judges:
                judging.submit(plan, item, (state.target_id, work.row_id, k))
    if got < len(indices):
        state.give_back(work, indices[got:])


async def _converse_batch(state: TargetState, work: PromptWork, indices: list[int],
                          run_id: int, run_seed: int, put: Put, progress: Progress,
                          rng: random.Random) -> None:
    """Each index is one conversation, run turn by turn (see ``_conversation``)."""
    cfg = state.target.config
    plan = work.conversation
    assert plan is not None

    async def request(messages: list[dict[str, str]], seed: int) -> Outcome:
        out = await request_with_retries(state, messages, 1, seed, rng)
        if out.completions:
            state.ok += 1
            state.exhausted_streak = 0
            progress.turns += 1
        return out

    user = plan.user_target
    for i, k in enumerate(indices):
        if state.failure is not None:
            state.give_back(work, indices[i:])
            return
        if user is not None and user.state.failure is not None:
            return  # the simulated user's model is down: the rest waits for a resume
        ended = await converse(
            plan=plan, request=request, put=put, ids=(run_id, state.target_id, work.row_id),
            names=(cfg.name, work.probe, work.prompt.id), k=k, prompt=work.prompt,
            system=cfg.system, base_seed=sample_seed(run_seed, cfg.name, work.probe,
                                                     work.prompt.id, k),
            stored=state.turns.get((work.row_id, k), []))
        if ended == "ok":
            progress.advance(1, 0)
        elif ended == "error":
            progress.advance(0, 1)
        elif plan.budget.exhausted and not plan.budget.exhausted_noted:
            plan.budget.exhausted_noted = True
            progress.note(f"the token budget ({plan.budget.limit:,} tokens) is spent: "
                          "conversations in progress stop here; raise [run] "
                          "max_total_tokens and run again to finish them")


def _store_errors(state: TargetState, work: PromptWork, indices: list[int], run_id: int,
                  seed: int, attempts: int, message: str, put: Put, progress: Progress) -> None:
    now_ms = int(time.time() * 1000)
    for k in indices:
        put(SampleRow(run_id, state.target_id, work.row_id, k, "error", None, None, None, None,
                      None, None, message, seed, attempts, now_ms))
    progress.advance(0, len(indices))


async def _worker(state: TargetState, run_id: int, run_seed: int, put: Put, progress: Progress,
                  rng: random.Random, judging: SampleJudging | None) -> None:
    while (batch := state.next_batch()) is not None:
        await state.room()
        await _sample_batch(state, batch[0], batch[1], run_id, run_seed, put, progress, rng,
                            judging)


async def run_target(state: TargetState, run_id: int, run_seed: int, put: Put,
                     progress: Progress, rng: random.Random,
                     judging: SampleJudging | None = None) -> None:
    """Start the target, sample its missing work with ``concurrency`` workers, close it; a
    target that cannot start is marked failed and the other targets go on."""
    try:
        await state.target.start()
    except LevelheadError as exc:
        state.failure = (exc if isinstance(exc, TargetUnreachableError)
                         else TargetUnreachableError(str(exc)))
        progress.note(f"target '{state.target.config.name}' stopped: {exc}")
        return
    except Exception as exc:  # a plugin's own failure: report it as unusable, keep others going
        state.failure = TargetUnreachableError(
            redact(f"target '{state.target.config.name}' failed to start: {exc}"))
        return
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(state.target.config.concurrency):
                group.create_task(_worker(state, run_id, run_seed, put, progress, rng, judging))
    finally:
        await state.target.close()
    if state.failure is not None:
        progress.note(f"target '{state.target.config.name}' stopped: {state.failure}")
