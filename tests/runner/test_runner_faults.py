"""The runner against a real HTTP server that misbehaves: retries, errors stored, fail-fast."""

from __future__ import annotations

import sqlite3
import time

from conftest import make_spec, serve
from levelhead import open_store, run_audit


def _statuses(path: str) -> list[tuple[str, str | None, int]]:
    with sqlite3.connect(path) as c:
        return list(c.execute("SELECT status, error, attempts FROM samples ORDER BY id"))


def test_retryable_faults_are_retried_until_every_sample_succeeds(store_path):
    faults = ["500", "503", "timeout", "badjson", "cut", "429"]
    with serve(script=list(faults), hang_s=3.0, retry_after=0.05) as server:
        spec = make_spec(server.base_url, samples=3, prompts=2, timeout_s=0.5, max_retries=8)
        report = run_audit(spec, open_store(store_path))
        served = server.mock.served
    assert report.complete and report.errors == 0
    rows = _statuses(store_path)
    assert len(rows) == 6 and {r[0] for r in rows} == {"ok"}
    # Each fault cost one extra attempt somewhere; none was counted as a reply.
    assert sum(r[2] for r in rows) == 6 + len(faults)
    assert all(served[f] == 1 for f in faults)


def test_retry_after_is_honoured(store_path):
    with serve(script=["429"], retry_after=0.6) as server:
        spec = make_spec(server.base_url, samples=1, prompts=1, max_backoff_s=5)
        run_audit(spec, open_store(store_path))
        times = server.mock.times
    assert len(times) == 2
    assert times[1] - times[0] >= 0.55


def test_exhausted_retries_store_an_error_sample_with_its_reason(store_path):
    # The first request succeeds, then the server fails every time.
    with serve(script=["ok"], fault_rate={"500": 1.0}) as server:
        spec = make_spec(server.base_url, samples=3, prompts=1, max_retries=2, concurrency=1)
        report = run_audit(spec, open_store(store_path))
        requests = server.mock.requests
    rows = _statuses(store_path)
    assert [r[0] for r in rows] == ["ok", "error", "error"]
    assert all("HTTP 500" in r[1] and "gave up after 3 attempts" in r[1] for r in rows[1:])
    assert requests == 1 + 2 * 3  # 1 + 2 samples x (1 + 2 retries): bounded
    assert report.errors == 2 and report.complete and not report.failed_targets


def test_a_target_failing_from_the_start_is_stopped_not_filled_with_errors(store_path):
    with serve(fault_rate={"503": 1.0}) as server:
        spec = make_spec(server.base_url, samples=50, prompts=4, max_retries=2)
        report = run_audit(spec, open_store(store_path))
        requests = server.mock.requests
    assert _statuses(store_path) == []  # all of it is missing work for a resume
    assert "no request has succeeded yet" in report.failed_targets["mock"]
    assert requests <= 4 * 3  # the workers in flight at most, not 200 samples x 3 attempts


def test_batch_after_batch_failing_stops_the_target(store_path):
    with serve(script=["ok"], fault_rate={"500": 1.0}) as server:
        spec = make_spec(server.base_url, samples=20, prompts=1, max_retries=1, concurrency=1)
        report = run_audit(spec, open_store(store_path))
    assert [r[0] for r in _statuses(store_path)] == ["ok", "error", "error"]
    assert "3 batches in a row" in report.failed_targets["mock"]


def test_bad_request_is_not_retried(store_path):
    with serve(script=["400"]) as server:
        spec = make_spec(server.base_url, samples=1, prompts=1)
        run_audit(spec, open_store(store_path))
        assert server.mock.requests == 1
    (status, error, attempts), = _statuses(store_path)
    assert status == "error" and "HTTP 400" in error and attempts == 1


def test_reply_without_choices_is_an_error_not_a_reply(store_path):
    with serve(script=["nochoice"]) as server:
        run_audit(make_spec(server.base_url, samples=1, prompts=1), open_store(store_path))
    (status, error, _), = _statuses(store_path)
    assert status == "error" and "no choices" in error


def test_unreachable_target_fails_fast_with_url_and_reason(store_path):
    import socket

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    spec = make_spec(url, samples=200, prompts=5, max_retries=5, max_backoff_s=1.0)
    started = time.monotonic()
    report = run_audit(spec, open_store(store_path))
    assert time.monotonic() - started < 5  # not 1,000 samples x retries
    message = report.failed_targets["mock"]
    assert url in message and "cannot connect" in message
    assert _statuses(store_path) == []  # nothing stored: a resume will sample it all
    assert not report.complete


def test_concurrency_is_bounded_per_target(store_path):
    with serve(latency_ms=50) as server:
        spec = make_spec(server.base_url, samples=20, prompts=2, concurrency=5)
        started = time.monotonic()
        run_audit(spec, open_store(store_path))
        elapsed = time.monotonic() - started
        times = sorted(server.mock.times)
    # 40 requests, 5 at a time, 50 ms each: never more than 5 arrive within one latency window.
    assert max(sum(1 for t in times if t0 <= t < t0 + 0.045) for t0 in times) <= 5
    assert elapsed >= 40 / 5 * 0.05 * 0.9


def test_a_malformed_reply_fails_its_sample_not_the_run(store_path):
    with serve(script=["ok", "badcontent"]) as server:
        spec = make_spec(server.base_url, samples=3, prompts=1, concurrency=1)
        report = run_audit(spec, open_store(store_path))
    rows = _statuses(store_path)
    assert [r[0] for r in rows] == ["ok", "error", "ok"]
    assert "content is a int, not text" in rows[1][1]
    assert report.complete and not report.failed_targets


def test_a_redirect_is_reported_with_where_it_points(store_path):
    with serve(script=["redirect"]) as server:
        report = run_audit(make_spec(server.base_url, samples=1, prompts=1), open_store(store_path))
    assert "HTTP 302 redirect to https://elsewhere.example/v1" in report.failed_targets["mock"]


def test_a_retried_tail_while_the_target_still_answers_is_errors_not_a_dead_target(store_path):
    """Under heavy transient faults the last batches of a run are the much-retried ones; that
    they exhaust their retries one after another while other requests succeed says nothing about
    the target being down: they are stored as errors, and the run completes."""
    import asyncio

    from levelhead.errors import RetryableTargetError
    from levelhead.records import Completion
    from levelhead.spec import spec_from_dict
    from levelhead.targets.scripted import ScriptedTarget

    class Flaky(ScriptedTarget):
        """Prompt 'steady' answers after 0.1 s; every other prompt fails after 0.15 s."""

        async def complete(self, messages, *, n=1, seed=None, options=None):
            if "steady" in messages[-1]["content"]:
                await asyncio.sleep(0.1)
                return [Completion("fine", "stop")]
            await asyncio.sleep(0.15)
            raise RetryableTargetError("target 'flaky': HTTP 503")

    spec = spec_from_dict({
        "run": {"name": "tail", "samples": 1, "seed": 1},
        "targets": [{"name": "flaky", "kind": "scripted", "concurrency": 5, "max_retries": 2,
                     "max_backoff_s": 0.01}],
        "probes": [{"name": "custom", "prompts": [
            {"id": "steady", "text": "steady?"},
            *({"id": f"hard{i}", "text": f"hard {i}?"} for i in range(4))]}]})
    target = Flaky(spec.targets[0])
    report = run_audit(spec, open_store(store_path), targets={"flaky": target})
    # Four batches exhausted their retries in a row, each after 'steady' had answered during
    # its retries: the old rule (three in a row) stopped the target and left them missing.
    assert not report.failed_targets
    assert report.complete and report.errors == 4
    rows = _statuses(store_path)
    assert sorted(r[0] for r in rows) == ["error"] * 4 + ["ok"]
    assert all("gave up after 3 attempts" in r[1] for r in rows if r[0] == "error")
