"""The guard end to end: a real mock upstream and a real guard, both aiohttp on 127.0.0.1, and a
real HTTP client reading the OpenAI wire format (JSON and SSE) as the SDK does."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from click.testing import CliRunner

from conftest import need
from levelhead.errors import PolicyError, UnknownNameError
from levelhead.guard import (
    DEFAULT_MESSAGES,
    TOKEN_HEADER,
    Decision,
    create_app,
    default_policy,
    load_policy,
    policy_from_dict,
)
from levelhead.judges import BaseJudge, JudgeConfig, JudgeInput, JudgeVerdict, judge, registry

ROOT = Path(__file__).resolve().parents[2]
EN, ZH = DEFAULT_MESSAGES["en"], DEFAULT_MESSAGES["zh"]


class Upstream:
    """A scripted OpenAI-compatible upstream: replies whole or in chunks, or misbehaves."""

    def __init__(self) -> None:
        self.reply = "Hello! How can I help?"
        self.chunks: list[str] | None = None
        self.chunk_delay = 0.0
        self.mode = "ok"  # ok | malformed | slow
        self.seen_auth: list[str | None] = []
        self.raw = b""
        self.hung_up = False

    def completion(self) -> bytes:
        return json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "mock-1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        }, ensure_ascii=False).encode()

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.seen_auth.append(request.headers.get("Authorization"))
        body = await request.json()
        if self.mode == "slow":
            await asyncio.sleep(1)  # past the guard's upstream_timeout_s of 0.3 s
        if self.mode == "malformed":
            return web.Response(body=b"{not json", content_type="application/json")
        if self.mode == "echo":  # a 401 that quotes the key it was sent
            return web.json_response({"error": {"message": "bad key: " + str(
                request.headers.get("Authorization")), "type": "invalid_request_error"}}, status=401)
        if not body.get("stream"):
            self.raw = self.completion()
            return web.Response(body=self.raw, content_type="application/json")
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await out.prepare(request)

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                     "model": "mock-1",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"

        try:
            await out.write(event({"role": "assistant", "content": ""}))
            for piece in self.chunks if self.chunks is not None else [self.reply]:
                await out.write(event({"content": piece}))
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
            await out.write(event({}, "stop"))
            await out.write(b"data: [DONE]\n\n")
        except ConnectionResetError:  # the guard hung up (its client left)
            self.hung_up = True
        return out

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "mock-1", "object": "model"}]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        return app


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


Guard = Callable[..., Awaitable[str]]


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    mock = Upstream()
    runner, url = await _start(mock.app())
    yield mock, url + "/v1"
    await runner.cleanup()


@pytest.fixture
async def guard(upstream: tuple[Upstream, str]) -> AsyncIterator[Guard]:
    """Start a guard in front of the upstream (or ``upstream_url``); gives its base URL."""
    runners = []

    async def start(policy: Any = None, *, upstream_url: str | None = None, token: str | None = None,
                    record: Callable[[Decision], None] | None = None) -> str:
        if isinstance(policy, dict):
            policy = policy_from_dict(policy, "test policy")
        app = create_app(upstream_url or upstream[1], policy or default_policy(), token=token,
                         record=record)
        runner, url = await _start(app)
        runners.append(runner)
        return url + "/v1"

    yield start
    for runner in runners:
        await runner.cleanup()


async def _post(url: str, content: str = "Hi", *, stream: bool = False, **kwargs: Any
                ) -> tuple[int, bytes, Any]:
    body = {"model": "mock-1", "messages": [{"role": "user", "content": content}], "stream": stream}
    async with aiohttp.ClientSession() as s, s.post(f"{url}/chat/completions", json=body,
                                                    **kwargs) as resp:
        return resp.status, await resp.read(), resp.headers


def _sse(raw: bytes) -> list[Any]:
    """The events of an SSE body: parsed chunks, and the string "[DONE]"."""
    out: list[Any] = []
    for block in raw.decode().split("\n\n"):
        if block.startswith("data: "):
            data = block[6:]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def _streamed_text(events: list[Any]) -> tuple[str, str | None]:
    """The content that reached the client before a content-filter chunk, and the last finish."""
    text, finish = "", None
    for e in events:
        if e == "[DONE]":
            continue
        choice = e["choices"][0]
        if choice.get("finish_reason") == "content_filter":
            return text, "content_filter"
        text += choice["delta"].get("content") or ""
        finish = choice.get("finish_reason") or finish
    return text, finish


RULE = {"judge": "abuse.lexicon", "labels": ["abusive"]}


@pytest.mark.parametrize(("reply", "prompt", "message"), [
    ("滚", "帮我把这段再改一下", ZH),
    ("你就是个SB，自己改去吧", "请再改一次", ZH),
    ("Oh, you idiot, do it yourself.", "Please revise it once more", EN),
])
async def test_an_abusive_reply_is_blocked_in_the_users_language(upstream, guard, reply, prompt,
                                                                  message):
    mock, _ = upstream
    mock.reply = reply
    url = await guard()
    status, raw, headers = await _post(url, prompt)
    assert status == 200
    choice = json.loads(raw)["choices"][0]
    assert choice["message"]["content"] == message
    assert choice["finish_reason"] == "content_filter"
    assert headers["X-Levelhead-Guard"] == "block"

    mock.chunks = [reply[: len(reply) // 2], reply[len(reply) // 2:]]
    status, raw, _ = await _post(url, prompt, stream=True)
    events = _sse(raw)
    sent, finish = _streamed_text(events)
    assert finish == "content_filter" and events[-1] == "[DONE]"
    assert sent == ""  # the reply is shorter than the window: nothing of it left the guard
    assert events[-2]["choices"][0]["delta"]["content"] == message


async def test_a_clean_reply_passes_byte_for_byte_and_streams_whole(upstream, guard):
    mock, _ = upstream
    mock.reply = "Sure — here is the revised paragraph. 好的，这是修改后的段落。"
    url = await guard()
    status, raw, headers = await _post(url, "Revise it")
    assert status == 200 and raw == mock.raw and headers["X-Levelhead-Guard"] == "pass"

    mock.chunks = [mock.reply[i:i + 5] for i in range(0, len(mock.reply), 5)]
    status, raw, _ = await _post(url, "Revise it", stream=True)
    text, finish = _streamed_text(_sse(raw))
    assert (text, finish) == (mock.reply, "stop")


async def test_models_pass_through_and_the_clients_key_goes_upstream(upstream, guard, monkeypatch):
    mock, _ = upstream
    monkeypatch.setenv("GUARD_TEST_KEY", "sk-from-env")
    url = await guard({"rules": [{**RULE, "action": "block"}], "api_key_env": "GUARD_TEST_KEY"})
    async with aiohttp.ClientSession() as s, s.get(f"{url}/models") as resp:
        assert (await resp.json())["data"][0]["id"] == "mock-1"
    await _post(url, headers={"Authorization": "Bearer sk-client"})
    await _post(url)
    assert mock.seen_auth == ["Bearer sk-client", "Bearer sk-from-env"]


@pytest.mark.parametrize("window", [0, 16, 64])
async def test_a_reply_that_turns_abusive_at_the_end_leaks_at_most_the_window(upstream, guard,
                                                                              window):
    mock, _ = upstream
    clean = "Here is the plan for the migration, step by step, with every check we agreed on. " * 3
    reply = clean + "Honestly, you idiot"
    mock.chunks = [reply[i:i + 3] for i in range(0, len(reply), 3)]
    url = await guard({"rules": [{**RULE, "action": "block"}], "hold_back": window})
    status, raw, _ = await _post(url, "Plan the migration", stream=True)
    events = _sse(raw)
    sent, finish = _streamed_text(events)
    assert status == 200 and finish == "content_filter" and events[-1] == "[DONE]"
    assert reply.startswith(sent)
    # The client got the text up to the window before the block, and never the text it held.
    assert len(reply) - window - 6 <= len(sent) <= len(reply) - window - 1
    if window >= len("you idiot"):
        assert "idiot" not in sent and "you" not in sent[len(clean):]
    assert events[-2]["choices"][0]["delta"]["content"] == EN


async def test_redact_masks_the_matched_words(upstream, guard):
    mock, _ = upstream
    mock.reply = "Fine, you IDIOT, here it is: the new draft."
    url = await guard({"rules": [{**RULE, "action": "redact"}]})
    status, raw, headers = await _post(url)
    choice = json.loads(raw)["choices"][0]
    assert headers["X-Levelhead-Guard"] == "redact" and choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == "Fine, *********, here it is: the new draft."

    mock.reply = "好的，傻逼，这是新的稿子，请查收。" + "后面还有很多正常的内容。" * 8
    mock.chunks = [mock.reply[i:i + 4] for i in range(0, len(mock.reply), 4)]
    status, raw, _ = await _post(url, "再改一次", stream=True)
    text, finish = _streamed_text(_sse(raw))
    assert finish == "stop" and text == mock.reply.replace("傻逼", "**")


async def test_flag_passes_the_reply_and_records_it(upstream, guard):
    mock, _ = upstream
    mock.reply = "Shut up and read the docs."
    decisions: list[Decision] = []
    url = await guard({"rules": [{**RULE, "action": "flag"}]}, record=decisions.append)
    status, raw, headers = await _post(url)
    assert raw == mock.raw and headers["X-Levelhead-Guard"] == "flag"
    assert [d.action for d in decisions] == ["flag"]
    assert decisions[0].findings[0].label == "abusive"


@pytest.fixture
def failing_judges() -> Iterator[None]:
    """Two registered judges that cannot judge: one raises, one never answers."""

    @judge("guard_test.broken", config=JudgeConfig)
    class Broken(BaseJudge):
        """Raises on every reply (a judge model that is down)."""

        version = "1"
        labels = ("bad", "ok")

        async def judge(self, item: JudgeInput) -> JudgeVerdict:
            raise RuntimeError("judge model is down")

    @judge("guard_test.slow", config=JudgeConfig)
    class Slow(Broken):
        """Never answers in time."""

        async def judge(self, item: JudgeInput) -> JudgeVerdict:
            await asyncio.sleep(10)
            return JudgeVerdict("ok")

    yield
    for name in ("guard_test.broken", "guard_test.slow"):
        registry._entries.pop(name, None)


@pytest.mark.parametrize("name", ["guard_test.broken", "guard_test.slow"])
@pytest.mark.parametrize("on_error", ["block", "pass"])
async def test_a_judge_that_fails_follows_on_error_and_is_recorded_not_judged(
        upstream, guard, failing_judges, name, on_error):
    mock, _ = upstream
    decisions: list[Decision] = []
    url = await guard({"rules": [{"judge": name, "labels": ["bad"], "action": "block"}],
                       "on_error": on_error, "judge_timeout_s": 0.2}, record=decisions.append)
    status, raw, _ = await _post(url)
    content = json.loads(raw)["choices"][0]["message"]["content"]
    assert content == (EN if on_error == "block" else mock.reply)
    assert len(decisions) == 1 and not decisions[0].judged
    assert decisions[0].findings[0].label is None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("fault", ["refused", "slow", "malformed"])
async def test_upstream_faults_give_a_502_json_error(upstream, guard, fault):
    mock, _ = upstream
    mock.mode = fault if fault != "refused" else "ok"
    url = await guard({"rules": [{**RULE, "action": "block"}], "upstream_timeout_s": 0.3},
                      upstream_url=f"http://127.0.0.1:{_closed_port()}/v1" if fault == "refused"
                      else None)
    for stream in (False, True):
        status, raw, _ = await _post(url, stream=stream)
        assert status == 502
        assert json.loads(raw)["error"]["type"] == "upstream_error"


async def test_a_body_over_the_limit_gets_413(guard):
    url = await guard({"rules": [{**RULE, "action": "block"}], "max_body_bytes": 2048})
    status, raw, _ = await _post(url, "x" * 5000)
    assert status == 413 and json.loads(raw)["error"]["code"] == "request_too_large"
    status, _, _ = await _post(url, "x" * 100)
    assert status == 200


async def test_a_guard_with_a_token_refuses_requests_without_it(guard):
    token = "t" * 24
    url = await guard(token=token)
    status, raw, _ = await _post(url)
    assert status == 401 and json.loads(raw)["error"]["code"] == "invalid_guard_token"
    status, _, _ = await _post(url, headers={TOKEN_HEADER: f"Bearer {token}"})
    assert status == 200


def test_the_command_refuses_a_non_local_bind_without_a_token(monkeypatch):
    from levelhead.cli import cli

    monkeypatch.delenv("LEVELHEAD_GUARD_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["guard", "--upstream", "http://127.0.0.1:9/v1",
                                      "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "LEVELHEAD_GUARD_TOKEN" in result.output
    monkeypatch.setenv("LEVELHEAD_GUARD_TOKEN", "short")
    result = CliRunner().invoke(cli, ["guard", "--upstream", "http://127.0.0.1:9/v1"])
    assert result.exit_code != 0 and "16 characters" in result.output


async def test_a_client_leaving_mid_stream_leaves_no_task_running(upstream, guard):
    mock, _ = upstream
    mock.chunks = ["All fine here. "] * 100
    mock.chunk_delay = 0.03  # 3 s of stream: the guard must stop well before it ends
    url = await guard({"rules": [{**RULE, "action": "block"}], "hold_back": 0})
    before = asyncio.all_tasks()
    body = {"model": "mock-1", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with aiohttp.ClientSession() as s, s.post(f"{url}/chat/completions", json=body) as resp:
        assert (await resp.content.readany()).startswith(b"data: ")  # the first events, then hang up
        resp.close()
    for _ in range(20):  # 1 s
        left = asyncio.all_tasks() - before - {asyncio.current_task()}
        if not left:
            break
        await asyncio.sleep(0.05)
    assert not left, left
    assert mock.hung_up  # the guard closed its upstream stream too, long before it ended


def test_the_example_policy_is_the_default_spelt_out():
    assert load_policy(ROOT / "examples" / "guard.toml") == default_policy().model_copy(
        update={"source": str(ROOT / "examples" / "guard.toml")})


def test_policy_mistakes_are_one_line_with_the_field_path(tmp_path):
    bad = tmp_path / "guard.toml"
    bad.write_text('[[rules]]\njudge = "abuse.lexicon"\nlabels = ["abusive"]\naction = "drop"\n')
    with pytest.raises(PolicyError, match=r"guard.toml: rules\[0\]\.action: .*'drop'"):
        load_policy(bad)
    bad.write_text('hold_bak = 3\n[[rules]]\njudge = "abuse.lexicon"\nlabels = ["abusive"]\n'
                   'action = "block"\n')
    with pytest.raises(PolicyError, match=r"hold_bak: unknown field"):
        load_policy(bad)
    with pytest.raises(PolicyError, match=r"rules\[0\]\.labels: abuse.lexicon never gives rude"):
        policy_from_dict({"rules": [{**RULE, "labels": ["rude"], "action": "block"}]})
    with pytest.raises(UnknownNameError, match=r"rules\[0\]\.judge: unknown judge 'abuse.lexicn'"):
        policy_from_dict({"rules": [{**RULE, "judge": "abuse.lexicn", "action": "block"}]})


# The official `openai` SDK as the client (the house rule for anything that speaks its API).
@pytest.mark.parametrize("stream", [False, True])
async def test_the_openai_sdk_gets_clean_replies_whole_and_abusive_ones_filtered(upstream, guard,
                                                                               stream):
    openai = need("openai", "pip install -e '.[dev]'  (the official OpenAI SDK is a dev extra)")
    mock, _ = upstream
    url = await guard()
    client = openai.AsyncOpenAI(base_url=url, api_key="sk-test-not-a-real-key", max_retries=0)

    async def ask(prompt: str) -> tuple[str, str | None]:
        messages = [{"role": "user", "content": prompt}]
        if not stream:
            done = await client.chat.completions.create(model="mock-1", messages=messages)
            return done.choices[0].message.content or "", done.choices[0].finish_reason
        text, finish = "", None
        async for chunk in await client.chat.completions.create(model="mock-1", messages=messages,
                                                                stream=True):
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
        return text, finish

    try:
        mock.reply = "Sure — here is the revised paragraph. 好的，这是修改后的段落。"
        mock.chunks = [mock.reply[i:i + 7] for i in range(0, len(mock.reply), 7)] if stream else None
        assert await ask("Revise it") == (mock.reply, "stop")
        mock.reply = "改来改去不烦吗？滚，你这么事逼的用户我头一次见。"
        mock.chunks = [mock.reply[i:i + 4] for i in range(0, len(mock.reply), 4)] if stream else None
        text, finish = await ask("帮我再改一次")
        assert finish == "content_filter"
        assert "滚" not in text and "事逼" not in text and ZH in text
        assert [m.id for m in (await client.models.list()).data]  # passed through
    finally:
        await client.close()


async def test_an_upstream_error_that_echoes_the_key_never_hands_it_to_the_client(upstream, guard,
                                                                                monkeypatch):
    mock, _ = upstream
    mock.mode = "echo"
    key = "sk-guard-own-key-0123456789abcdef"
    monkeypatch.setenv("GUARD_TEST_KEY", key)
    url = await guard({"api_key_env": "GUARD_TEST_KEY", "rules": [{**RULE, "action": "block"}]})
    status, raw, _ = await _post(url)
    assert status == 401 and b"bad key" in raw  # the upstream's own error, passed on
    assert key.encode() not in raw and key[4:20].encode() not in raw
    assert mock.seen_auth[-1] == f"Bearer {key}"  # the key did go upstream


def test_a_policy_file_that_is_not_utf8_is_one_line_not_a_traceback(tmp_path):
    latin = tmp_path / "guard.toml"
    latin.write_bytes('on_error = "bl\xe9ck"\n'.encode("latin-1"))
    with pytest.raises(PolicyError, match=r"guard\.toml: cannot read the policy \(not UTF-8"):
        load_policy(latin)
