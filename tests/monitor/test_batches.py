"""A log cut into batches for the monitor: every line once, in order, at most ``size`` a batch,
and a quiet followed log's lines handed over within ``flush_s`` (the reader hands lines over in
chunks, and what it holds before it waits for the log to grow)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from levelhead.monitor._batches import log_batches


def _lines(first: int, n: int) -> str:
    return "".join(json.dumps({"id": f"c{i}", "messages": [
        {"role": "assistant", "content": f"reply {i}"}]}) + "\n" for i in range(first, first + n))


def _ids(batch) -> list[str]:  # type: ignore[no-untyped-def]
    """The ids of a batch's lines, in order; a line that is no JSON as ``?``."""
    return [json.loads(raw)["id"] if raw.startswith(b'{"') else "?" for raw, *_ in batch.lines]


def test_every_line_once_in_order_and_no_batch_over_its_size(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(_lines(0, 1000) + "{oops\n" + _lines(1000, 99), encoding="utf-8")
    batches = list(log_batches(log, size=64 + 13))
    assert all(len(b.lines) <= 77 for b in batches)
    ids = [i for b in batches for i in _ids(b)]
    assert ids == [*(f"c{i}" for i in range(1000)), "?", *(f"c{i}" for i in range(1000, 1099))]
    assert batches[-1].position[-1] == 1100  # the last line read, the malformed one counted


def test_a_quiet_followed_log_is_handed_over_within_flush_s(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(_lines(0, 3), encoding="utf-8")  # fewer lines than the reader's chunk
    stop = threading.Event()
    batches = log_batches(log, follow=True, stop=stop, size=2_000, flush_s=0.3, poll_s=0.05)
    # Lines that are never handed over fail the test (the reader ends when stopped) instead of
    # hanging it.
    watchdog = threading.Timer(10, stop.set)
    watchdog.start()
    try:
        started = time.monotonic()
        first = next(batches, None)
        assert first is not None, "the first lines were not handed over within 10 s"
        assert _ids(first) == ["c0", "c1", "c2"]
        with log.open("a", encoding="utf-8") as f:
            f.write(_lines(3, 2))
        second = next(batches, None)
        assert second is not None, "appended lines were not handed over within 10 s"
        assert _ids(second) == ["c3", "c4"]
        assert time.monotonic() - started < 10  # within a few flush_s, never held for more
    finally:
        watchdog.cancel()
        stop.set()
        batches.close()
