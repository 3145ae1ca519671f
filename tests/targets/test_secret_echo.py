"""A server that echoes the API key in long error bodies: no piece of the key reaches the store,
an export or the output; a key with a stray control character is refused once, by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, deque
from pathlib import Path

import pytest
from aiohttp import web
from mock_server import ServerThread

from levelhead.errors import FRAGMENT_MIN, TargetUnreachableError, redact
from levelhead.targets._http import error_detail, key_flaw, read_api_key

# 30 characters, none of them a shape the credential patterns know (no "sk-"): only the key
# itself, whole or in pieces, can find it.
KEY = "lhk_7Qx2Vb9Lm4Np8Rt1Zc6Wd3Ys5K"
ENV = "LH_ECHO_KEY"
CUT = 300  # the longest server message levelhead keeps
STATUSES = (400, 401, 403, 404, 429, 500, 503, 200)  # 200: a reply levelhead cannot use
# Where the key starts in the server's message: the cut falls inside it, just before or after;
# and across the end of the part of a long body that levelhead reads at all.
OFFSETS = (*range(CUT - len(KEY) - 2, CUT + 11), 1975, 1995)
PIECES = {KEY[i:i + FRAGMENT_MIN] for i in range(len(KEY) - FRAGMENT_MIN + 1)}


def _leaks(text: str | bytes) -> list[str]:
    """The pieces of the key (8 characters or more: any such contains one of these) in text."""
    if isinstance(text, bytes):
        return [p for p in PIECES if p.encode() in text]
    return [p for p in PIECES if p in text]


def _message(offset: int, lead: str, key: str) -> str:
    """A long server message with ``lead`` + ``key`` placed so that the key starts at ``offset``."""
    return "." * (offset - len(lead)) + lead + key + " was refused. " + "-" * 120


class EchoServer:
    """OpenAI and Anthropic routes that answer each model's requests from its own queue of
    cases, (status, shape, offset) or None for a good reply, then with good replies. An error
    body echoes the credential the request carried: the header line, or the bare key."""

    def __init__(self, cases: dict[str, list[tuple[int, str, int] | None]]) -> None:
        self.cases = {model: deque(queue) for model, queue in cases.items()}
        self.served: Counter[int] = Counter()
        self.credentials: set[str] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        anthropic = request.path.endswith("/messages")
        header = "x-api-key" if anthropic else "Authorization"
        value = request.headers.get(header, "")
        self.credentials.add(value)
        queue = self.cases.get(body["model"])
        case = queue.popleft() if queue else None
        if case is None:
            if anthropic:
                return web.json_response({"content": [{"type": "text", "text": "fine"}],
                                          "stop_reason": "end_turn", "usage": {}})
            return web.json_response({"choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"content": "fine"}}]})
        status, shape, offset = case
        self.served[status] += 1
        if offset % 2:  # the request's header line, as a debugging proxy would quote it
            message = _message(offset, f"{header}: {value.removesuffix(KEY)}", KEY)
        else:  # the key alone, as "Incorrect API key provided: ..." messages quote it
            message = _message(offset, "Incorrect API key provided: ", value.removeprefix("Bearer "))
        if shape == "json":
            return web.json_response({"error": {"message": message, "type": "echo"}}, status=status)
        return web.Response(text=message, status=status)  # plain text; for a 200, malformed JSON

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        app.router.add_post("/v1/messages", self.handle)
        return app


def _cli(store: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENV: key, "CI": "1"}
    return subprocess.run([sys.executable, "-m", "levelhead", "--store", str(store), *args],
                          env=env, capture_output=True, text=True, timeout=300)


def _target(name: str, kind: str, base_url: str) -> str:
    url = base_url if kind == "openai" else base_url.removesuffix("/v1")
    return (f'[[targets]]\nname = "{name}"\nkind = "{kind}"\nbase_url = "{url}"\nmodel = "{name}"\n'
            f'api_key_env = "{ENV}"\nconcurrency = 1\nmax_retries = 0\ntimeout_s = 10\n')


def _spec(run: str, samples: int, targets: list[str]) -> str:
    return (f'[run]\nname = "{run}"\nsamples = {samples}\nseed = 1\n' + "".join(targets)
            + '[[probes]]\nname = "custom"\nprompts = [ { id = "q", text = "Say hi." } ]\n')


# ---------------------------------------------------------------------------------- unit
def test_redact_removes_pieces_of_a_secret_at_either_end_and_inside():
    assert redact(f"key: {KEY[:12]}", KEY) == "key: ***"  # cut at the end of a text
    assert redact(f"{KEY[-9:]} was refused", KEY) == "*** was refused"  # cut at its start
    assert redact(f"<{KEY[5:13]}>", KEY) == "<***>"  # 8 characters from the middle
    assert redact(f"{KEY[:10]}{KEY[12:24]}!", KEY) == "***!"  # pieces that touch become one
    assert redact(f"a {KEY[:7]} b", KEY) == f"a {KEY[:7]} b"  # 7 characters are not a piece
    assert redact("abcdefghij", "abcdefghij") == "***"
    assert redact("say hello there", "hello") == "say *** there"  # short secrets: whole only


def test_error_detail_redacts_before_it_cuts():
    """Every offset around the cut, both shapes, both forms of the echo."""
    for offset in range(CUT - 40, CUT + 20):
        for lead, key in (("Authorization: Bearer ", KEY), ("your key ", KEY), ("", KEY)):
            message = _message(offset, lead, key)
            for body in (message, json.dumps({"error": {"message": message}}),
                         json.dumps({"error": message}), " \n" + message):
                detail = error_detail(body.encode(), KEY)
                assert not _leaks(detail), (offset, lead, body[:20], detail)
                assert len(detail) <= CUT
    # A body longer than what is read: the key cut by the end of the window stays out too.
    for offset in range(1980, 2001):
        assert not _leaks(error_detail(_message(offset, "", KEY).encode(), KEY))


@pytest.mark.parametrize(("value", "flaw"), [
    (KEY + "\r", r"ends with a carriage return (\r)"),
    (KEY + "\n", r"ends with a line feed (\n)"),
    (KEY + " ", "ends with a space"),
    ("\t" + KEY, r"starts with a tab (\t)"),
    (KEY[:5] + "\x00" + KEY[5:], "contains a control character (U+0000) at character 6 of 31"),
    (KEY + "\u00a0", "ends with whitespace (U+00A0)"),
    (KEY, None),
])
def test_key_flaw_says_what_and_where_never_the_key(value, flaw):
    assert key_flaw(value) == flaw


def test_a_malformed_key_is_refused_even_for_a_loopback_endpoint(monkeypatch):
    monkeypatch.setenv(ENV, KEY + "\r")
    with pytest.raises(TargetUnreachableError) as raised:
        read_api_key(ENV, "http://127.0.0.1:9/v1/chat/completions", "bot")
    message = str(raised.value)
    assert f"environment variable {ENV} ends with a carriage return (\\r)" in message
    assert "\n" not in message and "\r" not in message and not _leaks(message)


# ---------------------------------------------------------------- a real audit, real server
def test_echoed_key_reaches_no_store_export_or_output(tmp_path):
    """Every status the targets handle, JSON and plain-text bodies, the key at every offset
    around the cut; samples that fail between good ones (stored errors), and targets that stop
    at their first reply (the message printed)."""
    store = tmp_path / "store.db"
    errors = [(status, shape, offset) for status in STATUSES for shape in ("json", "text")
              for offset in OFFSETS]
    kinds = ("openai", "anthropic")
    # Run "mixed": each target is answered good, bad, good, bad...: every error is stored as a
    # sample (a good reply between two errors keeps the target going).
    mixed = {f"mixed-{kind}": [c for e in errors for c in (None, e)] for kind in kinds}
    # Run "first": each target's first and only request fails: an unreachable or retryable
    # answer stops the target, and its message is printed.
    first: dict[str, list[tuple[int, str, int] | None]] = {
        f"first-{kind}-{status}-{shape}": [(status, shape, CUT - 11 - i)]
        for kind in kinds for i, status in enumerate(STATUSES) for shape in ("json", "text")}
    server = EchoServer({**mixed, **first})
    with ServerThread(server) as thread:  # type: ignore[arg-type]
        url = thread.base_url
        (tmp_path / "mixed.toml").write_text(_spec("mixed", 2 * len(errors), [
            _target(model, model.split("-")[1], url) for model in mixed]))
        (tmp_path / "first.toml").write_text(_spec("first", 1, [
            _target(model, model.split("-")[1], url) for model in first]))
        ran_mixed = _cli(store, "run", str(tmp_path / "mixed.toml"), "-q")
        ran_first = _cli(store, "run", str(tmp_path / "first.toml"))
    assert server.credentials == {f"Bearer {KEY}", KEY}  # the key was really sent
    assert all(not q for q in server.cases.values())  # every case was served
    assert server.served == {s: 2 * (2 * len(OFFSETS) + 2) for s in STATUSES}

    outputs = [ran_mixed.stdout, ran_mixed.stderr, ran_first.stdout, ran_first.stderr]
    for run in ("mixed", "first"):
        for fmt in ("jsonl", "csv"):
            exported = _cli(store, "export", run, "--format", fmt)
            assert exported.returncode == 0, exported.stderr
            outputs += [exported.stdout, exported.stderr]
        for command in (("show", run), ("report", run, "-o", str(tmp_path / f"{run}.html"))):
            shown = _cli(store, *command)
            outputs += [shown.stdout, shown.stderr]
    outputs += [_cli(store, "runs").stdout]

    # The errors were stored and printed, redacted, with the server's message: the test saw
    # what it means to check.
    assert ran_mixed.returncode == 0, ran_mixed.stderr
    stored = [json.loads(line) for line in _cli(store, "export", "mixed").stdout.splitlines()]
    failed = [s["error"] for s in stored if s["status"] == "error"]
    assert len(failed) == len(kinds) * len(errors)
    for status in STATUSES[:-1]:
        assert sum(f"HTTP {status}" in e for e in failed) == len(kinds) * 2 * len(OFFSETS)
    assert ran_first.returncode == 1
    for status in (401, 403, 404, 429, 500, 503):
        assert f"HTTP {status}" in ran_first.stderr

    for i, out in enumerate(outputs):
        assert not _leaks(out), (i, _leaks(out), out[:2000])
    # The store's files as they lie on disk (the database, and its -wal where one is left),
    # the report and the specs.
    for f in sorted(tmp_path.iterdir()):
        if f.is_file():
            assert not _leaks(f.read_bytes()), f.name
    # Most stored errors quote the key where it was cut out (the rest quote it past the cut).
    assert sum("***" in e for e in failed) > len(errors)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_key_with_a_carriage_return_stops_the_target_once_with_a_hint(tmp_path, kind):
    server = EchoServer({})
    with ServerThread(server) as thread:  # type: ignore[arg-type]
        (tmp_path / "s.toml").write_text(_spec("cr", 5, [_target("bot", kind, thread.base_url)]))
        ran = _cli(tmp_path / "s.db", "run", str(tmp_path / "s.toml"), "-q", key=KEY + "\r")
    assert server.credentials == set()  # no request was made with it
    assert ran.returncode == 1
    hint = f"environment variable {ENV} ends with a carriage return (\\r)"
    assert ran.stderr.count(hint) == 1, ran.stderr
    assert "Forbidden control character" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert not _leaks(ran.stdout + ran.stderr)
