"""A local OpenAI- and Anthropic-compatible mock server for benchmarks and tests.

Binds to 127.0.0.1 only. Answers ``POST /v1/chat/completions`` (with ``n`` choices) and
``POST /v1/messages`` with a fixed reply of about 100 tokens after a configurable latency, and
can inject faults, either in a given order (``script``) or at random (``fault_rate``):

    ok          a normal reply
    429         HTTP 429 with Retry-After: <retry_after> seconds
    500 / 503   a server error with a JSON error body
    400         a bad-request error (not retryable)
    400n        a bad request that names the parameter n (as endpoints without `n` answer)
    401         credentials rejected, echoing the Authorization header (to test redaction)
    timeout     waits ``hang_s`` seconds before answering (longer than the client's timeout)
    badjson     200 with a body that is not JSON
    cut         200 whose body stops short of its Content-Length, then the connection closes
    nochoice    200 with a JSON object without choices
    badcontent  200 whose reply content is a number, not text
    redirect    302 to another host

Run it standalone:  python bench/mock_server.py --port 8765 --latency-ms 0
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import threading
import time
from collections import Counter

from aiohttp import web

REPLY = (
    "The sky looks blue because molecules in the air scatter short wavelengths of sunlight "
    "much more strongly than long ones. This is called Rayleigh scattering, and its strength "
    "grows with the fourth power of the frequency, so blue light is scattered about five times "
    "more than red. When you look at any part of the sky away from the sun, you see this "
    "scattered light. At sunrise and sunset the light crosses more air, most blue is scattered "
    "away, and reds and oranges remain."
)


class MockServer:
    """The mock's state: settings, the fault script, and what it received.

    Args:
        latency_ms: delay before every answer.
        reply: the text of every reply.
        script: faults to serve in order, one per request; afterwards every request is "ok".
        fault_rate: chance per request of each fault, e.g. ``{"500": 0.05}``.
        retry_after: seconds in the Retry-After header of a 429.
        hang_s: how long a "timeout" fault waits.
        seed: seeds the random faults.
        replies: if given, replies are taken from this list in turn instead of ``reply``.
        honour_n: answer ``n`` choices when asked (False: one choice, as some servers do).
    """

    def __init__(self, *, latency_ms: float = 0.0, reply: str = REPLY, script: list[str] | None = None,
                 fault_rate: dict[str, float] | None = None, retry_after: float = 0.2,
                 hang_s: float = 5.0, seed: int = 0,
                 replies: list[str] | None = None, honour_n: bool = True) -> None:
        self.latency_ms = latency_ms
        self.reply = reply
        self.script = list(script or [])
        self.fault_rate = fault_rate or {}
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.rng = random.Random(seed)
        self.requests = 0
        self.served: Counter[str] = Counter()
        self.bodies: list[dict] = []
        self.keep_bodies = False
        self._counter = itertools.count()
        self.replies = replies
        self._reply_counter = itertools.count()
        self.honour_n = honour_n
        self.times: list[float] = []
        self.credentials: set[str] = set()
        self.first_wall: float | None = None

    def _fault(self) -> str:
        if self.script:
            return self.script.pop(0)
        x = self.rng.random()
        for name, rate in self.fault_rate.items():
            if x < rate:
                return name
            x -= rate
        return "ok"

    async def _faulty(self, request: web.Request) -> web.StreamResponse | None:
        for header in ("Authorization", "x-api-key"):
            if header in request.headers:
                self.credentials.add(request.headers[header])
        fault = self._fault()
        self.served[fault] += 1
        if fault == "ok":
            return None
        if fault == "429":
            return web.json_response({"error": {"message": "Rate limit reached"}}, status=429,
                                     headers={"Retry-After": str(self.retry_after)})
        if fault in ("500", "502", "503", "400"):
            return web.json_response({"error": {"message": f"mock {fault}", "type": "mock"}},
                                     status=int(fault))
        if fault == "400n":
            return web.json_response({"error": {"message": "Invalid 'n': only 1 is supported"}},
                                     status=400)
        if fault == "401":
            auth = request.headers.get("Authorization", "") + request.headers.get("x-api-key", "")
            return web.json_response(
                {"error": {"message": f"Incorrect API key provided: {auth}"}}, status=401)
        if fault == "timeout":
            await asyncio.sleep(self.hang_s)
            return web.json_response({"error": {"message": "too late"}}, status=504)
        if fault == "badjson":
            return web.Response(body=b'{"choices": [ {"message": oops', status=200,
                                content_type="application/json")
        if fault == "redirect":
            return web.Response(status=302, headers={"Location": "https://elsewhere.example/v1"})
        if fault == "badcontent":
            return web.json_response({"choices": [{"index": 0, "message": {"content": 5}}]})
        if fault == "nochoice":
            return web.json_response({"object": "chat.completion"})
        if fault == "cut":
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            resp.content_length = 5000
            await resp.prepare(request)
            await resp.write(b'{"choices": [')
            assert request.transport is not None
            request.transport.close()
            return resp
        raise ValueError(f"unknown fault {fault!r}")

    def _next_reply(self) -> str:
        if not self.replies:
            return self.reply
        return self.replies[next(self._reply_counter) % len(self.replies)]

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.times.append(asyncio.get_running_loop().time())
        if self.first_wall is None:
            self.first_wall = time.time()
        body = await request.json()
        if self.keep_bodies:
            self.bodies.append(body)
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        faulty = await self._faulty(request)
        if faulty is not None:
            return faulty
        n = int(body.get("n", 1)) if self.honour_n else 1
        texts = [self._next_reply() for _ in range(n)]
        prompt_tokens = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4
        words = len(self.reply.split())
        data = {
            "id": f"mock-{next(self._counter)}", "object": "chat.completion",
            "model": body.get("model", "mock"),
            "choices": [{"index": i, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": texts[i]}}
                        for i in range(n)],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": words * 4 // 3 * n,
                      "total_tokens": prompt_tokens + words * 4 // 3 * n},
        }
        return web.Response(text=json.dumps(data), content_type="application/json")

    async def messages(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.json()
        if self.keep_bodies:
            self.bodies.append(body)
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        faulty = await self._faulty(request)
        if faulty is not None:
            return faulty
        return web.json_response({
            "id": "msg_mock", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": self.reply}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 100},
        })

    async def stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"requests": self.requests, "first_request_at": self.first_wall})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/messages", self.messages)
        return app


class ServerThread:
    """Serve a :class:`MockServer` on 127.0.0.1 from a background thread (for tests)."""

    def __init__(self, mock: MockServer, port: int = 0) -> None:
        self.mock = mock
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.mock.app(), access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._runner is not None
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="chance of a 500 per request")
    args = parser.parse_args()
    mock = MockServer(latency_ms=args.latency_ms,
                      fault_rate={"500": args.fault_rate} if args.fault_rate else None)
    web.run_app(mock.app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
