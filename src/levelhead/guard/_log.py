"""Every decision of the guard, in the store: queued without blocking a request, written by a
thread of its own in batched transactions.

A store that cannot be written (a full disk, a lock held too long) does not stop the guard: the
decisions of that batch are dropped with a warning that says how many, and the guard goes on
screening; :attr:`DecisionLog.dropped` counts them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable

from levelhead.errors import StoreError
from levelhead.store import GuardDecisionRow, Store

__all__ = ["DecisionLog"]

log = logging.getLogger("levelhead.guard")

_STOP = object()


class DecisionLog:
    """Writes the guard's decisions to ``store`` from a thread of its own.

    Args:
        store: an open, writable store; the log closes it when it closes.
        batch: the most decisions written in one transaction.
        every_s: how long a decision may wait for others to join its transaction.
    """

    def __init__(self, store: Store, *, batch: int = 1_000, every_s: float = 0.2) -> None:
        self.store = store
        self.written = 0
        self.dropped = 0
        self._batch = batch
        self._every_s = every_s
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="levelhead-guard-log", daemon=True)
        self._thread.start()

    def put(self, row: GuardDecisionRow) -> None:
        """Queue one decision (returns at once)."""
        self._queue.put(row)

    def close(self) -> None:
        """Write what is queued, then stop and close the store."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self.store.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            rows: list[GuardDecisionRow] = []
            first = self._queue.get()
            if first is _STOP:
                break
            rows.append(first)  # type: ignore[arg-type]
            deadline = time.monotonic() + self._every_s
            while len(rows) < self._batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                rows.append(item)  # type: ignore[arg-type]
            self._write(rows)

    def _write(self, rows: Iterable[GuardDecisionRow]) -> None:
        batch = list(rows)
        try:
            self.written += self.store.add_guard_decisions(batch)
        except StoreError as exc:
            self.dropped += len(batch)
            log.warning("guard: %d decisions not recorded in %s: %s", len(batch), self.store.path,
                        exc)
