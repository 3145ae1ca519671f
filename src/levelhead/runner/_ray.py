"""Spreading a run over a Ray cluster: ``levelhead run SPEC --executor ray[:ADDRESS]``.

The driver (the process that runs ``levelhead run``) plans the run as it always does: it takes
the run's lease, finds the missing work and cuts it into the very batches the local executor
would send (a batch's seed follows its first sample index, so seeds, and with them the pairing
of mirrored prompts, do not depend on which worker ran what). Batches are grouped into shards of
about ``shard_samples`` samples, and a Ray task samples each shard with the target built from
its config (``run_target``, the local executor's own loop, runs inside the task).

Where the rows go:

- **a PostgreSQL store** (a server every worker reaches): the task writes its rows itself,
  through a writer that checks the driver's lease in each transaction, so rows stop the moment
  the driver loses the run;
- **a SQLite file** (on the driver's disk only): the task returns its rows and the driver's
  writer stores them.

A worker killed mid-shard: Ray runs the task again (``max_retries``); samples are unique per
(target, prompt, sample index), so a shard written twice stores each sample once. A shard that
fails for good leaves its samples missing, and ``levelhead run --resume`` samples them, with
either executor. Multi-turn conversations run on the driver (their simulated user and token
budget are shared state); their judges, and every judge's verdicts on single-turn samples, are
given after sampling (``judge_stored``; judges of text alone go over Ray too, see
:func:`judge_stored_ray`).

Ray is an optional extra (``pip install 'levelhead[ray]'``); nothing here imports it until a
run asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from levelhead.errors import LevelheadError, SpecError, TargetUnreachableError, redact
from levelhead.judges import (
    JUDGE_ERROR,
    JudgeConfig,
    JudgeInput,
    JudgeVerdict,
    PairJudge,
    build_judge,
)
from levelhead.records import Prompt
from levelhead.runner._judging import (
    JudgePlan,
    JudgingReport,
    _chunks,
    _extra_json,
    _is_sync,
    judge_input,
    safe_verdict,
)
from levelhead.runner._planning import PromptWork
from levelhead.runner._progress import Progress
from levelhead.runner._requests import TargetState
from levelhead.store import SampleRow, Store, VerdictRow
from levelhead.targets import Target, TargetConfig, build_target

# One shard's work: (probe, prompt, prompt row id, messages, sample indices) per batch.
Batch = tuple[str, Prompt, int, list[dict[str, str]], list[int]]


@dataclass(frozen=True, slots=True)
class Executor:
    """Where a run's samples are taken: in this process (``local``) or on a Ray cluster.

    ``address`` is Ray's (``auto``, ``HOST:PORT`` of a running head, ``ray://HOST:10001``); none
    starts a local Ray with this machine's CPUs. ``shard_samples`` is about how many samples one
    Ray task takes (smaller: smoother progress and less lost to a killed worker; larger: less
    overhead per task).
    """

    kind: str = "local"
    address: str | None = None
    shard_samples: int = 256
    max_retries: int = 3  # Ray runs a task again this often when its worker dies

    @classmethod
    def parse(cls, text: str | None) -> Executor:
        """``local``, ``ray`` or ``ray:ADDRESS`` (as ``--executor`` takes it)."""
        if text is None or text == "local":
            return cls()
        kind, sep, address = text.partition(":")
        if kind != "ray":
            raise SpecError(f"--executor {text}: expected local, ray or ray:ADDRESS "
                            "(e.g. ray:auto, ray:10.0.0.5:6379, ray:ray://head:10001)")
        if sep and not address:
            raise SpecError(f"--executor {text}: give Ray's address after the colon, or just "
                            "`ray` for a local Ray on this machine")
        return cls("ray", address or None)

    @property
    def is_ray(self) -> bool:
        return self.kind == "ray"

    def describe(self) -> str:
        if not self.is_ray:
            return "this process"
        return f"the Ray cluster at {self.address}" if self.address else "a local Ray"


def import_ray() -> Any:
    """Ray, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SpecError("--executor ray needs Ray: pip install 'levelhead[ray]'") from None
    return ray


def connect(executor: Executor, progress: Progress | None = None, doing: str = "sampling") -> Any:
    """Ray, connected: to ``executor.address``, to the Ray this process already started (a
    test's, a notebook's), or to a new local one; says which."""
    ray = import_ray()
    if ray.is_initialized():
        if executor.address and progress is not None:
            progress.note(f"Ray is already running in this process: {doing} there "
                          f"(--executor ray:{executor.address} is not used)")
    else:
        if executor.address and executor.address != "auto":
            _reachable(executor.address)
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                                  "log_to_driver": False, "configure_logging": False}
        try:
            ray.init(address=executor.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = executor.address or "this machine"
            raise LevelheadError(redact(f"cannot start or reach Ray at {where}: "
                                        f"{_one_line(exc)}")) from None
    if progress is not None:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        progress.note(f"{doing} on {executor.describe()} ({cpus} CPUs)")
    return ray


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse at once a Ray address where nothing listens (Ray itself would retry for minutes)."""
    hostport = address.removeprefix("ray://").rsplit("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise SpecError(f"--executor ray:{address}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise LevelheadError(f"cannot reach Ray at {address}: {exc.strerror or exc}; is its head "
                             "running (`ray start --head`), and is the port open?") from None


def _one_line(exc: BaseException) -> str:
    """A failure as one line: a Ray task's original exception, without its traceback."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    return f"{type(exc).__name__}: {line}"[:300]


def _store_url(store: Store) -> str | None:
    """A location every worker can open: a PostgreSQL store's URL; None for a SQLite file.

    The URL travels to every Ray task, so one that holds a password is refused: each machine
    gives it from ``PGPASSWORD`` or ``~/.pgpass``, as libpq reads them."""
    url = getattr(store, "url", None)
    if not isinstance(url, str):
        return None
    if urlsplit(url).password or "password=" in url:
        raise SpecError(f"store {store.path}: its URL holds a password, which would travel to "
                        "every Ray task; give the password in PGPASSWORD or ~/.pgpass on each "
                        "machine instead, and the URL without it")
    return url


# ---- sampling ----------------------------------------------------------------------------


@dataclass(slots=True)
class ShardResult:
    """What one Ray task did with its shard."""

    ok: int = 0
    errors: int = 0
    rows: list[SampleRow] = field(default_factory=list)  # empty when the task wrote them itself
    failure: str | None = None  # the target stopped: the rest of the shard stays missing
    first_error: str | None = None  # the first error sample's reason, if any
    exhausted_streak: int = 0  # batches in a row that used up their retries, at the end


_TARGETS: dict[str, Target] = {}  # per worker process: targets started once (a model loads once)
_LOOP: asyncio.AbstractEventLoop | None = None  # per worker process: where targets and judges await


def _worker_loop() -> asyncio.AbstractEventLoop:
    """The worker process's own event loop, kept across tasks: a target or judge started by
    one task (an HTTP session, a loaded model) serves the later ones."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP


class _Kept:
    """A target built from its config and kept for the worker's life: started by the first
    shard, never closed by one (the worker's exit releases it)."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._started = False
        self.config = target.config

    @property
    def max_n(self) -> int:
        return self._target.max_n

    async def start(self) -> None:
        if not self._started:
            await self._target.start()
            self._started = True

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None, options: Any = None) -> Any:
        return await self._target.complete(messages, n=n, seed=seed, options=options)

    async def close(self) -> None:
        return None

    def describe(self) -> str:
        return self._target.describe()


def sample_shard(target_or_config: Target | TargetConfig, target_id: int, run_id: int,
                 run_seed: int, batches: list[Batch], store_url: str | None,
                 lease: tuple[int, str] | None, health: tuple[bool, int] = (False, 0)
                 ) -> ShardResult:
    """Sample one shard (runs in a Ray worker; plain Python, testable without Ray).

    ``health`` is the target's as the driver knows it — whether it has answered yet, and how
    many batches in a row used up their retries —, so that a shard stops a target that is down
    as a local run would, and a blip at the start of a shard does not stop a target that has
    answered (see ``_requests``)."""
    from levelhead.runner._sampling import run_target

    target: Any
    if isinstance(target_or_config, TargetConfig):
        key = target_or_config.model_dump_json()
        target = _TARGETS.get(key)
        if target is None:
            target = _TARGETS[key] = _Kept(build_target(target_or_config))
    else:  # an object given to the run (it comes fresh with each task)
        target = target_or_config
    work = iter([(PromptWork(probe, prompt, row_id, messages), indices)
                 for probe, prompt, row_id, messages, indices in batches])
    # Each batch is at most the target's max_n: next_batch hands it on whole.
    state = TargetState(target, target_id, work)
    state.ok, state.exhausted_streak = int(health[0]), health[1]
    result = ShardResult()
    writer = None
    if store_url is not None:
        from levelhead.store import open_store

        shared = open_store(store_url)
        writer = shared.writer(lease)
    progress = Progress()

    def put(row: Any) -> None:
        if result.first_error is None and type(row) is SampleRow and row.status == "error":
            result.first_error = row.error
        if writer is not None:
            writer.put(row)
        else:
            result.rows.append(row)

    try:
        _worker_loop().run_until_complete(
            run_target(state, run_id, run_seed, put, progress, random.Random()))
    finally:
        if writer is not None:
            writer.close()
            shared.close()
    result.ok, result.errors = progress.done - progress.errors, progress.errors
    result.exhausted_streak = state.exhausted_streak
    if state.failure is not None:
        result.failure = str(state.failure)
    return result


def shards(state: TargetState, shard_samples: int) -> Iterator[list[Batch]]:
    """The state's missing single-turn work in the local executor's batches, grouped into
    shards of about ``shard_samples`` samples."""
    shard: list[Batch] = []
    size = 0
    while (batch := state.next_batch()) is not None:
        work, indices = batch
        shard.append((work.probe, work.prompt, work.row_id, work.messages, indices))
        size += len(indices)
        if size >= shard_samples:
            yield shard
            shard, size = [], 0
    if shard:
        yield shard


async def run_target_on_ray(ray: Any, state: TargetState, run_id: int, run_seed: int,
                            put: Callable[[Any], None], progress: Progress, store: Store,
                            lease: tuple[int, str], shard_samples: int,
                            given: Target | None = None, in_flight: int | None = None,
                            max_retries: int = 3, first_error: list[str] | None = None) -> None:
    """Sample one target's single-turn work on Ray, keeping ``in_flight`` shards running.

    Stops submitting when the target is halted (it is down, or the run's lease was lost: the
    driver's ticker halts every state); shards still running are cancelled when this ends.
    A shard that failed for good halts nothing, but is a failure of the target for the run's
    report, so that ``levelhead run`` says to resume."""
    url = _store_url(store)
    resources = state.target.config.ray_resources()
    # Ray retires a worker that held a GPU after one task by default: keep it, so the engine
    # it loaded serves the next shards.
    options: dict[str, Any] = {"max_calls": 0} if resources.get("num_gpus") else {}
    remote = ray.remote(max_retries=max_retries, retry_exceptions=False, **resources,
                        **options)(sample_shard)
    try:
        target_ref = ray.put(given if given is not None else state.target.config)
    except Exception as exc:  # a target object that cannot be pickled
        raise SpecError(f"target '{state.target.config.name}' cannot be sent to Ray workers "
                        f"({type(exc).__name__}: {exc}); give it as a spec table instead") from None
    limit = in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    pending: dict[asyncio.Future[Any], Any] = {}
    todo = shards(state, max(1, shard_samples))
    failed_shards = 0
    first_failure = ""

    def submit() -> bool:
        if state.failure is not None:
            return False
        shard = next(todo, None)
        if shard is None:
            return False
        ref = remote.remote(target_ref, state.target_id, run_id, run_seed, shard, url,
                            lease if url else None, (state.ok > 0, state.exhausted_streak))
        pending[asyncio.wrap_future(ref.future())] = ref
        return True

    try:
        while len(pending) < limit and submit():
            pass
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for fut in done:
                pending.pop(fut)
                try:
                    result: ShardResult = fut.result()
                except Exception as exc:  # the task failed for good (its worker died too often)
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, LevelheadError):  # the lease was lost, the store failed
                        raise cause from None
                    failed_shards += 1
                    first_failure = first_failure or _one_line(exc)
                    continue
                for row in result.rows:
                    put(row)
                await state.room()
                progress.advance(result.ok, result.errors)
                state.ok += result.ok
                state.exhausted_streak = result.exhausted_streak
                if result.first_error is not None and first_error is not None and not first_error:
                    first_error.append(result.first_error)
                if result.failure is not None:
                    state.halt(TargetUnreachableError(result.failure))
            while len(pending) < limit and submit():
                pass
    finally:
        for ref in pending.values():
            with contextlib.suppress(Exception):
                ray.cancel(ref)
    if failed_shards:
        message = (f"target '{state.target.config.name}': {failed_shards} shard(s) failed on Ray "
                   f"({first_failure}); their samples stay missing")
        progress.note(message + " for a resume")
        state.halt(TargetUnreachableError(redact(message)))


# ---- judging -----------------------------------------------------------------------------

_JUDGES: dict[str, Any] = {}  # per worker process: judges built once, reused by later chunks


def judge_chunk(config: JudgeConfig, items: list[str] | list[JudgeInput],
                concurrency: int = 16) -> list[JudgeVerdict]:
    """Judge one chunk in a Ray worker: texts for a judge of the text alone (its fast batch
    path), judge inputs for one that calls a model (awaited on the worker's own event loop, so
    the judge model it started serves every later chunk). The judge is built once per worker."""
    key = config.model_dump_json()
    judge = _JUDGES.get(key)
    if judge is None:
        judge = _JUDGES[key] = build_judge(config)
    assert not isinstance(judge, PairJudge)  # the driver sends no pair judge
    if items and isinstance(items[0], str):
        texts = [t for t in items if isinstance(t, str)]
        try:
            return list(judge.judge_texts(texts))
        except Exception as exc:
            return [JudgeVerdict(JUDGE_ERROR, rationale=redact(
                f"{config.name} failed: {type(exc).__name__}: {exc}"))] * len(texts)
    sem = asyncio.Semaphore(concurrency)

    async def one(item: JudgeInput) -> JudgeVerdict:
        async with sem:
            return await safe_verdict(config.name, judge.judge(item))

    async def every() -> list[JudgeVerdict]:
        return list(await asyncio.gather(*(one(i) for i in items if isinstance(i, JudgeInput))))

    return _worker_loop().run_until_complete(every())


async def judge_stored_ray(ray: Any, store: Store, run_id: int, plans: Iterable[JudgePlan], *,
                           lease: tuple[int, str] | None = None, chunk: int = 2000,
                           model_chunk: int = 8,
                           progress: Any = None) -> tuple[JudgingReport, list[JudgePlan]]:
    """Judge the run's stored samples on Ray: chunks go to Ray tasks (``chunk`` replies for a
    judge of the text alone — rules, lexicons, classifiers —, ``model_chunk`` samples for one
    that calls a model, e.g. an LLM rubric on a local model, which each worker loads once);
    verdicts come back and the driver stores them. Returns what was given, and the plans left
    for the driver: pair judges, which :func:`judge_stored` runs."""
    report = JudgingReport()
    started = time.monotonic()
    left: list[JudgePlan] = []
    remote = ray.remote(max_retries=3)(judge_chunk)
    fell_back = 0
    limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    writer = store.writer(lease)
    try:
        for plan in plans:
            judge = plan.judge
            if isinstance(judge, PairJudge):
                left.append(plan)
                continue
            texts = _is_sync(judge)
            config_ref = ray.put(plan.judge.config)
            resources = _judge_resources(plan.judge.config)
            if resources.get("num_gpus"):
                resources["max_calls"] = 0  # keep the worker (and the model it loaded)
            on = remote.options(**resources) if resources else remote
            pending: dict[asyncio.Future[Any], list[Any]] = {}
            todo = _chunks(store.samples_to_judge(run_id, plan.judge_id, plan.probes),
                           chunk if texts else model_chunk)

            def submit(plan_ref: Any = config_ref, todo: Iterator[list[Any]] = todo,
                       pending: dict[asyncio.Future[Any], list[Any]] = pending,
                       texts: bool = texts, on: Any = on) -> bool:
                part = next(todo, None)
                if part is None:
                    return False
                ref = on.remote(plan_ref, [s.text for s in part] if texts
                                else [judge_input(s) for s in part])
                pending[asyncio.wrap_future(ref.future())] = part
                return True

            while len(pending) < limit and submit():
                pass
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for fut in done:
                    part = pending.pop(fut)
                    try:
                        verdicts = fut.result()
                    except Exception:  # the task failed for good (its worker died too often):
                        # this chunk is judged here instead, so nothing is left unjudged.
                        fell_back += len(part)
                        verdicts = [await safe_verdict(plan.name, judge.judge(judge_input(s)))
                                    for s in part]
                    now = int(time.time() * 1000)
                    for s, v in zip(part, verdicts, strict=True):
                        writer.put(VerdictRow(s.target_id, s.prompt_id, s.sample_index,
                                              plan.judge_id, v.label, v.score, v.rationale,
                                              _extra_json(v), now, s.text))
                        report.add(plan.name, v.label)
                    if progress is not None:
                        progress.advance(len(part), sum(v.label == JUDGE_ERROR
                                                        for v in verdicts))
                    await writer.room()
                while len(pending) < limit and submit():
                    pass
    except BaseException:
        with contextlib.suppress(Exception):  # what failed is raised, not the flush after it
            writer.close()
        raise
    writer.close()  # a store that refuses the verdicts (a lost lease) raises here
    if fell_back and progress is not None:
        progress.note(f"{fell_back} replies were judged here: their Ray tasks failed")
    report.elapsed_s = time.monotonic() - started
    return report, left


def _judge_resources(config: JudgeConfig) -> dict[str, float]:
    """What a Ray task of this judge needs: a judge that calls a model asks for what that
    model's target needs (a llama.cpp judge model its threads, a vLLM one its GPUs)."""
    table = getattr(config, "target", None) or getattr(config, "fallback", None)
    if not isinstance(table, dict) or not isinstance(table.get("kind"), str):
        return {}
    from levelhead.targets import registry as target_registry

    try:
        model: type[TargetConfig] = target_registry.get(table["kind"]).config or TargetConfig
        return dict(model.model_validate({"name": "judge", **table}).ray_resources())
    except Exception:  # the judge validated its table already; a plugin's oddity: the default
        return {}

