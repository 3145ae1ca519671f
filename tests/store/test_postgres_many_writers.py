"""Many writers on one PostgreSQL store: two ``levelhead run`` processes write two runs into
one database at once; one is killed with SIGKILL in the middle and run again, and takes its run
over at once (its holder's process is gone on this host). In the end each run holds every
(target, prompt, sample index) of its plan exactly once, with one verdict each."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import _postgres_server

from levelhead import open_store
from levelhead.errors import StoreNotFoundError

MARKED, CLEAN = "You idiot, the sky is blue.", "The sky is blue."
TARGETS, PROMPTS, N = 2, 6, 25  # 300 samples a run; 100 ms each, 4 in flight: ~4 s a run
SPEC = """
[run]
name = "{name}"
samples = {n}
seed = 7

{targets}

[[probes]]
name = "custom"
judges = ["abuse.lexicon"]
prompts = [ {prompts} ]
"""


def _spec(folder: Path, name: str) -> Path:
    targets = "\n".join(
        f'[[targets]]\nname = "bot{t}"\nkind = "scripted"\nlatency_ms = 100\nconcurrency = 4\n'
        f'replies = ["{MARKED}", "{CLEAN}"]\n' for t in range(TARGETS))
    prompts = ", ".join(f'{{ id = "q{i}", text = "Question {i}?" }}' for i in range(PROMPTS))
    path = folder / f"{name}.toml"
    path.write_text(SPEC.format(name=name, n=N, targets=targets, prompts=prompts),
                    encoding="utf-8")
    return path


def _run(url: str, spec: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "levelhead", "--store", url, "run", "-q",
                             str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _stored(url: str, run: str) -> int:
    try:
        store = open_store(url, read_only=True)
    except StoreNotFoundError:  # neither process has created the tables yet
        return 0
    try:
        return next((r.done for r in store.list_runs() if r.name == run), 0)
    finally:
        store.close()


def test_two_runs_at_once_one_killed_and_resumed_store_every_sample_exactly_once(tmp_path):
    url = _postgres_server.server().database_url(tmp_path, create=True)
    planned = TARGETS * PROMPTS * N
    alpha_spec, beta_spec = _spec(tmp_path, "alpha"), _spec(tmp_path, "beta")
    alpha, beta = _run(url, alpha_spec), _run(url, beta_spec)
    try:
        deadline = time.monotonic() + 60
        while _stored(url, "alpha") < 40 and time.monotonic() < deadline:
            assert alpha.poll() is None, alpha.communicate()
            time.sleep(0.05)
        assert beta.poll() is None, "beta finished before alpha was killed: not at once"
        alpha.send_signal(signal.SIGKILL)
        alpha.wait()
        killed_at = _stored(url, "alpha")
        assert 40 <= killed_at < planned

        # The killed process's lease row is still there, but its process is gone on this host:
        # run again (no --wait), it takes the run over at once while beta still writes.
        started = time.monotonic()
        again = subprocess.run([sys.executable, "-m", "levelhead", "--store", url, "run", "-q",
                                str(alpha_spec)], capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert time.monotonic() - started < 30  # no waiting for the 30 s lease to lapse
        done = re.search(r"(\d+)/(\d+) samples stored, (\d+) new", again.stdout)
        assert done is not None, again.stdout
        assert (int(done[1]), int(done[2])) == (planned, planned)
        assert int(done[3]) <= planned - killed_at  # only what was missing was sampled
        out, err = beta.communicate(timeout=120)
        assert beta.returncode == 0, err
        assert f"{planned}/{planned} samples stored, {planned} new" in out
    finally:
        for proc in (alpha, beta):
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    store = open_store(url, read_only=True)
    try:
        runs = {r.name: r for r in store.list_runs()}
        assert {name: (r.done, r.planned, r.errors, r.running) for name, r in runs.items()} == {
            "alpha": (planned, planned, 0, None), "beta": (planned, planned, 0, None)}
        for name in ("alpha", "beta"):
            keys = Counter((s.target, s.prompt_id, s.sample_index)
                           for s in store.iter_samples(runs[name].id))
            assert set(keys.values()) == {1}
            assert set(keys) == {(f"bot{t}", f"q{i}", k) for t in range(TARGETS)
                                 for i in range(PROMPTS) for k in range(N)}
            replies = {(s.target, s.prompt_id, s.sample_index): s.text
                       for s in store.iter_samples(runs[name].id)}
            verdicts = Counter((v.target, v.prompt_id, v.sample_index)
                               for v in store.verdict_table(runs[name].id))
            assert verdicts == Counter(set(keys))  # one verdict per sample
            for v in store.verdict_table(runs[name].id):
                # each verdict judged the reply that is stored (not a reply lost with the kill)
                assert (v.label == "abusive") == (replies[(v.target, v.prompt_id,
                                                           v.sample_index)] == MARKED)
    finally:
        store.close()
    assert os.environ.get("LEVELHEAD_LEASE_TTL_S") is None  # the default 30 s lease was in play
