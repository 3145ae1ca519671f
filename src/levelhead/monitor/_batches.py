"""Sources cut into batches for the monitor: a JSONL log (read by a thread of its own, so that a
batch is stored within ``flush_s`` even while the log is quiet) and the guard's decisions.

Memory stays flat: the reader hands over at most ``2 * size`` conversations ahead of the judges.
A log's lines are handed over unparsed (:attr:`Batch.lines`): parsing them is the judges' work,
done where they run (in the worker processes), so that the reading process only reads and stores.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from levelhead.monitor._guard_source import guard_replies
from levelhead.monitor._ingest import Batch, Conversation
from levelhead.monitor._source import (
    Item,
    LineToParse,
    LogRecord,
    Malformed,
    Position,
    RawLine,
    read_log,
)
from levelhead.store import MonitorSourceRecord, Store

__all__ = ["guard_batches", "log_batches", "source_name", "start_of"]

_END = object()
# How many lines the reader hands over at a time (at most; fewer when the log goes quiet).
_CHUNK = 64


def start_of(record: MonitorSourceRecord | None) -> Position | None:
    """Where a source's reading resumes, from what the store says of it."""
    if record is None or record.device is None or record.inode is None:
        return None
    return Position(record.device, record.inode, record.offset, record.line, record.fingerprint)


def log_batches(path: str | os.PathLike[str], *, start: Position | None = None,
                follow: bool = False, stop: threading.Event | None = None, size: int = 2_000,
                flush_s: float = 1.0, poll_s: float = 0.2,
                source: str | None = None, parse: bool = False) -> Iterator[Batch]:
    """Batches of a JSONL log of conversations, each ending where its last line ends.

    Args:
        path: the log file.
        start: where a previous ingest stopped (see :func:`start_of`).
        follow: go on as the file grows (and is rotated), until ``stop`` is set.
        stop: ends following (and the reader) when set.
        size: the most conversations and malformed lines in a batch.
        flush_s: the longest a line waits to be handed over while the log is quiet.
        poll_s: how often a followed file is looked at.
        source: the name default conversation ids are made with (``<source>:<line>``).
        parse: parse the lines here (each batch's ``conversations`` and ``malformed``); by
            default they are handed over unparsed, as each batch's ``lines`` (with the
            malformed ones the reader finds, too long, among them), for
            :func:`~levelhead.monitor.ingest_batches` to parse where it judges.

    Raises:
        FileNotFoundError: no file at ``path`` (and not following).
    """
    stop = stop or threading.Event()
    # The reader hands lines over in chunks (one queue operation per line cost more than
    # reading it), and whatever it holds before each wait for the log to grow.
    chunks: queue.Queue[object] = queue.Queue(maxsize=max(2, 2 * size // _CHUNK))
    failure: list[BaseException] = []

    def hand_over(chunk: list[Item | RawLine]) -> bool:
        while not stop.is_set():
            try:
                chunks.put(chunk, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        chunk: list[Item | RawLine] = []

        def flush() -> None:
            nonlocal chunk
            if chunk and hand_over(chunk):
                chunk = []

        try:
            for item in read_log(path, start=start, follow=follow,
                                 stop=_FlushBeforeWaiting(stop, flush), poll_s=poll_s,
                                 source=source, parse=parse):
                chunk.append(item)
                if len(chunk) >= _CHUNK:
                    flush()
                if stop.is_set():
                    break
            else:
                flush()
        except BaseException as exc:  # handed to the consumer, raised there
            flush()  # the lines read before it (a rotated file unreadable, say) still count
            failure.append(exc)
        finally:
            chunks.put(_END)

    reader = threading.Thread(target=read, name="levelhead-monitor-reader", daemon=True)
    reader.start()
    try:
        done = False
        ahead: deque[Item | RawLine] = deque()  # what the reader handed over, not batched yet
        while not done:
            conversations: list[Conversation] = []
            malformed: list[tuple[int, str]] = []
            lines: list[LineToParse] = []
            last: Position | None = None
            deadline = time.monotonic() + flush_s
            while len(conversations) + len(malformed) + len(lines) < size:
                if not ahead:
                    try:
                        got = chunks.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if got is _END:
                        done = True
                        break
                    handed: list[Item | RawLine] = got  # type: ignore[assignment]
                    ahead.extend(handed)
                item = ahead.popleft()
                if isinstance(item, RawLine):
                    lines.append((item.raw, item.line, item.offset, item.source))
                    last = item.position
                elif isinstance(item, Malformed):
                    if parse:
                        malformed.append((item.line, item.reason))
                    else:  # in its place among the lines, so that the order read is kept
                        lines.append((None, item.line, item.offset, item.reason))
                    last = item.position
                elif isinstance(item, LogRecord):
                    conversations.append(item)
                    last = item.position
            if last is not None:
                yield Batch(conversations, malformed,
                            (last.device, last.inode, last.fingerprint, last.offset, last.line),
                            lines)
        if failure:
            raise failure[0]
    finally:
        stop.set()
        reader.join(timeout=5)


class _FlushBeforeWaiting(threading.Event):
    """The stop event as the reader hands it to :func:`read_log`: set when ``stop`` is, and
    handing the reader's chunk over (``flush``) before each wait for the log to grow, so that
    no line read waits for a quiet log."""

    def __init__(self, stop: threading.Event, flush: Callable[[], None]) -> None:
        super().__init__()
        self._stop = stop
        self._flush = flush

    def is_set(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        self._flush()
        return self._stop.wait(timeout)


def guard_batches(store: Store, after_id: int, *, follow: bool = False,
                  stop: threading.Event | None = None, size: int = 2_000,
                  poll_s: float = 1.0) -> Iterator[Batch]:
    """Batches of the guard's decisions after ``after_id`` (the position's offset is the id of
    the last decision taken); following, the store is looked at every ``poll_s`` seconds."""
    stop = stop or threading.Event()
    while True:
        batch: list[Conversation] = []
        last = after_id
        for reply in guard_replies(store, after_id, batch=size):
            batch.append(reply)
            last = reply.decision.id
            if len(batch) >= size:
                break
        if batch:
            after_id = last
            yield Batch(batch, [], (None, None, "", last, last))
            continue
        if not follow or stop.wait(poll_s):
            return


def source_name(path: str | os.PathLike[str]) -> str:
    """The name a log file has among the monitor's sources: its absolute path."""
    return str(Path(path).expanduser().resolve())
