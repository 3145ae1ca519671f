"""Execute an AuditSpec: plan the missing work, sample it with bounded concurrency per target,
retry what is retryable, and store every sample (errors included) as it arrives.

This module runs a run from end to end; its parts are planning (``_planning``), requests and
retries (``_requests``), sampling a target (``_sampling``), the simulated user
(``_simulated_user``) and resume checks (``_resume_checks``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from levelhead.errors import (
    LeaseLostError,
    LevelheadError,
    RunBusyError,
    StoreError,
    TargetUnreachableError,
    redact,
)
from levelhead.records import conversation
from levelhead.runner._conversation import ConversationPlan, cost_estimate
from levelhead.runner._judging import SampleJudging, close_judges, judge_stored
from levelhead.runner._planning import Prepared, PromptWork, missing_work, prepare
from levelhead.runner._progress import Progress
from levelhead.runner._ray import Executor, connect, judge_stored_ray, run_target_on_ray
from levelhead.runner._requests import TargetState
from levelhead.runner._sampling import Row, run_target
from levelhead.runner._simulated_user import UserModel
from levelhead.spec import AuditSpec, check_run_name
from levelhead.store import LeaseHolder, RunLease, SampleRow, Store
from levelhead.targets import Target, build_target


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


async def execute(spec: AuditSpec, store: Store, *, progress: Progress | None = None,
                  run_name: str | None = None, retry_errors: bool = False,
                  targets: dict[str, Target] | None = None, wait: bool = False,
                  executor: Executor | None = None) -> RunReport:
    """Run (or resume) an audit; the async core of :func:`run_audit`.

    The run is leased to this process while it runs (see :mod:`levelhead.store._lease`): a
    second process on the same run refuses with :class:`RunBusyError`, or with ``wait`` waits
    until the lease is free. ``executor`` says where samples are taken (this process, or a Ray
    cluster: :mod:`levelhead.runner._ray`).
    """
    progress = progress or Progress()
    executor = executor or Executor()
    waiting_noted = False
    name = check_run_name(run_name) if run_name else spec.run.name
    spec_json = json.loads(spec.model_dump_json(serialize_as_any=True))
    n = spec.run.samples
    while True:
        try:
            lease, prepared = prepare(spec, store, name, spec_json, retry_errors)
            break
        except RunBusyError as busy:
            if not wait:
                raise
            if not waiting_noted:
                holder = cast(LeaseHolder, busy.holder).describe(int(time.time() * 1000)) \
                    if busy.holder else "?"
                progress.note(f"waiting for run '{name}': it is held by {holder}")
                waiting_noted = True
            await asyncio.sleep(1.0)
    try:
        # Ray starts (or is reached) once the run is this process's: a busy run refuses first.
        ray = connect(executor, progress) if executor.is_ray else None
        return await _execute_leased(spec, store, progress, name, n, prepared, lease, targets,
                                     (ray, executor))
    finally:
        lease.release()


async def _execute_leased(spec: AuditSpec, store: Store, progress: Progress, name: str, n: int,
                          prepared: Prepared, lease: RunLease,
                          targets: dict[str, Target] | None,
                          on: tuple[object, Executor]) -> RunReport:
    ray, executor = on
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
    states: list[TargetState] = []
    ray_states: list[TargetState] = []  # single-turn work sampled on Ray (--executor ray)
    for tcfg, tid in zip(spec.targets, target_ids, strict=True):
        target = given.get(tcfg.name) or build_target(tcfg)
        per_target = [PromptWork(p.probe, p.prompt, p.row_id,
                                  conversation(tcfg.system, p.messages), p.judges,
                                  p.conversation) for p in prompt_work]
        if ray is not None:
            # Conversations stay on the driver: their simulated user and budget are shared.
            single = [p for p in per_target if p.conversation is None]
            per_target = [p for p in per_target if p.conversation is not None]
            ray_states.append(TargetState(target, tid, missing_work(store, tid, single, n)[1]))
            if not per_target:
                continue
        state = TargetState(target, tid, missing_work(store, tid, per_target, n)[1])
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
    for state in [*states, *ray_states]:
        state.room = writer.room

    def put(row: Row) -> None:
        # The first error is kept to say why, should no sample at all succeed.
        if not first_error and type(row) is SampleRow and row.status == "error":
            first_error.append(row.error or "")
        writer.put(row)

    started = time.monotonic()
    rng = random.Random()
    ticker: asyncio.Task[None] | None = None
    judging = SampleJudging(plans, writer.put)
    users: list[UserModel] = []
    try:
        ticker = asyncio.create_task(_tick(progress, lease, [*states, *ray_states]))
        for conv in conversations.values():
            user_cfg = conv.probe.user_target_config
            if user_cfg is not None:  # a model plays the simulated user
                conv.user_target = UserModel(build_target(user_cfg), rng)
                try:
                    await conv.user_target.start()
                except Exception as exc:
                    conv.user_target.state.halt(TargetUnreachableError(redact(
                        f"the simulated user's model '{user_cfg.name}' failed to start: {exc}")))
                users.append(conv.user_target)
        async with asyncio.TaskGroup() as group:
            for state in states:
                group.create_task(run_target(state, run.id, spec.run.seed, put,
                                             progress, rng, judging))
            for state in ray_states:
                group.create_task(run_target_on_ray(
                    ray, state, run.id, spec.run.seed, put, progress, store, lease.key,
                    executor.shard_samples, given.get(state.target.config.name),
                    max_retries=executor.max_retries, first_error=first_error))
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
        for state in [*states, *ray_states]:
            if state.failure is not None:
                report.failed_targets[state.target.config.name] = str(state.failure)
        for user in users:
            if user.state.failure is not None:
                report.failed_targets[user.config.name] = (
                    f"the simulated user's model: {user.state.failure}")
        progress.stop()
    if plans:
        # Samples stored before a crash, verdicts lost with it, and pairs: judged from the store
        # (on Ray, every single-turn sample: judges of text alone judge there too).
        rest = plans
        if ray is not None:
            on_ray, rest = await judge_stored_ray(ray, store, run.id, plans, lease=lease.key)
            for judge_name, counts in on_ray.counts.items():
                judging.report.counts.setdefault(judge_name, Counter()).update(counts)
        swept = await judge_stored(store, run.id, rest, lease=lease.key)
        await close_judges(plans)
        for name, counts in judging.report.counts.items():
            swept.counts.setdefault(name, Counter()).update(counts)
        report.verdicts = {name: dict(c) for name, c in swept.counts.items()}
    return report


def _with_resume(exc: LevelheadError, run_name: str) -> LevelheadError:
    """A store failure during a run (a full disk), with how to go on; a lost lease is not
    resumed here (another process runs the run now)."""
    if (isinstance(exc, StoreError) and not isinstance(exc, LeaseLostError)
            and "resume with" not in str(exc)):
        return StoreError(f"{exc}; resume with: levelhead run --resume {run_name}")
    return exc


async def _tick(progress: Progress, lease: RunLease, states: list[TargetState]) -> None:
    while True:
        progress.refresh()
        if lease.lost is not None:
            # Another process runs the run now: stop asking (the writer stores nothing more).
            for state in states:
                state.halt(TargetUnreachableError(
                    f"this process lost the lease of run {lease.run_id}: {lease.lost}; see who "
                    "runs it with: levelhead runs"))
        await asyncio.sleep(0.25)


def run_audit(spec: AuditSpec, store: Store, *, progress: Progress | None = None,
              run_name: str | None = None, retry_errors: bool = False,
              targets: dict[str, Target] | None = None, wait: bool = False,
              executor: Executor | None = None) -> RunReport:
    """Run or resume ``spec`` into ``store`` and return what was done.

    Running the same spec again (same run name) samples exactly the missing work; samples
    already stored, errors included, are kept (``retry_errors=True`` samples errors again).
    The synchronous entry to :func:`execute`, with the same arguments.

    Args:
        spec: the audit.
        store: where samples go (see :func:`levelhead.open_store`).
        progress: a :class:`Progress` (default: silent).
        run_name: overrides ``spec.run.name``.
        retry_errors: sample again the samples stored with status ``error``.
        targets: ready target objects by name, used instead of building them from the spec
            (e.g. a scripted target with a planted behaviour).
        wait: when another process holds the run's lease, wait until it is free instead of
            refusing.
        executor: where samples are taken: this process (the default) or a Ray cluster
            (``Executor.parse("ray")``; see :mod:`levelhead.runner._ray`). Seeds, and so the
            stored samples of a seeded target, do not depend on it.

    Returns:
        What this call sampled, stored and judged, and which targets failed.

    Raises:
        RunBusyError: another live process holds the run's lease, and not ``wait``.
        SpecError: ``run_name`` or a probe's default judges are malformed, or a resume would
            change what the run holds (its seed, a lower N, a target's settings, a prompt's
            text, a conversation's design, or a partly sampled prompt left out).
        LeaseLostError: another process took the run's lease over while this one ran.
        StoreError: the store cannot be written (a full disk); says how to resume.
    """
    return asyncio.run(execute(spec, store, progress=progress, run_name=run_name,
                               retry_errors=retry_errors, targets=targets, wait=wait,
                               executor=executor))
