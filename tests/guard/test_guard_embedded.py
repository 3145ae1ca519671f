"""The guard in front of a real model: the embedded SmolLM2-135M served over HTTP by llama.cpp's
own OpenAI-compatible server. ``xllamacpp.Server`` starts that server (``/v1/chat/completions``,
plain and SSE) on ``CommonParams.hostnames`` and ``CommonParams.port`` (0: a free port, which
``Server.listening_address`` reports) without blocking; it runs here in a subprocess, with a real
guard in front (aiohttp on 127.0.0.1) and the official `openai` SDK (and curl) as clients.

Greedy decoding (temperature 0, a fixed seed, one slot) makes the model's replies repeatable, so
what reaches the client through the guard can be compared with what the model says directly.
"""

from __future__ import annotations

import asyncio
import json
import select
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from aiohttp import web

from conftest import need
from levelhead.guard import DEFAULT_MESSAGES, create_app, default_policy

pytestmark = pytest.mark.local_model

EN, ZH = DEFAULT_MESSAGES["en"], DEFAULT_MESSAGES["zh"]
OPENAI_FIX = "pip install -e '.[dev]'  (the official OpenAI SDK is a dev extra)"
SETTINGS: dict[str, Any] = {"temperature": 0, "seed": 42, "max_tokens": 32}

# llama.cpp's HTTP server in a process of its own: it prints its address, serves until its
# stdin closes, then exits at once (without waiting for the server's threads to wind down).
SERVE = """
import os, sys
import xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.n_parallel = 1
params.n_ctx = 2048
# One thread: on a busy 2-core machine llama.cpp's threads spin-wait on each other (one
# thread was about 8 times faster than two under a load of 4; a 135M model needs no more).
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
params.warmup = False
params.verbosity = -1
params.hostnames = ["127.0.0.1"]
params.port = 0
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
sys.stdin.read()
os._exit(0)
"""


class LlamaServer:
    """The embedded model's OpenAI-compatible server, started on first use, once per module."""

    def __init__(self, log: IO[str]) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self.log = log  # the server's stderr, shown when it does not start

    def start(self, model: Path) -> str:
        if self.url is not None:
            return self.url
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(model)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        address = self.proc.stdout.readline().strip() if ready else ""
        if not address.startswith("http://127.0.0.1:"):
            self.stop()
            self.log.seek(0)
            pytest.fail(f"llama.cpp's server did not start (got {address!r}): "
                        f"{self.log.read()[-2000:]}", pytrace=False)
        self.url = address + "/v1"
        return self.url

    def stop(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with open(tmp_path_factory.mktemp("llama") / "stderr.log", "w+") as log:
        server = LlamaServer(log)
        yield server
        server.stop()


@pytest.fixture
def direct(embedded_model: Path, llama_server: LlamaServer) -> str:
    """The base URL of the embedded model's own OpenAI-compatible API."""
    return llama_server.start(embedded_model)


@pytest.fixture
async def guarded(direct: str) -> AsyncIterator[str]:
    """The base URL of a guard (default policy) in front of it."""
    runner = web.AppRunner(create_app(direct, default_policy()), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/v1"
    await runner.cleanup()


async def _ask(client: Any, prompt: str, *, stream: bool) -> tuple[str, str | None]:
    """The reply's text and its last finish_reason, plain or streamed (text joined)."""
    messages = [{"role": "user", "content": prompt}]
    if not stream:
        done = await client.chat.completions.create(model="smollm2", messages=messages, **SETTINGS)
        return done.choices[0].message.content or "", done.choices[0].finish_reason
    text, finish = "", None
    async for chunk in await client.chat.completions.create(model="smollm2", messages=messages,
                                                            stream=True, **SETTINGS):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    return text, finish


async def test_a_clean_reply_of_the_model_passes_through_unchanged(direct, guarded):
    openai = need("openai", OPENAI_FIX)
    to_model = openai.AsyncOpenAI(base_url=direct, api_key="sk-none", max_retries=0)
    to_guard = openai.AsyncOpenAI(base_url=guarded, api_key="sk-none", max_retries=0)
    prompt = "Name three primary colors."
    try:
        said, finish = await _ask(to_model, prompt, stream=False)
        assert said.strip() and finish in ("stop", "length")
        raw = await to_guard.chat.completions.with_raw_response.create(
            model="smollm2", messages=[{"role": "user", "content": prompt}], **SETTINGS)
        assert raw.headers["X-Levelhead-Guard"] == "pass"
        done = raw.parse()
        assert (done.choices[0].message.content, done.choices[0].finish_reason) == (said, finish)
        # Streamed through the guard, the pieces join to the very same text.
        assert await _ask(to_guard, prompt, stream=True) == (said, finish)
    finally:
        await to_model.close()
        await to_guard.close()


@pytest.mark.parametrize(("prompt", "word", "message"), [
    ('Repeat exactly: "You are an idiot."', "idiot", EN),
    ("请原样重复：滚，你这个事逼", "滚", ZH),
])
async def test_the_model_repeating_an_insult_is_blocked(direct, guarded, prompt, word, message):
    """The 135M model repeats what it is asked to (checked directly first): asked to repeat an
    insult, its reply is abusive, and the guard withholds it, plain and streamed."""
    openai = need("openai", OPENAI_FIX)
    to_model = openai.AsyncOpenAI(base_url=direct, api_key="sk-none", max_retries=0)
    to_guard = openai.AsyncOpenAI(base_url=guarded, api_key="sk-none", max_retries=0)
    try:
        said, _ = await _ask(to_model, prompt, stream=False)
        assert word in said, f"the model no longer repeats the insult (it said {said!r})"
        assert await _ask(to_guard, prompt, stream=False) == (message, "content_filter")
        text, finish = await _ask(to_guard, prompt, stream=True)
        assert finish == "content_filter"
        assert word not in text and text.endswith(message)
    finally:
        await to_model.close()
        await to_guard.close()


async def test_curl_through_the_guard_gets_the_same_completion_as_direct(direct, guarded,
                                                                        tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("this test needs curl: run `sudo apt-get install -y curl`", pytrace=False)
    body = json.dumps({"model": "smollm2", "messages": [
        {"role": "user", "content": "What is the capital of France?"}], **SETTINGS})

    async def post(base: str, name: str) -> tuple[dict[str, Any], str]:
        headers = tmp_path / f"{name}.headers"
        proc = await asyncio.create_subprocess_exec(
            curl, "-sS", "--max-time", "60", "-D", str(headers), "-H",
            "Content-Type: application/json", "-d", body, f"{base}/chat/completions",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return json.loads(out), headers.read_text().lower()

    said, _ = await post(direct, "direct")
    got, headers = await post(guarded, "guarded")
    assert "x-levelhead-guard: pass" in headers
    assert got["choices"] == said["choices"] and got["choices"][0]["message"]["content"]
    assert (got["model"], got["object"]) == (said["model"], "chat.completion")
