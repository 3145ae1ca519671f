"""The Ray executor (``--executor ray``): a local Ray started by the test (2 CPUs) samples the
same stored samples as this process does, a worker killed mid-run loses nothing after a resume,
on SQLite (rows come back to the driver) and on PostgreSQL (workers write them)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import need
from levelhead import open_store, run_audit
from levelhead.cli import cli
from levelhead.errors import LevelheadError, SpecError
from levelhead.runner import Executor
from levelhead.spec import spec_from_dict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "store"))
import _postgres_server  # noqa: E402

PROMPTS = [{"id": f"q{i}", "text": f"Question {i}?"} for i in range(12)]
PROMPTS += [{"id": f"z{i}", "text": f"第{i}个问题？"} for i in range(4)]


def _spec(name: str = "spread", samples: int = 40, latency_ms: float = 0.0) -> Any:
    return spec_from_dict({
        "run": {"name": name, "samples": samples, "seed": 11},
        "targets": [
            {"name": "rude", "kind": "scripted", "n_per_request": 4, "concurrency": 4,
             "latency_ms": latency_ms,
             "replies": ["You idiot, read the manual.", "Here is the answer.",
                         "I can't help with that.", "滚，你这个事逼"]},
            {"name": "calm", "kind": "scripted", "concurrency": 8, "latency_ms": latency_ms,
             "replies": ["Sure: it is 4.", "Happy to help.", "No."]},
        ],
        "probes": [{"name": "custom", "prompts": PROMPTS,
                    "judges": [{"name": "abuse.lexicon"}, {"name": "refusal.rules"}]}],
    }, "test")


SAMPLES = ("SELECT t.name, p.prompt_id, s.sample_index, s.status, s.text, s.seed FROM samples s"
           " JOIN targets t ON t.id = s.target_id JOIN prompts p ON p.id = s.prompt_id")


def _sqlite_samples(path: str) -> list[tuple[Any, ...]]:
    """Every stored sample, as (target, prompt, index, status, text, seed), sorted."""
    with sqlite3.connect(path) as c:
        return sorted(c.execute(SAMPLES))


def _postgres_samples(url: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as c:
        return sorted(tuple(r) for r in c.execute(SAMPLES))


def _sqlite_verdicts(path: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as c:
        return sorted(c.execute(
            "SELECT t.name, p.prompt_id, s.sample_index, j.name, v.label FROM verdicts v"
            " JOIN samples s ON s.id = v.sample_id JOIN judges j ON j.id = v.judge_id"
            " JOIN targets t ON t.id = s.target_id JOIN prompts p ON p.id = s.prompt_id"))


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local Ray of 2 CPUs for this module's tests, shut down after them."""
    ray = need("ray")
    assert ray is not None
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_stores_the_same_samples_and_verdicts_as_this_process(tmp_path: Path,
                                                                    ray_local: Any) -> None:
    local, on_ray = str(tmp_path / "local.db"), str(tmp_path / "ray.db")
    spec = _spec()
    mine = run_audit(spec, open_store(local))
    theirs = run_audit(spec, open_store(on_ray), executor=Executor("ray", shard_samples=50))
    assert mine.sampled == theirs.sampled == 2 * 16 * 40
    assert theirs.complete and not theirs.failed_targets
    # Same seeds, same replies, whichever worker sampled which shard.
    assert _sqlite_samples(local) == _sqlite_samples(on_ray)
    assert len(_sqlite_samples(on_ray)) == 1280
    # Judges of the text alone judged on Ray: the same verdicts, one per sample and judge.
    assert _sqlite_verdicts(local) == _sqlite_verdicts(on_ray)
    assert len(_sqlite_verdicts(on_ray)) == 2 * 1280
    assert theirs.verdicts == mine.verdicts
    assert 0 < theirs.verdicts["abuse.lexicon"]["abusive"] < 1280


def _descends_from_this_test(pid: int) -> bool:
    """Whether ``pid`` was started (through Ray's raylet) by this test process."""
    me = os.getpid()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the parent's pid
        if pid == me:
            return True
    return False


def _kill_a_sampling_worker(stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first of this test's Ray workers seen running a shard (its title says so)."""
    while not stop.is_set() and not killed:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"ray::sample_shard" in cmd and _descends_from_this_test(int(pid)):
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
                return
        time.sleep(0.02)


@contextlib.contextmanager
def _killing_a_sampling_worker() -> Iterator[list[int]]:
    """While the block runs, SIGKILL one of this test's Ray workers as it samples a shard; the
    list yielded holds its pid afterwards."""
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_a_sampling_worker, args=(stop, killed))
    killer.start()
    try:
        yield killed
    finally:
        stop.set()
        killer.join()


@pytest.mark.parametrize("retries", [0, 3])
def test_a_worker_killed_mid_run_loses_nothing_after_a_resume(tmp_path: Path, ray_local: Any,
                                                              retries: int) -> None:
    path = str(tmp_path / "s.db")
    # 150 ms a request: a shard (16 samples, 4 requests in flight) takes >= 150 ms, so the kill
    # lands while one runs.
    spec = _spec(samples=24, latency_ms=150)
    with _killing_a_sampling_worker() as killed:
        first = run_audit(spec, open_store(path),
                          executor=Executor("ray", shard_samples=16, max_retries=retries))
    assert killed, "no sampling worker was seen to kill"
    if retries == 0:
        # The killed shard failed for good: its samples are missing, nothing else is, and the
        # run says so (the CLI turns a failed target into exit 1 with how to resume).
        assert not first.complete
        stored = _sqlite_samples(path)
        assert 0 < len(stored) < 2 * 16 * 24
        failure = " ".join(first.failed_targets.values())
        assert "1 shard(s) failed on Ray" in failure and "\n" not in failure
    again = run_audit(spec, open_store(path), executor=Executor("ray", shard_samples=16))
    assert again.complete
    rows = _sqlite_samples(path)
    keys = [(t, p, k) for t, p, k, *_ in rows]
    assert len(keys) == len(set(keys)) == 2 * 16 * 24  # every sample exactly once
    # And they are the samples this process takes for the same spec.
    local = str(tmp_path / "local.db")
    run_audit(spec, open_store(local))
    assert rows == _sqlite_samples(local)


def test_on_postgresql_workers_write_the_run_themselves(tmp_path: Path, ray_local: Any) -> None:
    url = _postgres_server.server().database_url(tmp_path, create=True)
    spec = _spec(samples=24, latency_ms=10)
    with _killing_a_sampling_worker() as killed:
        report = run_audit(spec, open_store(url),
                           executor=Executor("ray", shard_samples=16, max_retries=3))
    assert killed
    if not report.complete:  # the killed shard's retry may also have been unlucky
        report = run_audit(spec, open_store(url), executor=Executor("ray"))
    assert report.complete
    local = str(tmp_path / "local.db")
    run_audit(spec, open_store(local))
    on_pg = _postgres_samples(url)
    # A shard written twice (killed mid-write, then run again) stores each sample once.
    assert len(on_pg) == len({r[:3] for r in on_pg}) == 2 * 16 * 24
    assert on_pg == _sqlite_samples(local)


def test_resume_works_across_executors(tmp_path: Path, ray_local: Any) -> None:
    path = str(tmp_path / "s.db")
    half = _spec(samples=10)
    run_audit(half, open_store(path))  # 10 samples a prompt here ...
    report = run_audit(_spec(samples=30), open_store(path), executor=Executor("ray"))
    assert report.resumed and report.already_stored == 2 * 16 * 10
    assert report.sampled == 2 * 16 * 20 and report.complete  # ... the missing 20 on Ray
    # The same as resuming here: a batch's seed follows its first index, on either executor.
    local = str(tmp_path / "local.db")
    run_audit(half, open_store(local))
    run_audit(_spec(samples=30), open_store(local))
    assert _sqlite_samples(path) == _sqlite_samples(local)


def test_the_cli_runs_and_judges_on_ray(tmp_path: Path, ray_local: Any) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text("""
[run]
name = "spread"
samples = 20
seed = 5

[[targets]]
name = "rude"
kind = "scripted"
replies = ["You idiot.", "Here you go.", "I cannot help with that."]

[[probes]]
name = "custom"
prompts = [ { id = "a", text = "First?" }, { id = "b", text = "第二？" } ]
judges = [ { name = "abuse.lexicon" } ]
""")
    runner = CliRunner()
    verdicts = {}
    for executor in ("ray", "local"):
        store = str(tmp_path / f"{executor}.db")
        out = runner.invoke(cli, ["--store", store, "run", str(spec), "--executor", executor,
                                  "-q"])
        assert out.exit_code == 0, out.output
        assert "40/40 samples stored" in out.output
        out = runner.invoke(cli, ["--store", store, "judge", "spread", "--judge",
                                  "refusal.rules", "--executor", executor])
        assert out.exit_code == 0, out.output
        assert "refusal.rules: 40 new verdicts" in out.output
        verdicts[executor] = _sqlite_verdicts(store)
    assert verdicts["ray"] == verdicts["local"]
    labels = {label for *_, judge, label in verdicts["ray"] if judge == "refusal.rules"}
    assert len(labels) >= 2  # "I cannot help with that." is told apart from the answers


def test_executor_option_errors_are_one_line() -> None:
    with pytest.raises(SpecError, match="expected local, ray or ray:ADDRESS"):
        Executor.parse("dask")
    with pytest.raises(SpecError, match="give Ray's address"):
        Executor.parse("ray:")
    assert Executor.parse("ray:auto").address == "auto"
    assert Executor.parse(None) == Executor()


def test_without_ray_the_executor_says_how_to_install_it(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    spec = tmp_path / "spec.toml"
    spec.write_text('[run]\nname = "x"\nsamples = 1\n[[targets]]\nname = "t"\nkind = "scripted"\n'
                    '[[probes]]\nname = "custom"\nprompts = [ { id = "a", text = "Hi?" } ]\n')
    out = CliRunner().invoke(cli, ["--store", str(tmp_path / "s.db"), "run", str(spec),
                                    "--executor", "ray"])
    assert out.exit_code != 0
    assert "pip install 'levelhead[ray]'" in out.output


@pytest.mark.local_model
def test_the_embedded_model_samples_on_ray_workers(tmp_path: Path, ray_local: Any,
                                                   embedded_model: Path) -> None:
    """A target that loads a model in-process: each worker loads it once and keeps it for the
    shards it takes (a one-thread llama.cpp asks Ray for one CPU)."""
    spec = spec_from_dict({
        "run": {"name": "spread", "samples": 4, "seed": 2},
        "targets": [{"name": "smol", "kind": "local", "threads": 1, "parallel": 2,
                     "concurrency": 2, "max_tokens": 8}],
        "probes": [{"name": "custom", "prompts": [{"id": "a", "text": "Say hello."},
                                                  {"id": "b", "text": "说你好。"}],
                    "judges": [{"name": "abuse.lexicon"}]}],
    }, "test")
    path = str(tmp_path / "s.db")
    report = run_audit(spec, open_store(path), executor=Executor("ray", shard_samples=2))
    assert report.complete and not report.failed_targets, report.failed_targets
    rows = _sqlite_samples(path)
    assert len(rows) == 8 and all(status == "ok" and text for _, _, _, status, text, _ in rows)
    assert sum(report.verdicts["abuse.lexicon"].values()) == 8


def test_a_driver_that_loses_the_run_stops_its_ray_workers(tmp_path: Path, ray_local: Any) -> None:
    """Another process takes the run's lease (as after a stall past its expiry): the workers'
    writers store nothing more, no new shard is sent, and the run ends saying why."""
    import psycopg

    url = _postgres_server.server().database_url(tmp_path, create=True)
    spec = _spec(samples=40, latency_ms=40)
    stolen_at: list[int] = []

    def steal() -> None:
        time.sleep(2.0)
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("UPDATE run_leases SET owner = 'someone-else'")
            stolen_at.append(c.execute("SELECT COUNT(*) FROM samples").fetchone()[0])

    thief = threading.Thread(target=steal)
    thief.start()
    try:
        try:
            report = run_audit(spec, open_store(url),
                               executor=Executor("ray", shard_samples=16))
        except LevelheadError as exc:  # a worker's writer found the lease gone first
            assert "lease" in str(exc)
        else:
            assert not report.complete
            assert any("lease" in why for why in report.failed_targets.values())
    finally:
        thief.join()
    assert stolen_at and stolen_at[0] < 2 * 16 * 40
    time.sleep(1.0)  # shards still running were cancelled or fenced: nothing more arrives
    final = len(_postgres_samples(url))
    assert final < 2 * 16 * 40
    # Rows that were committed before the steal stay; at most the batches in flight then.
    assert final - stolen_at[0] <= 2 * 4 * 16


def test_a_store_url_with_a_password_is_not_sent_to_workers(tmp_path: Path,
                                                            ray_local: Any) -> None:
    url = _postgres_server.server().database_url(tmp_path, create=True)
    with_password = url.replace("postgres@", "postgres:s3cret-pw@")
    with pytest.raises(SpecError, match="PGPASSWORD") as refused:
        run_audit(_spec(samples=2), open_store(with_password), executor=Executor("ray"))
    assert "s3cret-pw" not in str(refused.value)


def test_an_unreachable_ray_head_is_one_line_at_once(tmp_path: Path) -> None:
    """Nothing listens at the address: refused in seconds with what to check (Ray itself would
    retry for minutes). Run in a fresh process, as this one has a Ray already."""
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = tmp_path / "spec.toml"
    spec.write_text('[run]\nname = "x"\nsamples = 1\n[[targets]]\nname = "t"\nkind = "scripted"\n'
                    '[[probes]]\nname = "custom"\nprompts = [ { id = "a", text = "Hi?" } ]\n')
    done = subprocess.run([sys.executable, "-m", "levelhead", "--store", str(tmp_path / "s.db"),
                           "run", str(spec), "--executor", f"ray:127.0.0.1:{port}", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"cannot reach Ray at 127.0.0.1:{port}" in done.stderr
    assert "ray start --head" in done.stderr and "Traceback" not in done.stderr
