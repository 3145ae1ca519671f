"""``levelhead serve`` as a person starts it: a real process; on a host other than 127.0.0.1 it
asks every request for a token (made and printed once, or from LEVELHEAD_SERVE_TOKEN); the core
import never loads the web stack."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from webapp import Stored, stored  # noqa: F401

from conftest import need

LEVELHEAD = str(Path(sys.executable).with_name("levelhead"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def _start(store: Path, host: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    need("uvicorn")
    port = _port()
    proc = subprocess.Popen([LEVELHEAD, "--store", str(store), "serve", "--host", host, "--port",
                             str(port)], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return proc, url
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "levelhead serve did not start"
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    return err


def test_a_non_local_host_makes_a_token_prints_it_once_and_asks_every_request(
        stored: Stored) -> None:  # noqa: F811
    # loopback, but not 127.0.0.1; an empty variable is no token
    proc, url = _start(stored.path, "127.0.0.2", {"LEVELHEAD_SERVE_TOKEN": ""})
    try:
        assert _status(url + "/") == 401
        assert _status(url + "/static/levelhead.js") == 401
    finally:
        err = _stop(proc)
    token = re.search(r"\?token=([\w-]+)", err).group(1)  # type: ignore[union-attr]
    assert len(token) >= 24 and err.count(token) == 1


def test_the_token_can_come_from_the_environment_and_is_never_logged(stored: Stored) -> None:  # noqa: F811
    proc, url = _start(stored.path, "127.0.0.2", {"LEVELHEAD_SERVE_TOKEN": "from-the-env-123"})
    try:
        assert _status(url + "/") == 401
        assert _status(url + "/", {"Authorization": "Bearer from-the-env-123"}) == 200
        assert _status(url + "/?token=from-the-env-123") == 200  # via the cookie redirect
    finally:
        err = _stop(proc)
    assert "from-the-env-123" not in err


def test_127_0_0_1_needs_no_token(stored: Stored) -> None:  # noqa: F811
    proc, url = _start(stored.path, "127.0.0.1", {"LEVELHEAD_SERVE_TOKEN": ""})
    try:
        assert _status(url + "/") == 200
    finally:
        err = _stop(proc)
    assert "token" not in err


def test_the_core_import_does_not_load_the_web_stack() -> None:
    code = ("import sys, levelhead, levelhead.cli; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'levelhead.web') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_short_token_is_refused_before_anything_listens(stored: Stored,  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from levelhead.cli import cli

    monkeypatch.setenv("LEVELHEAD_SERVE_TOKEN", "short")
    result = CliRunner().invoke(cli, ["--store", str(stored.path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "16 characters" in result.output
    assert "short" not in result.output.replace("too short", "")
