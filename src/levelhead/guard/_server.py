"""The guard's HTTP server: the OpenAI chat-completions API, screened, in front of an upstream.

``POST /v1/chat/completions`` (plain and streamed) goes to the configured upstream, never to an
address taken from the request; ``GET /v1/models`` passes through. The client's
``Authorization`` header is forwarded as it is; without one, the key comes from the environment
variable the policy names (``api_key_env``). Keys are never logged or kept.

A stream is held back: an event reaches the client only once the judges have seen the text
so far and ``hold_back`` more characters of its choice have arrived behind it. When the text
trips a block rule the stream ends with a ``content_filter`` chunk carrying the block message,
and the held text is dropped. No task is started per request: when a client goes away, the
next write to it fails (or, under ``levelhead guard``, the handler is cancelled at once), which
ends the handler and closes the upstream response with it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from levelhead.errors import redact
from levelhead.guard._log import DecisionLog
from levelhead.guard._policy import GuardPolicy
from levelhead.guard._screen import Decision, Screen
from levelhead.store import GuardDecisionRow, Store

__all__ = ["REQUEST_ID_HEADER", "TOKEN_HEADER", "create_app"]

log = logging.getLogger("levelhead.guard")

#: The header that carries the guard's own token (``Authorization`` belongs to the upstream).
TOKEN_HEADER = "X-Levelhead-Guard-Token"

_SCREEN = web.AppKey("screen", Screen)
_SESSION = web.AppKey("session", aiohttp.ClientSession)
_LOG = web.AppKey("decision_log", DecisionLog)
#: The header that names a request; a client may set it, else the guard makes one.
REQUEST_ID_HEADER = "X-Request-Id"


def _error(status: int, message: str, kind: str, code: str | None = None) -> web.Response:
    """An OpenAI-style error body."""
    return web.json_response({"error": {"message": message, "type": kind, "param": None,
                                        "code": code}}, status=status)


def _upstream_error(exc: BaseException) -> web.Response:
    if isinstance(exc, TimeoutError):
        why = "the upstream did not answer in time"
    elif isinstance(exc, aiohttp.ClientConnectionError):
        why = "the upstream cannot be reached"
    else:
        why = "the upstream's answer is not valid"
    return _error(502, why, "upstream_error", "bad_gateway")


@dataclass
class _Held:
    """One upstream SSE event waiting in the hold-back queue."""

    chunk: dict[str, Any]
    spans: dict[int, tuple[int, int]]  # choice index -> (start, end) of its text in the reply


@dataclass
class _Request:
    """What the store keeps about one request besides its decisions."""

    id: str
    messages: Sequence[Mapping[str, str]]
    streamed: bool
    model: str | None
    started: float = field(default_factory=time.perf_counter)
    judge_ms: dict[int, float] = field(default_factory=dict)  # choice index -> time in judges


def _text(value: str) -> str:
    """``value`` as text the store can keep: a lone surrogate (valid JSON, not UTF-8) replaced."""
    return value.encode("utf-8", "replace").decode("utf-8")


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    # A client's id is kept when it is a plain token; anything else gets one of the guard's.
    if 0 < len(given) <= 128 and given.isascii() and given.isprintable() and " " not in given:
        return given
    return uuid.uuid4().hex


class _Guard:
    def __init__(self, upstream: str, policy: GuardPolicy,
                 record: Callable[[Decision], None]) -> None:
        self.upstream = upstream.rstrip("/")
        self.policy = policy
        self.record = record
        self.log: DecisionLog | None = None  # set by create_app when there is a store

    def _headers(self, request: web.Request) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        auth = request.headers.get("Authorization")
        if auth is None and self.policy.api_key_env and os.environ.get(self.policy.api_key_env):
            auth = f"Bearer {os.environ[self.policy.api_key_env]}"
        if auth is not None:
            headers["Authorization"] = auth
        return headers

    def _timeout(self) -> aiohttp.ClientTimeout:
        t = self.policy.upstream_timeout_s
        return aiohttp.ClientTimeout(total=None, connect=t, sock_read=t)

    async def models(self, request: web.Request) -> web.StreamResponse:
        try:
            async with request.app[_SESSION].get(f"{self.upstream}/models",
                                                 headers=self._headers(request),
                                                 timeout=self._timeout()) as resp:
                body = await resp.read()
                return web.Response(body=body, status=resp.status,
                                    content_type=resp.content_type or "application/json")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _upstream_error(exc)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > self.policy.max_body_bytes:
            return _error(413, f"the request is over {self.policy.max_body_bytes} bytes",
                          "invalid_request_error", "request_too_large")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the request is over {self.policy.max_body_bytes} bytes",
                          "invalid_request_error", "request_too_large")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "the request body is not JSON", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "expected a JSON object with `messages`", "invalid_request_error")
        model = body.get("model")
        req = _Request(_request_id(request), [m for m in body["messages"] if isinstance(m, dict)],
                       bool(body.get("stream")), _text(model) if isinstance(model, str) else None)
        url = f"{self.upstream}/chat/completions"
        try:
            async with request.app[_SESSION].post(url, data=raw, headers=self._headers(request),
                                                  timeout=self._timeout()) as resp:
                if resp.status != 200:
                    return await self._relay_error(resp)
                if req.streamed:
                    try:
                        return await self._stream(request, resp, req)
                    except ConnectionResetError:  # the client went away: nothing to answer
                        return web.Response(status=499)
                return await self._whole(resp, req)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _upstream_error(exc)

    async def _relay_error(self, resp: aiohttp.ClientResponse) -> web.Response:
        """The upstream's own error, when it is an OpenAI-style JSON body; else a 502."""
        data = await resp.read()
        try:
            if isinstance(json.loads(data), dict):
                # An upstream may echo the request's key in its error: the guard's own key (from
                # api_key_env) must never reach the client, nor any key-shaped text.
                key = os.environ.get(self.policy.api_key_env) if self.policy.api_key_env else None
                body = redact(data.decode("utf-8", "replace"), key)
                return web.Response(text=body, status=resp.status, content_type="application/json")
        except ValueError:
            pass
        return _error(502, f"the upstream answered {resp.status}", "upstream_error", "bad_gateway")

    async def _whole(self, resp: aiohttp.ClientResponse, req: _Request) -> web.Response:
        data = await resp.read()
        try:
            reply = json.loads(data)
            choices = reply["choices"]
            if not isinstance(choices, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(502, "the upstream's answer is not a chat completion", "upstream_error",
                          "bad_gateway")
        if isinstance(reply.get("model"), str):
            req.model = _text(reply["model"])
        changed, actions = False, []
        for n, choice in enumerate(choices):
            message: Any = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                continue
            index = choice.get("index", n)
            i = index if isinstance(index, int) and index >= 0 else n
            decision = await self.decide(req, i, content)
            self.note(req, i, content, decision)
            actions.append(decision.action)
            if decision.action in ("block", "redact"):
                message["content"] = decision.text
                changed = True
                if decision.action == "block":
                    choice["finish_reason"] = "content_filter"
        headers = {"X-Levelhead-Guard": ",".join(actions) or "pass", REQUEST_ID_HEADER: req.id}
        if not changed:  # passed byte for byte
            return web.Response(body=data, content_type="application/json", headers=headers)
        return web.Response(text=json.dumps(reply, ensure_ascii=False),
                            content_type="application/json", headers=headers)

    async def decide(self, req: _Request, choice: int, text: str) -> Decision:
        """The judges' decision on ``text``, the reply so far; their time is added up."""
        start = time.perf_counter()
        decision = await self.screen.decide(text, req.messages)
        req.judge_ms[choice] = req.judge_ms.get(choice, 0.0) + (time.perf_counter() - start) * 1e3
        return decision

    def note(self, req: _Request, choice: int, text: str, decision: Decision) -> None:
        """Record the final decision on one choice: logged unless a clean pass, and stored."""
        if decision.action != "pass" or not decision.judged:
            self.record(decision)
        if self.log is None:
            return
        findings = [dataclasses.asdict(f) for f in decision.findings]
        self.log.put(GuardDecisionRow(
            datetime.now(UTC).isoformat(timespec="milliseconds"), req.id, choice, req.model,
            self.screen.language(text, req.messages), req.streamed, decision.action,
            decision.judged, (time.perf_counter() - req.started) * 1e3,
            req.judge_ms.get(choice, 0.0), json.dumps(findings, ensure_ascii=False),
            text if self.policy.store_text else None))

    screen: Screen  # set by create_app

    async def _stream(self, request: web.Request, resp: aiohttp.ClientResponse,
                      req: _Request) -> web.StreamResponse:
        if resp.content_type != "text/event-stream":
            return _error(502, "the upstream did not answer with an event stream",
                          "upstream_error", "bad_gateway")
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                          "Cache-Control": "no-cache", REQUEST_ID_HEADER: req.id})
        texts: dict[int, str] = {}
        held: deque[_Held] = deque()
        decisions: dict[int, Decision] = {}
        last: dict[str, Any] = {}
        window = self.policy.hold_back

        async def send(item: _Held) -> None:
            for choice in item.chunk.get("choices") or []:
                i = choice.get("index", 0)
                if i in item.spans and isinstance(choice.get("delta"), dict):
                    start, end = item.spans[i]
                    choice["delta"]["content"] = decisions[i].text[start:end]
            await out.write(b"data: " + json.dumps(item.chunk, ensure_ascii=False).encode() + b"\n\n")

        async def block(index: int) -> web.StreamResponse:
            if not out.prepared:
                await out.prepare(request)
            final = {"id": last.get("id"), "object": "chat.completion.chunk",
                     "created": last.get("created"), "model": last.get("model"),
                     "choices": [{"index": index, "delta": {"content": decisions[index].text},
                                  "finish_reason": "content_filter"}]}
            await out.write(b"data: " + json.dumps(final, ensure_ascii=False).encode()
                            + b"\n\ndata: [DONE]\n\n")
            await out.write_eof()
            return out

        async def fail(why: str) -> web.StreamResponse:
            if not out.prepared:
                return _error(502, why, "upstream_error", "bad_gateway")
            # Mid-stream there is no status left to change: end the stream with an error event,
            # and never flush the held text unjudged.
            err = {"error": {"message": why, "type": "upstream_error", "code": "bad_gateway"}}
            await out.write(b"data: " + json.dumps(err).encode() + b"\n\n")
            await out.write_eof()
            return out

        events = _events(resp)
        while True:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                break
            except (aiohttp.ClientError, TimeoutError):
                return await fail("the upstream's stream broke off")
            if event == b"[DONE]":
                break
            try:
                chunk = json.loads(event)
                if not isinstance(chunk, dict):
                    raise TypeError
            except (ValueError, TypeError):
                return await fail("the upstream's stream is not valid")
            last = chunk
            if isinstance(chunk.get("model"), str):
                req.model = _text(chunk["model"])
            if not out.prepared:  # only now: an upstream that fails at once still gets a 502
                await out.prepare(request)
            spans: dict[int, tuple[int, int]] = {}
            grew: set[int] = set()
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                piece = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(piece, str) and piece:
                    i = choice.get("index", 0)
                    start = len(texts.get(i, ""))
                    texts[i] = texts.get(i, "") + piece
                    spans[i] = (start, len(texts[i]))
                    grew.add(i)
            held.append(_Held(chunk, spans))
            for i in sorted(grew):
                decisions[i] = await self.decide(req, i, texts[i])
                if decisions[i].action == "block":
                    self.note(req, i, texts[i], decisions[i])
                    return await block(i)
            # Release from the front what the judges have seen with `hold_back` characters behind.
            while held and all(len(texts[i]) - end >= window
                               for i, (_, end) in held[0].spans.items()):
                await send(held.popleft())
        for i in sorted(texts):  # the whole reply, once more, before the rest goes out
            decisions[i] = await self.decide(req, i, texts[i])
            self.note(req, i, texts[i], decisions[i])
            if decisions[i].action == "block":
                return await block(i)
        if not out.prepared:
            await out.prepare(request)
        while held:
            await send(held.popleft())
        await out.write(b"data: [DONE]\n\n")
        await out.write_eof()
        return out


async def _events(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The ``data:`` payloads of an SSE response, one per event."""
    lines: list[bytes] = []
    async for line in resp.content:
        line = line.rstrip(b"\r\n")
        if not line:
            if lines:
                yield b"\n".join(lines)
                lines = []
            continue
        if line.startswith(b"data:"):
            lines.append(line[5:].lstrip(b" "))
    if lines:
        yield b"\n".join(lines)


def _token_middleware(token: str) -> Any:
    expected = f"Bearer {token}"

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get(TOKEN_HEADER, "")
        if not (secrets.compare_digest(given.encode(), expected.encode())
                or secrets.compare_digest(given.encode(), token.encode())):
            return _error(401, f"this guard needs its token in the {TOKEN_HEADER} header",
                          "authentication_error", "invalid_guard_token")
        response: web.StreamResponse = await handler(request)
        return response

    return check


def _log_decision(decision: Decision) -> None:
    # Judges and actions only: never the reply's text, never a key.
    log.info("guard %s: %s", decision.action,
             ", ".join(f"{f.judge}={f.label or 'not judged'}" for f in decision.findings))


def create_app(upstream: str, policy: GuardPolicy, *, token: str | None = None,
               record: Callable[[Decision], None] | None = None,
               store: Store | None = None) -> web.Application:
    """The guard as an aiohttp application.

    Args:
        upstream: the base URL of the OpenAI-compatible API (``http://127.0.0.1:8000/v1``).
        policy: the rules and limits.
        token: when given, every request must carry it in ``X-Levelhead-Guard-Token``.
        record: called with every decision that is not a clean pass (default: logged).
        store: where every decision is recorded (passes too; the reply's text only with the
            policy's ``store_text``); the application closes it when it stops.
    """
    guard = _Guard(upstream, policy, record or _log_decision)
    middlewares = [_token_middleware(token)] if token else []
    # aiohttp itself refuses bodies over client_max_size; chat() turns that into a JSON 413.
    app = web.Application(client_max_size=policy.max_body_bytes, middlewares=middlewares)

    async def resources(app: web.Application) -> Any:
        guard.screen = app[_SCREEN] = Screen(policy)
        # No pool limit of its own (aiohttp's default would queue past 100 requests in flight):
        # the guard holds one upstream connection per client request, as a proxy should.
        app[_SESSION] = aiohttp.ClientSession(auto_decompress=True,
                                              connector=aiohttp.TCPConnector(limit=0))
        if store is not None:
            guard.log = app[_LOG] = DecisionLog(store)
        yield
        await app[_SESSION].close()
        await app[_SCREEN].close()
        if guard.log is not None:
            guard.log.close()  # writes what is queued

    app.cleanup_ctx.append(resources)
    app.router.add_post("/v1/chat/completions", guard.chat)
    app.router.add_get("/v1/models", guard.models)
    return app

