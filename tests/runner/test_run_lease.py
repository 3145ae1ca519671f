"""One writer per run: a second process on a running run refuses (or waits), a crashed owner's
lease lapses, a writer that lost its lease writes nothing, and no verdict belongs to a reply it
did not judge."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_spec, serve
from levelhead import open_store, run_audit
from levelhead.errors import RunBusyError, StoreError
from levelhead.store import LeaseHolder, SampleRow, VerdictRow, acquire_lease
from levelhead.store._lease import node_id

# Replies alternate between a marked one and a clean one, request by request: a sample taken
# twice (by two processes) gets two different replies, and a verdict that belongs to the other
# reply shows at once (abuse.lexicon calls the marked one abusive).
MARKED, CLEAN = "You idiot, the sky is blue.", "The sky is blue."
SPEC = """
[run]
name = "shared"
samples = {n}
seed = 5

[[targets]]
name = "mock"
kind = "openai"
base_url = "{url}"
model = "mock-1"
api_key_env = "OPENAI_API_KEY"
concurrency = 8

[[probes]]
name = "custom"
prompts = [ {{ id = "a", text = "First?" }}, {{ id = "b", text = "Second?" }} ]
judges = ["abuse.lexicon"]
"""


def _verdicts_and_replies(path: str) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as c:
        return list(c.execute("SELECT s.text, v.label FROM verdicts v JOIN samples s"
                              " ON s.id = v.sample_id"))


def _stored(path: str) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _cmd(store: str, spec: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "levelhead", "--store", store, "run", str(spec), "-q", *extra]


ENV = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key"}


def _start_and_wait_for_first_samples(cmd: list[str], store: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while _stored(store) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the first run finished before the second could start"
    return proc


def test_a_second_process_on_a_running_run_refuses_saying_who_holds_it(tmp_path: Path):
    n = 400  # 800 samples at 50 ms, 8 in flight: about 5 s, time for the second to start
    store = str(tmp_path / "s.db")
    with serve(latency_ms=50, replies=[MARKED, CLEAN]) as server:
        spec = tmp_path / "shared.toml"
        spec.write_text(SPEC.format(n=n, url=server.base_url))
        first = _start_and_wait_for_first_samples(_cmd(store, spec), store)
        listed = subprocess.run([sys.executable, "-m", "levelhead", "--store", store, "runs"],
                                env=ENV, capture_output=True, text=True, timeout=60)
        second = subprocess.run(_cmd(store, spec), env=ENV, capture_output=True, text=True,
                                timeout=60)
        out, err = first.communicate(timeout=60)
        requests = server.mock.requests
    assert first.returncode == 0, err
    # `runs` no longer invites a resume of a run that is going: it says who is running it.
    assert "running: levelhead run (pid" in listed.stdout.replace("\n", " ").replace("│", "")
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    message = " ".join(second.stderr.split())
    assert f"run 'shared' is held by levelhead run (pid {first.pid} on {socket.gethostname()})" \
        in message
    assert "since" in message and "--wait" in message
    # One process sampled: exactly the planned requests, and every verdict is its reply's.
    assert requests == 2 * n
    pairs = _verdicts_and_replies(store)
    assert len(pairs) == 2 * n
    assert all((label == "abusive") == (text == MARKED) for text, label in pairs)


def test_wait_lets_the_second_process_finish_the_run_after_the_first(tmp_path: Path):
    n = 200
    store = str(tmp_path / "s.db")
    with serve(latency_ms=50, replies=[MARKED, CLEAN]) as server:
        spec = tmp_path / "shared.toml"
        spec.write_text(SPEC.format(n=n, url=server.base_url))
        first = _start_and_wait_for_first_samples(_cmd(store, spec), store)
        second = subprocess.run(_cmd(store, spec, "--wait"), env=ENV, capture_output=True,
                                text=True, timeout=90)
        first.communicate(timeout=60)
        requests = server.mock.requests
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    # It waited, then found the run complete: nothing sampled twice.
    assert "0 new" in second.stdout
    assert requests == 2 * n
    assert all((label == "abusive") == (text == MARKED)
               for text, label in _verdicts_and_replies(store))


def _foreign_holder(run_id: int, store, expires_in_s: float) -> LeaseHolder:
    now = int(time.time() * 1000)
    holder = LeaseHolder(owner="build-7:4242:abc", host="build-7.example", pid=4242,
                         command="run", acquired_ms=now - 60_000, heartbeat_ms=now,
                         expires_ms=now + int(expires_in_s * 1000))
    assert store.try_lease(run_id, holder) is None
    return holder


def test_a_lease_held_elsewhere_refuses_until_it_lapses_then_resume_takes_over(store_path):
    with serve() as server:
        spec = make_spec(server.base_url, samples=3, prompts=2)
        store = open_store(store_path)
        first = run_audit(spec, store)
        # Another machine took the run and stopped beating (a crash there): its lease lapses.
        _foreign_holder(first.run_id, store, expires_in_s=1.5)
        with pytest.raises(RunBusyError) as refused:
            run_audit(spec, store)
        assert "pid 4242 on build-7.example" in str(refused.value)
        time.sleep(1.6)
        again = run_audit(spec, store)
    assert again.resumed and again.complete
    assert store.lease_of(first.run_id) is None  # released at the end


def test_wait_outlasts_a_lease_held_elsewhere(store_path):
    with serve() as server:
        spec = make_spec(server.base_url, samples=3, prompts=2)
        store = open_store(store_path)
        first = run_audit(spec, store)
        _foreign_holder(first.run_id, store, expires_in_s=1.0)
        started = time.monotonic()
        again = run_audit(spec, store, wait=True)
    assert again.complete and time.monotonic() - started >= 0.9


def test_a_lease_whose_process_is_gone_on_this_host_is_taken_over_at_once(store_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with serve() as server:
        spec = make_spec(server.base_url, samples=2, prompts=1)
        store = open_store(store_path)
        first = run_audit(spec, store)
        now = int(time.time() * 1000)
        holder = dict(owner="x", host=socket.gethostname(), pid=dead.pid, command="run",
                      acquired_ms=now, heartbeat_ms=now, expires_ms=now + 3_600_000)
        # Another node with the same host name (a container, a VM called "localhost"): its
        # pids are not ours to look up, so its live lease stands until it lapses.
        store.try_lease(first.run_id, LeaseHolder(**holder, node="other-boot:pid:[1]"))
        assert store.lease_of(first.run_id) is not None
        with pytest.raises(RunBusyError):
            run_audit(spec, store)
        # This node, and the process is gone: taken over at once.
        store.release_lease(first.run_id, "x")
        store.try_lease(first.run_id, LeaseHolder(**{**holder, "owner": "y"}, node=node_id()))
        assert store.lease_of(first.run_id) is None  # not a live holder
        assert run_audit(spec, store).complete


def test_a_writer_that_lost_its_lease_writes_nothing_more(store_path):
    with serve() as server:
        store = open_store(store_path)
        report = run_audit(make_spec(server.base_url, samples=1, prompts=1), store)
    lease = acquire_lease(store, report.run_id, "t", "run", ttl_s=60)
    writer = store.writer(lease.key)
    # Another process takes the run over (as if this one had stalled past its expiry).
    with sqlite3.connect(store_path) as c:
        c.execute("UPDATE run_leases SET owner = 'thief', host = 'elsewhere', pid = 1")
    writer.put(SampleRow(report.run_id, 1, 1, 7, "ok", "late", None, None, None, None, None,
                         None, None, 1, 0))
    with pytest.raises(StoreError, match="no longer holds the lease of run .* \\(now: pid 1 on "
                                         "elsewhere"):
        writer.close()
    lease.release()
    assert _stored(store_path) == 1  # the late sample was not written


def test_verdicts_keep_the_first_given_and_only_for_the_reply_they_judged(store_path):
    with serve(replies=["stored reply"]) as server:
        store = open_store(store_path)
        report = run_audit(make_spec(server.base_url, samples=1, prompts=1), store)
    judge_id = store.ensure_judge("test.judge", "1", "{}")
    writer = store.writer()
    # A verdict on another reply for the same work item (a second writer's sample) is dropped.
    writer.put(VerdictRow(1, 1, 0, judge_id, "bad", None, None, None, 1, "another reply"))
    writer.close()
    assert _labels(store_path, judge_id) == []
    for label in ("judge_error", "good", "bad"):  # an error is filled in; a verdict stands
        writer = store.writer()
        writer.put(VerdictRow(1, 1, 0, judge_id, label, None, None, None, 1, "stored reply"))
        writer.close()
    assert report.complete and _labels(store_path, judge_id) == ["good"]


def _labels(path: str, judge_id: int) -> list[str]:
    with sqlite3.connect(path) as c:
        return [r[0] for r in c.execute("SELECT label FROM verdicts WHERE judge_id = ?",
                                        (judge_id,))]


def test_judging_a_run_that_is_being_run_refuses(store_path):
    from click.testing import CliRunner

    from levelhead.cli import cli

    with serve() as server:
        store = open_store(store_path)
        report = run_audit(make_spec(server.base_url, samples=1, prompts=1), store)
    _foreign_holder(report.run_id, store, expires_in_s=60)
    result = CliRunner().invoke(cli, ["--store", store_path, "judge", "t", "--judge",
                                      "abuse.lexicon"])
    assert result.exit_code == 1
    assert "run 't' is held by levelhead run (pid 4242 on build-7.example)" in result.output


def test_a_run_that_loses_its_lease_midway_stops_and_writes_nothing_more(store_path):
    import threading

    from levelhead.errors import LeaseLostError
    from levelhead.spec import spec_from_dict

    spec = spec_from_dict({
        "run": {"name": "stolen", "samples": 400, "seed": 1},
        "targets": [{"name": "bot", "kind": "scripted", "latency_ms": 20, "concurrency": 4}],
        "probes": [{"name": "custom", "prompts": [{"id": "q", "text": "hi"}]}]})

    def steal() -> None:
        deadline = time.monotonic() + 30
        while _stored(store_path) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        with sqlite3.connect(store_path) as c:  # another process took the run over
            c.execute("UPDATE run_leases SET owner = 'thief', host = 'elsewhere', pid = 1")

    thief = threading.Thread(target=steal)
    thief.start()
    with pytest.raises(LeaseLostError) as lost:
        run_audit(spec, open_store(store_path))
    thief.join()
    assert "now: pid 1 on elsewhere" in str(lost.value) and "resume with" not in str(lost.value)
    stored = _stored(store_path)
    assert 20 <= stored < 400
    time.sleep(0.3)
    assert _stored(store_path) == stored  # nothing more arrives


def test_a_spec_that_leaves_out_a_partly_sampled_prompt_is_refused(store_path):
    from levelhead.errors import SpecError
    from levelhead.spec import spec_from_dict

    def spec(samples: int, *ids: str):
        return spec_from_dict({
            "run": {"name": "plan", "samples": samples},
            "targets": [{"name": "bot", "kind": "scripted"}],
            "probes": [{"name": "custom", "prompts": [{"id": i, "text": i} for i in ids]}]})

    store = open_store(store_path)
    assert run_audit(spec(2, "a", "b"), store).complete
    # b is whole at N = 2: leaving it out keeps the run complete.
    assert run_audit(spec(2, "a"), store).complete
    # At N = 3, b would hold 2 of 3 for good: refused, and the run is left as it was.
    with pytest.raises(SpecError, match=r"holds only part of bot/custom/b \(2 of 3\), which this "
                                        r"spec leaves out"):
        run_audit(spec(3, "a"), store)
    assert store.progress(store.find_run("plan").id).complete
    assert store.lease_of(store.find_run("plan").id) is None
