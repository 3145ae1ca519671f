"""The store's writer thread (both stores'), with a bound on the rows waiting in its queue and
each batch written kind by kind."""

from __future__ import annotations

import asyncio
import time

from levelhead.store._rows import (
    PairVerdictRow,
    Row,
    SampleRow,
    TurnRow,
    TurnVerdictRow,
    VerdictRow,
)
from levelhead.store._writer import WriterThread

__all__ = ["BoundedWriter"]

# The order of kinds in a batch: what a row names comes before it (a verdict's sample, a turn
# verdict's turn; a pair verdict names samples by id, stored before it was made).
_KIND_ORDER: dict[type, int] = {SampleRow: 0, TurnRow: 1, VerdictRow: 2, TurnVerdictRow: 3,
                                PairVerdictRow: 4}


class BoundedWriter(WriterThread):
    """The store's writer thread, with a bound on the rows waiting in its queue.

    A run whose target answers faster than the store commits (a scripted or a local target, a
    server store on a slow link) would otherwise queue its rows without end: a million samples
    are several hundred MB waiting in memory. Past :attr:`MAX_QUEUED` rows the producers wait
    until the writer has taken half of them, so that they go at the store's pace (the run takes
    no longer: the rows must be written before it ends either way).

    An event loop never blocks here: :meth:`put` called on a thread that runs one queues at once
    (the protocol's promise), and the loop's producers ``await`` :meth:`room` before they make
    more rows (the runner's samplers before each request, the judging loops between chunks), so
    progress, the lease's heartbeat, Ctrl-C and requests in flight go on meanwhile. Other
    threads block in :meth:`put`."""

    MAX_QUEUED = 20_000

    def _full(self) -> bool:
        return (self._queue.qsize() > self.MAX_QUEUED // 2 and self._error is None
                and self._thread.is_alive())

    def put(self, row: Row) -> None:
        """Queue one row; off an event loop, waits while :attr:`MAX_QUEUED` rows are queued
        (raises :class:`~levelhead.errors.StoreError` if an earlier write failed)."""
        if self._queue.qsize() >= self.MAX_QUEUED and asyncio._get_running_loop() is None:
            while self._full():
                time.sleep(0.002)
        super().put(row)

    async def room(self) -> None:
        """Return once the queue has room (at once unless :attr:`MAX_QUEUED` rows wait)."""
        if self._queue.qsize() >= self.MAX_QUEUED:
            while self._full():
                await asyncio.sleep(0.005)

    def _write(self, batch: list[Row]) -> None:
        """Write one batch (one transaction) kind by kind, each kind in its queue order: one
        statement run for many rows per kind. A run queues a sample then its verdicts, so a
        batch in queue order alternates kinds, one row per statement: on PostgreSQL each of
        those is a round trip to the server (a fifth of the throughput). Samples and turns
        first keep every verdict after what it names."""
        super()._write(sorted(batch, key=lambda row: _KIND_ORDER[type(row)]))
