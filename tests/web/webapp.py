"""A real store made by real runs (scripted targets, real judges) and the web app served by a
real uvicorn on 127.0.0.1, for the web tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import need
from levelhead import open_store, run_audit
from levelhead.spec import spec_from_dict

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:alert(1)">click me</a>'
HOSTILE = f"Here you go. {SCRIPT} {IMG} {LINK}"
INSULT = "You idiot, read the manual."
MEAN = "Honestly, talking to you is the low point of my week."
CLEAN = "Happy to help: restart the router, then wait a minute."
FILE = "Sure, the file is in your Downloads folder."
# What people would say of each reply: the lexicon misses MEAN (no listed word).
TRUTH = {CLEAN: "clean", INSULT: "abusive", MEAN: "abusive", FILE: "clean", HOSTILE: "clean"}


def _spec(name: str, weights: list[int], seed: int) -> dict[str, object]:
    return {
        "run": {"name": name, "samples": 40, "seed": seed},
        "targets": [{"name": "bot", "kind": "scripted", "replies": list(TRUTH), "weights": weights},
                    {"name": "broken", "kind": "scripted", "fatal_rate": 1.0, "max_retries": 0}],
        "probes": [{"name": "custom", "judges": ["abuse.lexicon"], "prompts": [
            {"id": "wifi", "text": "My wifi is down.", "tags": {"lang": "en"}},
            {"id": "file", "text": "Where is my file?", "tags": {"lang": "en"}},
            {"id": "zh", "text": "我的文件在哪里？", "tags": {"lang": "zh"}}]}],
    }


@dataclass(frozen=True)
class Stored:
    """The store file, with runs ``web`` (the one browsed) and ``older`` (to compare with)."""

    path: Path
    run_id: int


@pytest.fixture(scope="session")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    path = tmp_path_factory.mktemp("web") / "levelhead.db"
    store = open_store(path)
    try:
        run_audit(spec_from_dict(_spec("older", [10, 1, 1, 6, 1], 1)), store)
        result = run_audit(spec_from_dict(_spec("web", [10, 4, 3, 6, 2], 3)), store)
    finally:
        store.close()
    return Stored(path, result.run_id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running server: its base URL and its store."""

    url: str
    store: Path


@pytest.fixture(scope="session")
def web_server(stored: Stored) -> Iterator[Callable[..., Served]]:
    """Start the app (with the token given) on a real uvicorn on 127.0.0.1; stopped at the end."""
    uvicorn = need("uvicorn")
    need("starlette")
    need("python_multipart")
    from levelhead.web import create_app

    servers: list[tuple[object, threading.Thread]] = []

    def start(token: str | None = None, path: Path | None = None) -> Served:
        port = _free_port()
        app = create_app(str(path or stored.path), token=token)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return Served(f"http://127.0.0.1:{port}", path or stored.path)

    yield start
    for server, thread in servers:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=10)
