"""The guard under load: 1,000 streamed requests at once, through a real guard to a real mock
upstream, both aiohttp on 127.0.0.1 in the test's own event loop (so that the guard's tasks can be
counted afterwards).

The client is aiohttp rather than the `openai` SDK: the SDK's HTTP pool is smaller than 1,000
connections, and the test reads the raw SSE wire format (as test_guard.py's wire checks do).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any

import aiohttp
from aiohttp import web
from test_guard import _sse

from levelhead.guard import DEFAULT_MESSAGES, create_app, default_policy

STREAMS = 1000
#: The mock holds every stream open after its first event until all STREAMS are open at once, or
#: until this many seconds have passed since the first arrived (so that a guard that cannot hold
#: 1,000 upstream streams at once fails the peak assertion instead of hanging the test).
GATHER_S = 10.0
EN, ZH = DEFAULT_MESSAGES["en"], DEFAULT_MESSAGES["zh"]


def _reply(i: int) -> tuple[list[str], str | None]:
    """Request i's streamed reply (chunks) and the block message it must end in (None: clean).
    One in ten is abusive, in English or in Chinese; the rest are clean, in both languages."""
    if i % 20 == 0:
        return [f"Request {i}: fine, ", "here it is, ", "you idiot."], EN
    if i % 20 == 10:
        return [f"第{i}次了，", "改来改去不烦吗？", "滚。"], ZH
    return [f"Reply {i}: here is ", "the revised paragraph, ", "as agreed. ", f"好的，第{i}段。"], None


def _prompt(i: int) -> str:
    return f"第#{i}次：请再改一次" if i % 20 == 10 else f"Request #{i}: revise it"


class HoldingUpstream:
    """An OpenAI-compatible upstream that streams request i's reply, holding every stream open
    after its first event until STREAMS of them are open together (or GATHER_S has passed)."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self.served = 0
        self.first_at: float | None = None
        self.all_open = asyncio.Event()

    async def _gathered(self) -> None:
        assert self.first_at is not None
        left = GATHER_S - (time.monotonic() - self.first_at)
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_open.wait(), left)
        self.all_open.set()  # from now on nobody waits

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        i = int(re.search(r"#(\d+)", body["messages"][-1]["content"]).group(1))  # type: ignore[union-attr]
        chunks, _ = _reply(i)
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await out.prepare(request)

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            chunk = {"id": f"chatcmpl-{i}", "object": "chat.completion.chunk", "created": 1,
                     "model": "mock-1",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"

        self.open += 1
        self.peak = max(self.peak, self.open)
        self.first_at = self.first_at or time.monotonic()
        try:
            await out.write(event({"role": "assistant", "content": ""}))
            if self.open >= STREAMS:
                self.all_open.set()
            await self._gathered()
            for piece in chunks:
                await out.write(event({"content": piece}))
                await asyncio.sleep(0)  # let other streams interleave
            await out.write(event({}, "stop"))
            await out.write(b"data: [DONE]\n\n")
            self.served += 1
        except ConnectionResetError:  # the guard hung up: it is not supposed to, see the asserts
            pass
        finally:
            self.open -= 1
        return out


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    # A listen backlog that takes the whole burst of connections at once.
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2 * STREAMS)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def test_a_thousand_concurrent_streams_all_complete_clean_whole_and_abusive_cut():
    mock = HoldingUpstream()
    mock_app = web.Application()
    mock_app.router.add_post("/v1/chat/completions", mock.chat)
    mock_runner, mock_url = await _start(mock_app)
    guard_runner, guard_url = await _start(create_app(mock_url + "/v1", default_policy()))
    try:
        before = asyncio.all_tasks()
        connector = aiohttp.TCPConnector(limit=2 * STREAMS)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

            async def ask(i: int) -> tuple[int, list[Any]]:
                body = {"model": "mock-1", "stream": True,
                        "messages": [{"role": "user", "content": _prompt(i)}]}
                async with client.post(f"{guard_url}/v1/chat/completions", json=body) as resp:
                    return resp.status, _sse(await resp.read())

            results = await asyncio.gather(*(ask(i) for i in range(STREAMS)),
                                           return_exceptions=True)

        failed = {i: r for i, r in enumerate(results) if isinstance(r, BaseException)}
        assert not failed, f"{len(failed)} requests raised, e.g. {next(iter(failed.items()))}"
        # They were truly concurrent: the mock had (nearly) all of them open at the same time.
        assert mock.peak >= 0.9 * STREAMS, (
            f"at most {mock.peak} upstream streams were open at once (of {STREAMS} requests in "
            "flight): the guard queues its upstream requests (an aiohttp ClientSession pools at "
            "most 100 connections unless its connector says otherwise)")
        blocked = 0
        for i, result in enumerate(results):
            assert not isinstance(result, BaseException)
            status, events = result
            chunks, message = _reply(i)
            assert status == 200, (i, events)
            assert events[-1] == "[DONE]", (i, events[-3:])
            text = "".join(e["choices"][0]["delta"].get("content") or ""
                           for e in events[:-1] if e["choices"][0].get("finish_reason") is None)
            finish = events[-2]["choices"][0]["finish_reason"]
            if message is None:  # clean: the whole reply, exactly, in order, then "stop"
                assert (text, finish) == ("".join(chunks), "stop"), i
            else:  # abusive: cut before any of it reached the client, the message instead
                blocked += 1
                assert (text, finish) == ("", "content_filter"), (i, text, finish)
                assert events[-2]["choices"][0]["delta"]["content"] == message, i
        assert blocked == STREAMS // 10
        assert mock.open == 0 and mock.served >= STREAMS - blocked

        # Nothing is left running in the guard's loop (the test's own loop) once all is done,
        # except the mock upstream's handlers of the connections the guard keeps alive in its
        # pool (idle, waiting for the guard's next request; they are the mock's, not the guard's).
        for _ in range(40):  # 2 s
            assert mock_runner.server is not None
            idle_upstream = {getattr(h, "_task_handler", None)
                             for h in mock_runner.server.connections}
            left = asyncio.all_tasks() - before - idle_upstream - {asyncio.current_task()}
            if not left:
                break
            await asyncio.sleep(0.05)
        assert not left, f"{len(left)} tasks left, e.g. {next(iter(left))}"
    finally:
        await guard_runner.cleanup()
        await mock_runner.cleanup()
