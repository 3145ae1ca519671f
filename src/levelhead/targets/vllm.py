"""The ``vllm`` target kind: a model run in-process on GPUs by vLLM's offline engine (``vllm.LLM``).

Repeated sampling is what vLLM does well, and the target leans on it twice. The N samples of
a prompt are one request (``SamplingParams(n=N, seed=...)``): the prompt is prefilled once and
its N continuations decode together. And the engine is built with ``enable_prefix_caching``,
so a system message or conversation prefix shared by many prompts is prefilled once and reused
from the KV cache. ``max_n`` is ``n_per_request`` (64 by default), so the runner asks for up to
that many samples of a prompt at once.

The engine is blocking. Concurrent ``complete`` calls (the runner's ``concurrency`` workers)
are collected for ``batch_window_ms`` and handed to one ``generate`` call, which vLLM batches
on the GPU; ``generate`` runs on one thread per engine, so calls never overlap. The engine is
built in the caller's thread (some vLLM versions, about 0.8 to 0.10, refuse to build their V1
engine off the main thread) and stays loaded for the life of the process, shared by the
targets that have the same engine settings (two system messages on one model load it once).

vLLM is imported in :meth:`VllmTarget.start` only: the settings validate, and a spec plans,
without vLLM or a GPU.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from levelhead.errors import (
    FatalTargetError,
    LevelheadError,
    MissingDependencyError,
    TargetUnreachableError,
    redact,
)
from levelhead.records import Completion, TokenLogprob
from levelhead.targets._base import _OPERATIONAL, BaseTarget, TargetConfig, target

INSTALL_HINT = ("pip install 'levelhead[vllm]' on a machine with an NVIDIA GPU "
                "(vLLM runs models on CUDA GPUs; it does not run on a CPU-only machine)")

# Engine settings that change how fast and in what batches the GPU works, not what the model
# replies: they may differ between a run and its resume. (They can change the bits of a
# seeded reply, as any change of batch composition does; see docs/targets.md.)
_ENGINE_OPERATIONAL = frozenset(
    {"engine", "gpu_memory_utilization", "tensor_parallel_size", "max_num_seqs", "enforce_eager",
     "batch_window_ms"}
)


class VllmConfig(TargetConfig):
    """Settings of the vLLM target: the model, the engine's, and the sampling settings."""

    kind: Literal["vllm"] = "vllm"
    model: str = Field(min_length=1, description="a Hugging Face model id or a local model folder")
    tokenizer: str | None = Field(None, min_length=1, description="default: the model's own")
    revision: str | None = Field(None, min_length=1, description="a model revision (branch, tag, commit)")
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] = "auto"
    quantization: str | None = Field(None, min_length=1, description="e.g. awq, gptq, fp8")
    max_model_len: int | None = Field(None, ge=16, le=10_000_000,
                                      description="context length; default: the model's")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1,
                                          description="share of GPU memory vLLM may take")
    tensor_parallel_size: int = Field(1, ge=1, le=64, description="GPUs one model is split over")
    max_num_seqs: int | None = Field(None, ge=1, le=65_536,
                                     description="sequences decoded together; default: vLLM's")
    enforce_eager: bool = Field(False, description="no CUDA graphs (less memory, slower)")
    trust_remote_code: bool = Field(False, description="run the model repository's own code")
    engine_seed: int = Field(0, ge=0, le=2**31 - 1,
                             description="the engine's seed (each request also has its own)")
    top_k: int | None = Field(None, ge=1, le=1_000_000)
    min_p: float | None = Field(None, ge=0, le=1)
    repetition_penalty: float | None = Field(None, gt=0, le=10)
    # The runner asks for up to this many samples of a prompt in one request: they share the
    # prompt's prefill. 64 covers most runs' N in one request.
    n_per_request: int = Field(64, ge=1, le=4096)
    concurrency: int = Field(32, ge=1, le=4096,
                             description="prompts in flight; collected into one generate call")
    batch_window_ms: float = Field(5.0, ge=0, le=1000,
                                   description="how long requests are collected before generate")

    def settings(self) -> dict[str, Any]:
        """The settings, plus what the run records about the engine: vLLM's version (installed
        here, or None) and the arguments the engine is built with. Not hashed: see
        :meth:`settings_hash`."""
        return {**super().settings(),
                "engine": {"name": "vllm", "version": engine_version(), "args": engine_args(self)}}

    def ray_resources(self) -> dict[str, float]:
        """A Ray task sampling this target holds the GPUs its engine is split over."""
        return {"num_cpus": 1, "num_gpus": float(self.tensor_parallel_size)}

    def settings_hash(self) -> str:
        """Hash of the reply settings, without the engine record and the engine's speed settings.

        The engine version is recorded but not hashed: the run plans (and records its target)
        before the engine starts, possibly where vLLM is not installed yet, and a hash that
        changed on installing it would refuse the resume meant to sample the run.
        """
        keep = {k: v for k, v in super().settings().items()
                if k not in _OPERATIONAL and k not in _ENGINE_OPERATIONAL}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def engine_args(config: VllmConfig) -> dict[str, Any]:
    """The keyword arguments ``vllm.LLM`` is built with for these settings."""
    args: dict[str, Any] = {
        "model": config.model,
        "enable_prefix_caching": True,
        "seed": config.engine_seed,
        "dtype": config.dtype,
        "gpu_memory_utilization": config.gpu_memory_utilization,
        "tensor_parallel_size": config.tensor_parallel_size,
        "enforce_eager": config.enforce_eager,
        "trust_remote_code": config.trust_remote_code,
    }
    optional = {"tokenizer": config.tokenizer, "revision": config.revision,
                "quantization": config.quantization, "max_model_len": config.max_model_len,
                "max_num_seqs": config.max_num_seqs}
    args.update({k: v for k, v in optional.items() if v is not None})
    return args


def engine_version() -> str | None:
    """vLLM's version: ``vllm.__version__`` once imported, else the installed distribution's
    (read without importing it: that would initialise CUDA); None when not installed."""
    module = sys.modules.get("vllm")
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    try:
        return importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass
class _Engine:
    """One loaded ``vllm.LLM``, with the one thread that calls it."""

    module: Any  # the vllm module it came from (kept, so that its id in the key stays unique)
    llm: Any
    tokenizer: Any
    dead: bool = False  # the engine stopped: the next target to start loads a new one
    thread: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="levelhead-vllm"))

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The conversation through the model's chat template, as token ids."""
        rendered = self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                      add_generation_prompt=True)
        if isinstance(rendered, list) and all(isinstance(t, int) for t in rendered):
            return rendered  # a tokenizer whose template yields ids (vLLM's Mistral tokenizer)
        # The template writes the special tokens (BOS included) itself: encoding must not add
        # them a second time.
        return list(self.tokenizer.encode(rendered, add_special_tokens=False))

    def generate(self, requests: list[_Request], name: str) -> list[list[Completion] | LevelheadError]:
        """Sample every request in one ``generate`` call (on the engine's thread): each gets its
        completions or its error. When the call fails for a reason other than the GPU's memory
        or a dead engine, the requests are tried one by one, so that one bad conversation (too
        long for the context, say) fails alone rather than with the whole batch."""
        results: list[list[Completion] | LevelheadError | None] = [None] * len(requests)
        ready: list[tuple[int, list[int]]] = []
        for i, request in enumerate(requests):
            try:
                ready.append((i, self.prompt_ids(request.messages)))
            except Exception as exc:
                results[i] = FatalTargetError(
                    f"target '{name}': the model's chat template failed on this conversation: "
                    f"{_one_line(exc)}")
        if ready:
            try:
                outputs = self._generate([(ids, requests[i].params) for i, ids in ready])
                for (i, _), output in zip(ready, outputs, strict=True):
                    results[i] = _completions(output, requests[i].n)
            except Exception as exc:
                error = engine_error(exc, name)
                self.dead = isinstance(error, TargetUnreachableError)
                if len(ready) == 1 or not isinstance(error, FatalTargetError) or _is_oom(exc):
                    for i, _ in ready:
                        results[i] = error
                else:
                    for i, ids in ready:
                        try:
                            results[i] = _completions(
                                self._generate([(ids, requests[i].params)])[0], requests[i].n)
                        except Exception as one:
                            results[i] = engine_error(one, name)
        return [r if r is not None else FatalTargetError(f"target '{name}': no reply") for r in results]

    def _generate(self, batch: list[tuple[list[int], Any]]) -> list[Any]:
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids, _ in batch],
                                    [params for _, params in batch], use_tqdm=False)
        if len(outputs) != len(batch):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(batch)} prompts")
        return list(outputs)


def _completions(output: Any, n: int) -> list[Completion]:
    prompt_tokens = len(output.prompt_token_ids) if output.prompt_token_ids is not None else None
    out = []
    for choice in list(output.outputs)[:n]:
        token_ids = list(choice.token_ids or ())
        out.append(Completion(choice.text, choice.finish_reason, prompt_tokens, len(token_ids),
                              _logprobs(choice.logprobs, token_ids)))
    return out


def _logprobs(positions: Any, token_ids: list[int]) -> tuple[TokenLogprob, ...] | None:
    """vLLM's per-position ``{token_id: Logprob(logprob, rank, decoded_token)}`` as levelhead's
    records: the sampled token, then the top alternatives by rank."""
    if not positions:
        return None
    out = []
    for token_id, alternatives in zip(token_ids, positions, strict=False):
        if not alternatives:
            continue
        chosen = alternatives.get(token_id)
        ranked = sorted(alternatives.values(), key=lambda lp: lp.rank if lp.rank is not None else 1 << 30)
        top = tuple((lp.decoded_token or "", float(lp.logprob)) for lp in ranked)
        if chosen is None:
            continue
        out.append(TokenLogprob(chosen.decoded_token or "", float(chosen.logprob), top))
    return tuple(out)


def _one_line(exc: BaseException) -> str:
    """The exception as one short line (vLLM's messages often span several), without secrets."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return redact(text if len(text) <= 400 else text[:399] + "…")


def _is_oom(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def engine_error(exc: BaseException, name: str) -> LevelheadError:
    """A failure of ``generate`` as levelhead's target error: out of GPU memory is fatal (with
    what to lower), a dead engine makes the target unreachable, anything else is fatal."""
    text = _one_line(exc)
    if _is_oom(exc):
        return FatalTargetError(
            f"target '{name}': the GPU ran out of memory while sampling ({text}); lower "
            "concurrency, n_per_request or max_tokens, set max_model_len, or spread the model "
            "over more GPUs (tensor_parallel_size)")
    if "EngineDead" in type(exc).__name__ or "engine is dead" in str(exc).lower():
        return TargetUnreachableError(f"target '{name}': the vLLM engine stopped ({text}); "
                                      "resume the run to start it again")
    return FatalTargetError(f"target '{name}': vLLM failed: {text}")


def load_error(exc: BaseException, name: str, model: str) -> TargetUnreachableError:
    """A failure to build the engine, with what to do about it."""
    text = _one_line(exc)
    lowered = text.lower()
    if _is_oom(exc) or "no available memory" in lowered or "kv cache" in lowered:
        advice = ("not enough GPU memory: lower max_model_len, raise gpu_memory_utilization "
                  "(if nothing else uses the GPU), spread the model over more GPUs "
                  "(tensor_parallel_size) or pick a smaller model")
    elif "cuda" in lowered or "gpu" in lowered or "device" in lowered:
        advice = "vLLM needs a working NVIDIA GPU and CUDA driver on this machine"
    else:
        advice = "check the model name or folder, and that it is a model vLLM supports"
    return TargetUnreachableError(f"target '{name}': vLLM cannot load {model} ({text}); {advice}")


# One engine per (vllm module, engine arguments) in a process: targets that differ only in
# system message or sampling settings share the weights, the KV cache and the thread.
_ENGINES: dict[tuple[int, str], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _import_vllm() -> Any:
    try:
        import vllm  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name == "vllm":
            raise MissingDependencyError(f"the vllm target needs vLLM, which is not installed: "
                                         f"{INSTALL_HINT}") from None
        raise MissingDependencyError(f"vLLM is installed but cannot be imported ({exc}): "
                                     f"{INSTALL_HINT}") from None
    except ImportError as exc:
        raise MissingDependencyError(f"vLLM is installed but cannot be imported ({exc}): "
                                     f"{INSTALL_HINT}") from None
    return vllm


def load_engine(config: VllmConfig) -> _Engine:
    """The loaded engine for these settings (loaded now, or shared with an earlier target)."""
    vllm = _import_vllm()
    args = engine_args(config)
    key = (id(vllm), json.dumps(args, sort_keys=True))
    with _ENGINES_LOCK:
        if key in _ENGINES and not _ENGINES[key].dead:
            return _ENGINES[key]
        try:
            llm = vllm.LLM(**args)
            tokenizer = llm.get_tokenizer()
        except Exception as exc:  # vLLM and torch raise their own (ValueError, RuntimeError, OOM)
            raise load_error(exc, config.name, config.model) from None
        engine = _Engine(vllm, llm, tokenizer)
        _ENGINES[key] = engine
        return engine


@dataclass
class _Request:
    messages: list[dict[str, str]]
    params: Any  # vllm.SamplingParams
    n: int
    future: asyncio.Future[list[Completion]]


class _Batcher:
    """Collects the requests that arrive within ``window_s`` and sends them to the engine as one
    ``generate`` call; while a call runs, the next batch collects."""

    def __init__(self, engine: _Engine, window_s: float, name: str) -> None:
        self._engine = engine
        self._window_s = window_s
        self._name = name
        self._pending: list[_Request] = []
        self._in_flight: list[_Request] = []
        self._drain: asyncio.Task[None] | None = None

    async def submit(self, messages: list[dict[str, str]], params: Any, n: int) -> list[Completion]:
        future: asyncio.Future[list[Completion]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(messages, params, n, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._send_pending())
        return await future

    async def _send_pending(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(self._window_s)
            batch = [r for r in self._pending if not r.future.done()]  # callers that gave up
            self._pending = []
            if not batch:
                continue
            self._in_flight = batch
            try:
                results = await loop.run_in_executor(self._engine.thread, self._engine.generate,
                                                     batch, self._name)
            except Exception as exc:  # a bug in the glue: every request of the batch fails
                results = [engine_error(exc, self._name)] * len(batch)
            for request, result in zip(batch, results, strict=True):
                if request.future.done():
                    continue
                if isinstance(result, BaseException):
                    request.future.set_exception(result)
                else:
                    request.future.set_result(result)
            self._in_flight = []

    def close(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.cancel()
        for request in (*self._in_flight, *self._pending):
            if not request.future.done():
                request.future.set_exception(
                    TargetUnreachableError(f"target '{self._name}' was closed"))
        self._pending, self._in_flight = [], []


@target("vllm", config=VllmConfig)
class VllmTarget(BaseTarget):
    """A model run in-process on GPUs by vLLM's offline engine, N samples per request."""

    config: VllmConfig

    def __init__(self, config: VllmConfig) -> None:
        self.config = config
        self._engine: _Engine | None = None
        self._batcher: _Batcher | None = None

    def describe(self) -> str:
        return f"vLLM with {self.config.model}"

    @property
    def max_n(self) -> int:
        """``n_per_request``; 1 at temperature 0, where every sample is the same greedy reply
        (older vLLM refuse ``n > 1`` for greedy sampling) and prefix caching still shares the
        prompt's prefill among them."""
        return 1 if self.config.temperature == 0 else self.config.n_per_request

    async def start(self) -> None:
        # Built in this thread, not a worker: vLLM ~0.8 to 0.10 refuse to build the V1 engine
        # off the main thread. Loading blocks the event loop for as long as it takes.
        self._engine = load_engine(self.config)
        self._batcher = _Batcher(self._engine, self.config.batch_window_ms / 1000, self.config.name)

    async def close(self) -> None:
        if self._batcher is not None:
            self._batcher.close()
            self._batcher = None

    def sampling_params(self, n: int, seed: int | None,
                        options: Mapping[str, Any] | None = None) -> Any:
        """``vllm.SamplingParams`` for one request of ``n`` samples."""
        assert self._engine is not None, "start() first"
        cfg = self.config
        kwargs: dict[str, Any] = {"n": n, "max_tokens": cfg.max_tokens}
        optional = {"temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": cfg.top_k,
                    "min_p": cfg.min_p, "repetition_penalty": cfg.repetition_penalty,
                    "seed": seed}
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        top = (options or {}).get("logprobs")
        if top:
            kwargs["logprobs"] = int(top)
        # A response_schema is not honoured: vLLM's structured-output API changes between
        # versions, and the Target protocol lets a target ignore what it does not support.
        try:
            return self._engine.module.SamplingParams(**kwargs)
        except Exception as exc:  # vLLM validates its sampling settings with ValueError
            raise FatalTargetError(f"target '{cfg.name}': vLLM refused the sampling settings: "
                                   f"{_one_line(exc)}") from None

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None,
                       options: Mapping[str, Any] | None = None) -> list[Completion]:
        assert self._batcher is not None, "start() first"
        params = self.sampling_params(n, seed, options)
        return await self._batcher.submit(messages, params, n)
