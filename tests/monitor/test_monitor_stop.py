"""Stopping `levelhead monitor ingest --follow --workers 2`: a stop signal sent to its whole
process group (a terminal's Ctrl-C, a service manager's SIGTERM) or the ingest killed outright
leaves no process behind: no worker, forkserver or resource tracker holding its stderr open."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="lists a session's processes through /proc")


def _line(i: int) -> str:
    return json.dumps({"id": f"c{i}", "messages": [
        {"role": "user", "content": f"Please revise it ({i})"},
        {"role": "assistant", "content": "Sure, here is the revised text."}]}) + "\n"


def _session(sid: int) -> list[str]:
    """The live processes of session ``sid`` (zombies run nothing and hold nothing open)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        state, _ppid, _group, session = stat[stat.rindex(")") + 2:].split()[:4]
        if int(session) == sid and state != "Z":
            found.append(f"{entry.name} ({state}): {command[:120]}")
    return found


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return int(c.execute("SELECT COUNT(*) FROM monitor_turns").fetchone()[0])
    except sqlite3.OperationalError:  # no store, or no table, yet
        return 0


def _ingesting(tmp_path: Path, *, lines: int, batch: int, stored: int
               ) -> tuple[subprocess.Popen[bytes], threading.Thread, list[bytes]]:
    """The real CLI following a real log with two workers, once ``stored`` turns are stored;
    stderr is a pipe on purpose (a process left over would hold it open), drained by a thread."""
    log, db = tmp_path / "app.jsonl", tmp_path / "m.db"
    log.write_text("".join(_line(i) for i in range(lines)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "levelhead", "--store", str(db), "monitor",
                             "ingest", str(log), "--follow", "--workers", "2",
                             "--batch", str(batch)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stderr is not None
    err: list[bytes] = []
    drain = threading.Thread(target=lambda: err.append(proc.stderr.read()),  # type: ignore[union-attr]
                             daemon=True)
    drain.start()
    deadline = time.monotonic() + 60
    while _stored(db) < stored:
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            drain.join(5)
            pytest.fail(f"ingest did not store the log: {b''.join(err).decode(errors='replace')}")
        time.sleep(0.05)
    return proc, drain, err


def _assert_nothing_left(proc: subprocess.Popen[bytes], drain: threading.Thread,
                         err: list[bytes]) -> str:
    """Within 20 s: the ingest has ended, its stderr is at EOF and its session is empty."""
    try:
        proc.wait(timeout=20)
        drain.join(timeout=20)
        deadline = time.monotonic() + 20
        while (left := _session(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, "left running after the ingest ended:\n" + "\n".join(left)
        assert not drain.is_alive(), "stderr is still held open"
    finally:
        for line in _session(proc.pid):  # never leave them to the next test
            os.kill(int(line.split()[0]), signal.SIGKILL)
    return b"".join(err).decode(errors="replace")


# Idle: the whole log stored, the ingest waiting for more lines. Busy: signalled while the
# workers judge, so the signal reaches them (and their forkserver) before this process can
# shut them down.
@pytest.mark.parametrize(("stop", "lines", "batch", "stored"), [
    (signal.SIGTERM, 60, 10, 60), (signal.SIGINT, 60, 10, 60), (signal.SIGTERM, 30_000, 250, 500)],
    ids=["SIGTERM-idle", "SIGINT-idle", "SIGTERM-busy"])
def test_a_stop_signal_to_the_process_group_ends_every_process_and_closes_stderr(
        tmp_path, stop, lines, batch, stored):
    proc, drain, err = _ingesting(tmp_path, lines=lines, batch=batch, stored=stored)
    assert len(_session(proc.pid)) >= 4  # the ingest, its forkserver and resource tracker, workers
    os.killpg(proc.pid, stop)
    errors = _assert_nothing_left(proc, drain, err)
    assert proc.returncode == 0 and "Traceback" not in errors, errors
    assert "ingested " in errors.splitlines()[-1]
    if lines == stored:
        assert f"ingested {lines} conversations" in errors


def test_an_ingest_killed_outright_leaves_no_worker_behind(tmp_path):
    proc, drain, err = _ingesting(tmp_path, lines=60, batch=10, stored=60)
    os.kill(proc.pid, signal.SIGKILL)  # the ingest alone: its helpers get no signal at all
    _assert_nothing_left(proc, drain, err)
    assert proc.returncode == -signal.SIGKILL


_STARTS_FORKSERVER = """
import sys, time
from levelhead.monitor._ingest import _forkserver_context
sys.stdout.write("go\\n"); sys.stdout.flush()
_forkserver_context()
time.sleep(2)
print("survived", flush=True)
"""


def test_a_stop_signal_sent_while_the_forkserver_starts_is_not_lost():
    # Starting the forkserver takes a few milliseconds; a SIGTERM sent to the ingest then must
    # still stop it (it once set the signal to ignored for that moment, discarding it).
    lost = []
    for delay_ms in (0, 1, 2, 3, 4, 5, 6, 8) * 2:
        child = subprocess.Popen([sys.executable, "-c", _STARTS_FORKSERVER],
                                 stdout=subprocess.PIPE, start_new_session=True)
        try:
            assert child.stdout is not None and child.stdout.readline() == b"go\n"
            time.sleep(delay_ms / 1000)
            os.kill(child.pid, signal.SIGTERM)
            out, _ = child.communicate(timeout=20)
            if b"survived" in out:
                lost.append(delay_ms)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
    assert not lost, f"SIGTERM lost when sent {lost} ms after the forkserver began starting"
