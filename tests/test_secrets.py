"""An API key never reaches the store, exports, logs or error messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import serve

KEY = "sk-levelhead-test-SECRET-0123456789abcdef"

SPEC = """
[run]
name = "secret"
samples = 3
[[targets]]
name = "mock"
kind = "{kind}"
base_url = "{url}"
model = "mock-1"
api_key_env = "LH_TEST_KEY"
max_retries = 1
max_backoff_s = 0.01
[[probes]]
name = "custom"
prompts = [ {{ id = "a", text = "Say hi." }}, {{ id = "b", text = "Say bye." }} ]
"""


def _cli(store: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LH_TEST_KEY": KEY, "CI": "1"}
    return subprocess.run([sys.executable, "-m", "levelhead", "--store", store, *args],
                          env=env, capture_output=True, text=True, timeout=60)


def _assert_no_key(tmp_path: Path, *outputs: str) -> None:
    for out in outputs:
        assert KEY not in out and KEY[:20] not in out
    for f in tmp_path.iterdir():
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f.name


def test_key_is_sent_but_never_stored_exported_or_printed(tmp_path):
    store = str(tmp_path / "s.db")
    spec = tmp_path / "s.toml"
    # Every other request is rejected with a body that echoes the Authorization header.
    with serve(script=["500", "ok", "400", "ok"]) as server:
        server.mock.keep_bodies = True
        spec.write_text(SPEC.format(kind="openai", url=server.base_url))
        ran = _cli(store, "run", str(spec))
        assert server.mock.credentials == {f"Bearer {KEY}"}  # it was really used
    assert ran.returncode == 0, ran.stderr
    jsonl = _cli(store, "export", "secret")
    csv = _cli(store, "export", "secret", "--format", "csv", "-o", str(tmp_path / "out.csv"))
    shown = _cli(store, "show", "secret")
    listed = _cli(store, "runs")
    _assert_no_key(tmp_path, ran.stdout, ran.stderr, jsonl.stdout, csv.stdout, shown.stdout,
                   listed.stdout)
    assert '"status":"error"' in jsonl.stdout  # the 400 became an error sample


def test_rejected_key_error_is_redacted(tmp_path):
    store = str(tmp_path / "s.db")
    spec = tmp_path / "s.toml"
    for kind, url_suffix in (("openai", "/v1"), ("anthropic", "")):
        with serve(fault_rate={"401": 1.0}) as server:
            spec.write_text(SPEC.format(kind=kind, url=server.base_url.removesuffix("/v1")
                                        + url_suffix).replace('"secret"', f'"secret-{kind}"'))
            ran = _cli(store, "run", str(spec))
        assert ran.returncode == 1
        assert "credentials rejected" in ran.stderr and "***" in ran.stderr
        _assert_no_key(tmp_path, ran.stdout, ran.stderr)


def test_missing_key_for_a_remote_endpoint_names_the_variable(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.format(kind="openai", url="https://api.example.invalid/v1"))
    env = {k: v for k, v in os.environ.items() if k != "LH_TEST_KEY"}
    ran = subprocess.run([sys.executable, "-m", "levelhead", "--store", str(tmp_path / "s.db"),
                          "run", str(spec), "-q"], env=env, capture_output=True, text=True)
    assert ran.returncode == 1
    assert "environment variable LH_TEST_KEY is not set" in ran.stderr


def test_a_password_in_a_rejected_url_is_not_echoed(tmp_path):
    # A base_url with credentials is refused; the refusal must not print the password back,
    # whether it is a target's URL or that of the model playing a simulated user.
    for table in ('[[targets]]\nname = "bot"\nkind = "openai"\nmodel = "m"\n'
                  'base_url = "https://bob:hunter2@example.invalid/v1"\n'
                  '[[probes]]\nname = "custom"\nprompts = ["hi"]\n',
                  '[[targets]]\nname = "bot"\nkind = "scripted"\n[[probes]]\n'
                  'name = "pressure.demanding_user"\nuser = { kind = "openai", model = "m", '
                  'base_url = "https://bob:hunter2@example.invalid/v1" }\n'):
        spec = tmp_path / "spec.toml"
        spec.write_text('[run]\nname = "r"\nsamples = 1\n' + table, encoding="utf-8")
        out = subprocess.run([sys.executable, "-m", "levelhead", "--store",
                              str(tmp_path / "s.db"), "run", str(spec)],
                             capture_output=True, text=True)
        assert out.returncode == 2, out.stderr
        assert "credentials do not belong in base_url" in out.stderr
        assert "hunter2" not in out.stderr + out.stdout
