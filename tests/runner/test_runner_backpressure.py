"""A target faster than the store: the run waits for the store's writer without blocking its
event loop (progress, the lease's heartbeat, requests in flight and Ctrl-C go on)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from levelhead import open_store
from levelhead.runner import execute
from levelhead.spec import spec_from_dict
from levelhead.store._bounded_writer import BoundedWriter


def test_a_stalled_store_holds_the_samplers_back_not_the_event_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "s.db")
    monkeypatch.setattr(BoundedWriter, "MAX_QUEUED", 200)  # the bound, small to be quick
    spec = spec_from_dict({
        "run": {"name": "fast", "samples": 6000, "seed": 1},
        "targets": [{"name": "t", "kind": "scripted", "concurrency": 8,
                     "replies": ["fine", "You idiot."]}],
        "probes": [{"name": "custom", "prompts": [{"id": "a", "text": "Hi?"},
                                                  {"id": "b", "text": "你好？"}],
                    "judges": [{"name": "abuse.lexicon"}]}],
    }, "test")
    open_store(path).close()
    held = threading.Event()

    def hold_the_write_lock(seconds: float) -> None:
        """Once sampling has begun, hold the file's write lock as another writer of it would
        (a copy into it, a judge)."""
        c = sqlite3.connect(path, isolation_level=None, timeout=30)
        while not c.execute("SELECT COUNT(*) FROM samples").fetchone()[0]:
            time.sleep(0.01)
        c.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        c.execute("COMMIT")
        c.close()

    async def main() -> tuple[float, float, int]:
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        threading.Thread(target=hold_the_write_lock, args=(2.0,), daemon=True).start()
        started = time.monotonic()
        report = await execute(spec, open_store(path))
        tick.cancel()
        assert held.is_set()
        return time.monotonic() - started, max(gaps), report.sampled

    elapsed, longest_gap, sampled = asyncio.run(main())
    assert sampled == 12000
    assert elapsed >= 2.0  # the samplers did wait for the store ...
    assert longest_gap < 0.5, longest_gap  # ... and the event loop went on meanwhile
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT COUNT(*), COUNT(DISTINCT prompt_id || '/' || sample_index)"
                         " FROM samples").fetchone() == (12000, 12000)
        assert c.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == 12000
