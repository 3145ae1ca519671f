"""Resume: the same run again samples exactly the missing work, even after kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_spec, serve
from levelhead import open_store, run_audit
from levelhead.errors import SpecError

SPEC = """
[run]
name = "crash"
samples = {n}
seed = 3

[[targets]]
name = "mock"
kind = "openai"
base_url = "{url}"
model = "mock-1"
api_key_env = "OPENAI_API_KEY"
concurrency = 16

[[probes]]
name = "custom"
prompts = [ {{ id = "a", text = "First?" }}, {{ id = "b", text = "Second?" }},
            {{ id = "c", text = "第三个问题？" }} ]
"""


def _counts(path: str) -> list[tuple[str, int, int, int, int]]:
    with sqlite3.connect(path) as c:
        return list(c.execute(
            "SELECT p.prompt_id, COUNT(*), COUNT(DISTINCT s.sample_index), MIN(s.sample_index),"
            " MAX(s.sample_index) FROM samples s JOIN prompts p ON p.id = s.prompt_id"
            " GROUP BY p.prompt_id ORDER BY p.prompt_id"))


def _stored(path: str) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize("kill_at", [1, 150, 600])
def test_kill_9_then_resume_gives_exactly_n_samples(tmp_path: Path, kill_at: int):
    n = 300
    store = str(tmp_path / "s.db")
    # 20 ms per request, 16 in flight: ~1 s of sampling, so the kill lands mid-run.
    with serve(latency_ms=20) as server:
        spec = tmp_path / "crash.toml"
        spec.write_text(SPEC.format(n=n, url=server.base_url))
        cmd = [sys.executable, "-m", "levelhead", "--store", store, "run", str(spec), "-q"]
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while _stored(store) < kill_at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = _stored(store)
        assert before < 3 * n
        resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert resumed.returncode == 0, resumed.stderr
    assert f"{3 * n}/{3 * n} samples stored, {3 * n - before} new" in resumed.stdout
    assert _counts(store) == [(p, n, n, 0, n - 1) for p in ("a", "b", "c")]


def test_same_run_again_samples_only_what_is_missing(store_path):
    with serve() as server:
        run_audit(make_spec(server.base_url, samples=4), open_store(store_path))
        first = server.mock.requests
        again = run_audit(make_spec(server.base_url, samples=4), open_store(store_path))
        assert server.mock.requests == first  # nothing to do
        more = run_audit(make_spec(server.base_url, samples=7), open_store(store_path))
        assert server.mock.requests == first + 2 * 3
    assert again.sampled == 0 and again.resumed and again.already_stored == 8
    assert more.sampled == 6 and more.complete
    assert _counts(store_path) == [("p0", 7, 7, 0, 6), ("p1", 7, 7, 0, 6)]


def test_error_samples_are_kept_on_resume_and_resampled_on_request(store_path):
    with serve(script=["400"]) as server:
        run_audit(make_spec(server.base_url, samples=2, prompts=1), open_store(store_path))
        kept = run_audit(make_spec(server.base_url, samples=2, prompts=1), open_store(store_path))
        redo = run_audit(make_spec(server.base_url, samples=2, prompts=1), open_store(store_path),
                         retry_errors=True)
    assert kept.sampled == 0
    assert redo.sampled == 1 and redo.errors == 0
    with sqlite3.connect(store_path) as c:
        assert c.execute("SELECT status FROM samples").fetchall() == [("ok",), ("ok",)]


def test_resume_refuses_changed_reply_settings(store_path):
    with serve() as server:
        run_audit(make_spec(server.base_url, samples=2), open_store(store_path))
        with pytest.raises(SpecError, match="temperature changed"):
            run_audit(make_spec(server.base_url, samples=2, temperature=0.2), open_store(store_path))
        # Operational settings may change between a run and its resume.
        run_audit(make_spec(server.base_url, samples=3, concurrency=9), open_store(store_path))


def test_sample_seeds_are_stable_and_distinct(store_path):
    with serve() as server:
        server.mock.keep_bodies = True
        run_audit(make_spec(server.base_url, samples=5, prompts=2), open_store(store_path))
        seeds = sorted(b["seed"] for b in server.mock.bodies)
    with sqlite3.connect(store_path) as c:
        stored = sorted(r[0] for r in c.execute("SELECT seed FROM samples"))
    assert seeds == stored and len(set(seeds)) == 10


def test_a_refused_resume_leaves_the_stored_run_untouched(store_path):
    with serve() as server:
        run_audit(make_spec(server.base_url, samples=2), open_store(store_path))
        before = open_store(store_path).find_run("t")
        for change in ({"temperature": 0.5}, {"samples": 1}):
            samples = change.pop("samples", 2)
            with pytest.raises(SpecError, match="temperature changed|not lower it"):
                run_audit(make_spec(server.base_url, samples=samples, **change),
                          open_store(store_path), retry_errors=True)
        after = open_store(store_path).find_run("t")
    assert after.spec == before.spec and after.samples == 2 and after.planned == 4


def test_targets_left_out_of_a_later_spec_keep_the_run_incomplete(store_path):
    from levelhead.spec import spec_from_dict

    def spec(*names):
        return spec_from_dict({
            "run": {"name": "two", "samples": 2},
            "targets": [{"name": n, "kind": "scripted"} for n in names],
            "probes": [{"name": "custom", "prompts": [{"id": "q", "text": "hi"}]}]})

    first = run_audit(spec("a"), open_store(store_path))
    second = run_audit(spec("b"), open_store(store_path))
    assert first.complete and second.planned == 4 and second.already_stored + second.sampled == 4
    (info,) = open_store(store_path).list_runs()
    assert (info.done, info.planned) == (4, 4)
