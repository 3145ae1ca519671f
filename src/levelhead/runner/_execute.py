"""Execute an AuditSpec: plan the missing work, sample it with bounded concurrency per target,
retry what is retryable, and store every sample (errors included) as it arrives."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from levelhead.errors import (
    FatalTargetError,
    LeaseLostError,
    LevelheadError,
    RetryableTargetError,
    RunBusyError,
    SpecError,
    StoreError,
    TargetUnreachableError,
    redact,
)
from levelhead.judges import JudgeInput
from levelhead.probes import build_probe
from levelhead.records import Prompt, conversation, dump_turns
from levelhead.runner._conversation import (
    Budget,
    ConversationPlan,
    UserStopped,
    converse,
    cost_estimate,
)
from levelhead.runner._judging import (
    JudgePlan,
    SampleJudging,
    close_judges,
    judge_stored,
    plan_judges,
)
from levelhead.runner._progress import Progress
from levelhead.spec import AuditSpec, check_run_name, judge_configs
from levelhead.store import RunLease, SampleRow, Store, StoredTurn, claim_lease
from levelhead.targets import Target, TargetConfig, build_target

# After this many connection failures in a row a target that once answered is given up too.
_UNREACHABLE_STREAK = 8
# After this many batches in a row exhaust their retries, the target is stopped.
_EXHAUSTED_STREAK = 3


@dataclass
class RunReport:
    """What a call to :func:`run_audit` did."""

    run_id: int
    run_name: str
    resumed: bool
    planned: int
    already_stored: int
    sampled: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    failed_targets: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    first_error: str | None = None  # the first error stored by this call, if any

    @property
    def succeeded(self) -> int:
        """Samples this call stored as replies (not errors)."""
        return self.sampled - self.errors

    @property
    def complete(self) -> bool:
        """True when every planned sample is now stored."""
        return self.already_stored + self.sampled >= self.planned

    @property
    def samples_per_s(self) -> float:
        return self.sampled / self.elapsed_s if self.elapsed_s > 0 else 0.0


def sample_seed(run_seed: int, target: str, probe: str, prompt_id: str, k: int) -> int:
    """The seed sent with sample ``k`` (a 31-bit int, stable across resumes)."""
    key = f"{run_seed}\x1f{target}\x1f{probe}\x1f{prompt_id}\x1f{k}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") & 0x7FFFFFFF


@dataclass(slots=True)
class _PromptWork:
    probe: str
    prompt: Prompt
    row_id: int
    messages: list[dict[str, str]]
    judges: list[JudgePlan] = field(default_factory=list)  # sample judges for this probe
    conversation: ConversationPlan | None = None  # multi-turn probes: how the talk goes on


class _TargetState:
    """One target's queue of missing work and its health during the run."""

    def __init__(self, target: Target, target_id: int, work: Iterator[tuple[_PromptWork, list[int]]]):
        self.target = target
        self.target_id = target_id
        self._work = work
        self._current: tuple[_PromptWork, list[int]] | None = None
        self._returned: deque[tuple[_PromptWork, list[int]]] = deque()
        self.ok = 0
        self.unreachable_streak = 0
        self.failure: TargetUnreachableError | None = None
        self.pause_until = 0.0
        self.exhausted_streak = 0
        self.last_ok_at = float("-inf")  # monotonic time of the last request that succeeded
        self.turns: dict[tuple[int, int], list[StoredTurn]] = {}  # stored conversation turns

    def halt(self, failure: TargetUnreachableError) -> None:
        """Stop sampling this target (work in hand goes back as missing work)."""
        if self.failure is None:
            self.failure = failure

    def next_batch(self) -> tuple[_PromptWork, list[int]] | None:
        """Up to ``max_n`` missing sample indices of one prompt."""
        if self.failure is not None:
            return None
        if self._returned:
            return self._returned.popleft()
        while self._current is None or not self._current[1]:
            nxt = next(self._work, None)
            if nxt is None:
                return None
            self._current = nxt
        work, missing = self._current
        # A conversation is one sample at a time: its turns go one after another.
        n = 1 if work.conversation is not None else max(1, self.target.max_n)
        take, self._current = missing[:n], (work, missing[n:])
        return work, take

    def give_back(self, work: _PromptWork, indices: list[int]) -> None:
        self._returned.append((work, indices))


def _backoff(attempt: int, cfg: TargetConfig, retry_after: float | None, rng: random.Random) -> float:
    # Exponential with full jitter spreads the retries of many workers apart; a server's
    # Retry-After is a floor (plus a little spread, so workers do not all wake at once).
    jittered = rng.uniform(0, min(cfg.max_backoff_s, 0.5 * 2 ** (attempt - 1)))
    if retry_after is not None:
        jittered = max(jittered, retry_after + rng.uniform(0, 0.1 + 0.1 * retry_after))
    return min(jittered, cfg.max_backoff_s)


@dataclass(slots=True)
class _Outcome:
    """What came of one request, after its retries."""

    completions: list[Any] | None = None
    attempts: int = 0
    latency_ms: int | None = None
    stopped: bool = False  # the target was stopped: the work goes back, a resume does it
    error: str | None = None  # failed for good: stored as an error


async def _request(state: _TargetState, messages: list[dict[str, str]], n: int, seed: int,
                   rng: random.Random) -> _Outcome:
    """Send one request with retries for what is retryable; says what came of it."""
    target, cfg = state.target, state.target.config
    attempts = 0
    first_attempt_at = time.monotonic()
    while True:
        attempts += 1
        wait = state.pause_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        started = time.perf_counter()
        try:
            completions = await target.complete(messages, n=n, seed=seed)
            state.unreachable_streak = 0
            state.last_ok_at = time.monotonic()
            return _Outcome(completions, attempts, int((time.perf_counter() - started) * 1000))
        except TargetUnreachableError as exc:
            state.unreachable_streak += 1
            if state.ok == 0 or state.unreachable_streak >= _UNREACHABLE_STREAK:
                state.halt(exc)  # not sampled: a resume will do it
                return _Outcome(attempts=attempts, stopped=True)
            error: Exception = exc
        except RetryableTargetError as exc:
            error = exc
            if exc.retry_after is not None:
                state.pause_until = max(state.pause_until, time.monotonic() + min(
                    exc.retry_after, cfg.max_backoff_s))
        except FatalTargetError as exc:
            return _Outcome(attempts=attempts, error=str(exc))
        except Exception as exc:  # a plugin's or a library's own failure: this sample fails,
            # the run goes on (a bug in one reply's handling must not end every target).
            return _Outcome(attempts=attempts, error=redact(
                f"target '{cfg.name}': unexpected {type(exc).__name__}: {exc}"))
        if attempts > cfg.max_retries:
            if state.last_ok_at > first_attempt_at:
                # The target answered other requests while this one was retried: it is up, and
                # this request was unlucky (the much-retried tail of a run under heavy
                # transient faults). An error sample, and no evidence that the target is down.
                return _Outcome(attempts=attempts,
                                error=f"{error} (gave up after {attempts} attempts)")
            if state.ok == 0 or state.exhausted_streak + 1 >= _EXHAUSTED_STREAK:
                # Nothing ever came back, or batch after batch fails: the target is down, not
                # these prompts. Stop it and leave the work missing for a resume.
                state.halt(TargetUnreachableError(
                    f"{error} (gave up after {attempts} attempts"
                    + (", and no request has succeeded yet)" if state.ok == 0 else
                       f", {_EXHAUSTED_STREAK} batches in a row)")))
                return _Outcome(attempts=attempts, stopped=True)
            state.exhausted_streak += 1
            return _Outcome(attempts=attempts, error=f"{error} (gave up after {attempts} attempts)")
        await asyncio.sleep(_backoff(attempts, cfg, getattr(error, "retry_after", None), rng))


class _UserModel:
    """The model that plays the simulated user, behind the runner's retries: a retryable
    failure is retried like any request, one that fails for good fails that conversation, and
    an unreachable model stops every conversation for a resume (:class:`UserStopped`)."""

    def __init__(self, target: Target, rng: random.Random) -> None:
        self.target = target
        self.config = target.config
        self.state = _TargetState(target, -1, iter(()))
        self._rng = rng

    @property
    def max_n(self) -> int:
        return 1

    async def start(self) -> None:
        await self.target.start()

    async def close(self) -> None:
        await self.target.close()

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None, options: Any = None) -> list[Any]:
        if self.state.failure is not None:
            raise UserStopped(str(self.state.failure))
        out = await _request(self.state, messages, n, seed or 0, self._rng)
        if out.stopped:
            raise UserStopped(str(self.state.failure))
        if out.error is not None:
            raise FatalTargetError(out.error)
        if not out.completions:
            raise FatalTargetError(f"target '{self.config.name}' returned no reply")
        self.state.ok += 1
        self.state.exhausted_streak = 0
        return out.completions


async def _sample_batch(state: _TargetState, work: _PromptWork, indices: list[int], run_id: int,
                        run_seed: int, put, progress: Progress, rng: random.Random,  # type: ignore[no-untyped-def]
                        judging: SampleJudging | None = None) -> None:
    target, cfg = state.target, state.target.config
    seed = sample_seed(run_seed, cfg.name, work.probe, work.prompt.id, indices[0])
    if work.conversation is not None:
        await _converse_batch(state, work, indices, run_id, run_seed, put, progress, rng)
        return
    out = await _request(state, work.messages, len(indices), seed, rng)
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


async def _converse_batch(state: _TargetState, work: _PromptWork, indices: list[int],
                          run_id: int, run_seed: int, put, progress: Progress,  # type: ignore[no-untyped-def]
                          rng: random.Random) -> None:
    """Each index is one conversation, run turn by turn (see ``_conversation``)."""
    cfg = state.target.config
    plan = work.conversation
    assert plan is not None

    async def request(messages: list[dict[str, str]], seed: int) -> _Outcome:
        out = await _request(state, messages, 1, seed, rng)
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


def _store_errors(state: _TargetState, work: _PromptWork, indices: list[int], run_id: int,
                  seed: int, attempts: int, message: str, put, progress: Progress) -> None:  # type: ignore[no-untyped-def]
    now_ms = int(time.time() * 1000)
    for k in indices:
        put(SampleRow(run_id, state.target_id, work.row_id, k, "error", None, None, None, None,
                      None, None, message, seed, attempts, now_ms))
    progress.advance(0, len(indices))


async def _worker(state: _TargetState, run_id: int, run_seed: int, put, progress: Progress,
                  rng: random.Random, judging: SampleJudging | None) -> None:  # type: ignore[no-untyped-def]
    while (batch := state.next_batch()) is not None:
        await _sample_batch(state, batch[0], batch[1], run_id, run_seed, put, progress, rng,
                            judging)


def _missing(store: Store, target_id: int, prompts: list[_PromptWork],
             n: int) -> tuple[int, Iterator[tuple[_PromptWork, list[int]]]]:
    existing = store.existing_indices(target_id)
    stored = sum(len(existing.get(p.row_id, ())) for p in prompts)

    def gen() -> Iterator[tuple[_PromptWork, list[int]]]:
        for p in prompts:
            have = existing.get(p.row_id, set())
            missing = [k for k in range(n) if k not in have]
            if missing:
                yield p, missing

    return stored, gen()


async def execute(spec: AuditSpec, store: Store, *, progress: Progress | None = None,
                  run_name: str | None = None, retry_errors: bool = False,
                  targets: dict[str, Target] | None = None, wait: bool = False) -> RunReport:
    """Run (or resume) an audit; the async core of :func:`run_audit`.

    The run is leased to this process while it runs (see :mod:`levelhead.store._lease`): a
    second process on the same run refuses with :class:`RunBusyError`, or with ``wait`` waits
    until the lease is free.
    """
    progress = progress or Progress()
    waiting_noted = False
    name = check_run_name(run_name) if run_name else spec.run.name
    spec_json = json.loads(spec.model_dump_json(serialize_as_any=True))
    n = spec.run.samples
    while True:
        try:
            lease, prepared = _prepare(spec, store, name, spec_json, retry_errors)
            break
        except RunBusyError as busy:
            if not wait:
                raise
            if not waiting_noted:
                holder = busy.holder.describe(int(time.time() * 1000)) if busy.holder else "?"
                progress.note(f"waiting for run '{name}': it is held by {holder}")
                waiting_noted = True
            await asyncio.sleep(1.0)
    try:
        return await _execute_leased(spec, store, progress, name, n, prepared, lease, targets)
    finally:
        lease.release()


@dataclass
class _Prepared:
    run: Any
    prompt_work: list[_PromptWork]
    target_ids: list[int]
    planned: int
    removed: int
    plans: list[JudgePlan]
    turn_plans: list[JudgePlan]
    budget: Budget
    judge_configs_by_probe: dict[str, list[Any]]
    conversation_probes: dict[str, tuple[Any, list[Prompt]]]


def _prepare(spec: AuditSpec, store: Store, name: str, spec_json: dict[str, Any],
             retry_errors: bool) -> tuple[RunLease, _Prepared]:
    """Find or create the run, take its lease, and record what this run plans, all in one
    transaction: every check passes before anything about the run changes (a refused resume
    leaves the stored run exactly as it was), and a second process finds the lease taken."""
    n = spec.run.samples
    with store.transaction():
        run = store.begin_run(name, spec_json, spec.run.seed, n)
        lease = claim_lease(store, run.id, name, "run")
        prepared = _plan_run(spec, store, run, name, spec_json, retry_errors)
    # Committed: the lease row is visible to others now, renewed and beating from here on.
    return lease.start(), prepared


def _plan_run(spec: AuditSpec, store: Store, run: Any, name: str, spec_json: dict[str, Any],
              retry_errors: bool) -> _Prepared:
    n = spec.run.samples
    prompt_work: list[_PromptWork] = []
    judge_configs_by_probe: dict[str, list[Any]] = {}
    # Multi-turn probes: their judges judge every assistant turn as it arrives.
    turn_configs_by_probe: dict[str, list[Any]] = {}
    conversation_probes: dict[str, tuple[Any, list[Prompt]]] = {}
    for pi, pcfg in enumerate(spec.probes):
        probe = build_probe(pcfg)
        configs = list(pcfg.judges) or judge_configs(
            list(getattr(probe, "default_judges", ())), ("probes", pi, "default_judges"),
            f"probe '{pcfg.name}'")
        prompts = probe.prompts()
        if hasattr(probe, "user_policy"):
            if run.resumed:
                _same_conversations(run.spec, spec_json["probes"][pi], pcfg.probe_id, name)
            turn_configs_by_probe[pcfg.probe_id] = configs
            conversation_probes[pcfg.probe_id] = (probe, prompts)
        else:
            judge_configs_by_probe[pcfg.probe_id] = configs
        ids = store.ensure_prompts(run.id, pcfg.probe_id, prompts)
        prompt_work += [_PromptWork(pcfg.probe_id, p, ids[p.id], dump_turns(p.messages))
                        for p in prompts]
    target_ids = [store.ensure_target(run.id, t.name, t.kind, t.settings(), t.settings_hash())
                  for t in spec.targets]
    planned = store.update_run(run.id, spec_json, n)
    if run.resumed:
        _keep_the_plan(store, run, name, spec, prompt_work, n)
    removed = store.delete_error_samples(run.id) if retry_errors else 0
    plans = plan_judges(store, judge_configs_by_probe)
    turn_plans = plan_judges(store, turn_configs_by_probe)
    budget = Budget(spec.run.max_total_tokens, store.turn_tokens(run.id))
    return _Prepared(run, prompt_work, target_ids, planned, removed, plans, turn_plans, budget,
                     judge_configs_by_probe, conversation_probes)


async def _execute_leased(spec: AuditSpec, store: Store, progress: Progress, name: str, n: int,
                          prepared: _Prepared, lease: RunLease,
                          targets: dict[str, Target] | None) -> RunReport:
    run, prompt_work, target_ids = prepared.run, prepared.prompt_work, prepared.target_ids
    planned, removed, plans, turn_plans = (prepared.planned, prepared.removed, prepared.plans,
                                           prepared.turn_plans)
    budget, judge_configs_by_probe = prepared.budget, prepared.judge_configs_by_probe
    conversation_probes = prepared.conversation_probes
    sample_plans = {probe: [p for p in plans if not p.is_pair and probe in p.probes]
                    for probe in judge_configs_by_probe}
    conversations = {
        probe_id: ConversationPlan(
            probe, probe.max_turns, [p for p in turn_plans if probe_id in p.probes],
            probe.stop_on, budget=budget)
        for probe_id, (probe, _) in conversation_probes.items()}
    for p in prompt_work:
        p.judges = sample_plans.get(p.probe, [])
        p.conversation = conversations.get(p.probe)
    for probe_id, (probe, prompts) in conversation_probes.items():
        progress.note(cost_estimate(probe_id, probe, prompts, spec.targets, n).describe()
                      + (f"; capped at {budget.limit:,} tokens" if budget.limit else ""))
    if removed:
        progress.note(f"{removed} error samples will be sampled again")

    given = targets or {}
    states: list[_TargetState] = []
    already = 0
    for tcfg, tid in zip(spec.targets, target_ids, strict=True):
        target = given.get(tcfg.name) or build_target(tcfg)
        per_target = [_PromptWork(p.probe, p.prompt, p.row_id,
                                  conversation(tcfg.system, p.messages), p.judges,
                                  p.conversation) for p in prompt_work]
        stored, work = _missing(store, tid, per_target, n)
        already += stored
        state = _TargetState(target, tid, work)
        if conversations:
            state.turns = store.stored_turns(tid)
        states.append(state)
    # Samples of targets or prompts that a later spec left out still belong to the run.
    already = store.count_samples(run.id)

    report = RunReport(run.id, name, run.resumed, planned, already)
    progress.start(name, max(0, planned - already))
    if run.resumed:
        progress.note(f"resuming run '{name}': {already} of {planned} samples already stored")
    writer = store.writer(lease.key)
    first_error: list[str] = []

    def put(row: Any) -> None:
        # The first error is kept to say why, should no sample at all succeed.
        if not first_error and type(row) is SampleRow and row.status == "error":
            first_error.append(row.error or "")
        writer.put(row)

    started = time.monotonic()
    rng = random.Random()
    ticker: asyncio.Task[None] | None = None
    judging = SampleJudging(plans, writer.put)
    users: list[_UserModel] = []
    try:
        ticker = asyncio.create_task(_tick(progress, lease, states))
        for conv in conversations.values():
            user_cfg = getattr(conv.probe, "user_target_config", None)
            if user_cfg is not None:  # a model plays the simulated user
                conv.user_target = _UserModel(build_target(user_cfg), rng)
                try:
                    await conv.user_target.start()
                except Exception as exc:
                    conv.user_target.state.halt(TargetUnreachableError(redact(
                        f"the simulated user's model '{user_cfg.name}' failed to start: {exc}")))
                users.append(conv.user_target)
        async with asyncio.TaskGroup() as group:
            for state in states:
                group.create_task(_run_target(state, run.id, spec.run.seed, put,
                                              progress, rng, judging))
        await judging.finish()
    except asyncio.CancelledError:
        report.interrupted = True
        judging.cancel()
        await close_judges(plans)
        raise
    except BaseExceptionGroup as group:
        # The task group wraps what failed; an expected failure (the store writer, say) is
        # raised as itself so the CLI prints its one line.
        judging.cancel()
        await close_judges(plans)
        expected = [e for e in group.exceptions if isinstance(e, LevelheadError)]
        if expected:
            raise _with_resume(expected[0], name) from None
        raise
    finally:
        if ticker is not None:
            ticker.cancel()
        for user in users:
            with contextlib.suppress(Exception):  # a model that never started may not close
                await user.close()
        await close_judges(turn_plans)
        try:
            writer.close()
        except StoreError as exc:
            raise _with_resume(exc, name) from None
        report.first_error = first_error[0] if first_error else None
        report.elapsed_s = time.monotonic() - started
        report.sampled = progress.done
        report.errors = progress.errors
        for state in states:
            if state.failure is not None:
                report.failed_targets[state.target.config.name] = str(state.failure)
        for user in users:
            if user.state.failure is not None:
                report.failed_targets[user.config.name] = (
                    f"the simulated user's model: {user.state.failure}")
        progress.stop()
    if plans:
        # Samples stored before a crash, verdicts lost with it, and pairs: judged from the store.
        swept = await judge_stored(store, run.id, plans, lease=lease.key)
        for name, counts in judging.report.counts.items():
            swept.counts.setdefault(name, Counter()).update(counts)
        report.verdicts = {name: dict(c) for name, c in swept.counts.items()}
    return report


async def _run_target(state: _TargetState, run_id: int, run_seed: int, put, progress: Progress,
                      rng: random.Random, judging: SampleJudging | None = None) -> None:  # type: ignore[no-untyped-def]
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


def _keep_the_plan(store: Store, run: Any, name: str, spec: AuditSpec,
                   prompt_work: list[_PromptWork], n: int) -> None:
    """Refuse a spec that leaves out a target or prompt the run holds only part of: a resume
    samples what the spec names, so that part would stay missing for good, and the run could
    never be complete (nor gated)."""
    named = {(t.name, p.probe, p.prompt.id) for t in spec.targets for p in prompt_work}
    partial = [p for p in store.progress(run.id).prompts
               if (p.target, p.probe, p.prompt_id) not in named and p.stored < n]
    if partial:
        shown = ", ".join(f"{p.target}/{p.probe}/{p.prompt_id} ({p.stored} of {n})"
                          for p in partial[:3])
        more = f" and {len(partial) - 3} more" if len(partial) > 3 else ""
        raise SpecError(
            f"run '{name}' holds only part of {shown}{more}, which this spec leaves out: a "
            "resume would never finish them, and the run could never be complete. Put them "
            "back in the spec, or give this run another name (--run-name)")


def _with_resume(exc: LevelheadError, run_name: str) -> LevelheadError:
    """A store failure during a run (a full disk), with how to go on; a lost lease is not
    resumed here (another process runs the run now)."""
    if (isinstance(exc, StoreError) and not isinstance(exc, LeaseLostError)
            and "resume with" not in str(exc)):
        return StoreError(f"{exc}; resume with: levelhead run --resume {run_name}")
    return exc


async def _tick(progress: Progress, lease: RunLease, states: list[_TargetState]) -> None:
    while True:
        progress.refresh()
        if lease.lost is not None:
            # Another process runs the run now: stop asking (the writer stores nothing more).
            for state in states:
                state.halt(TargetUnreachableError(
                    f"this process lost the lease of run {lease.run_id}: {lease.lost}; see who "
                    "runs it with: levelhead runs"))
        await asyncio.sleep(0.25)


# Settings that shape a conversation as it is held: a resume may not change them, or one run
# would mix conversations of two designs (findings, the analysis turn, read only the new one).
_CONVERSATION_SETTINGS = ("max_turns", "stop_on", "user", "judges")
_USER_SHAPE = ("kind", "model", "path", "temperature", "top_p", "max_tokens", "system")


def _same_conversations(stored_spec: dict[str, Any], table: dict[str, Any], probe_id: str,
                        run_name: str) -> None:
    for old in stored_spec.get("probes", []):
        if (old.get("id") or old.get("name")) != probe_id:
            continue
        for key in _CONVERSATION_SETTINGS:
            before, now = old.get(key), table.get(key)
            if key == "user" and before and now:  # how to reach the model may change, not who
                before, now = ({k: v for k, v in t.items() if k in _USER_SHAPE}
                               for t in (before, now))
            if before != now:
                raise SpecError(
                    f"run '{run_name}': probe '{probe_id}' holds its conversations with "
                    f"{key} = {json.dumps(before)}, not {json.dumps(now)}; "
                    "a resume must keep it (give this run another name: --run-name)")


def describe_plan(spec: AuditSpec) -> list[str]:
    """What running ``spec`` would do, one line per probe (samples; for multi-turn probes the
    conversations, turns and an upper estimate of the tokens), without running anything."""
    lines = []
    n, targets = spec.run.samples, len(spec.targets)
    for pcfg in spec.probes:
        probe = build_probe(pcfg)
        prompts = probe.prompts()
        if hasattr(probe, "user_policy"):
            lines.append(cost_estimate(pcfg.probe_id, probe, prompts, spec.targets, n).describe())
        else:
            lines.append(f"{pcfg.probe_id}: {len(prompts):,} prompts x {n} samples x {targets} "
                         f"targets = {len(prompts) * n * targets:,} samples")
    if spec.run.max_total_tokens:
        lines.append(f"token cap for multi-turn conversations: {spec.run.max_total_tokens:,} "
                     "([run] max_total_tokens)")
    return lines


def run_audit(spec: AuditSpec, store: Store, **kwargs) -> RunReport:  # type: ignore[no-untyped-def]
    """Run or resume ``spec`` into ``store`` and return what was done.

    Running the same spec again (same run name) samples exactly the missing work; samples
    already stored, errors included, are kept (``retry_errors=True`` samples errors again).

    Args:
        spec: the audit.
        store: where samples go (see :func:`levelhead.open_store`).
        progress: a :class:`Progress` (default: silent).
        run_name: overrides ``spec.run.name``.
        retry_errors: sample again the samples stored with status ``error``.
        targets: ready target objects by name, used instead of building them from the spec
            (e.g. a scripted target with a planted behaviour).
    """
    return asyncio.run(execute(spec, store, **kwargs))
