"""Every decision of the guard, in the store: queued without blocking a request, written by a
thread of its own in batched transactions.

A store that cannot be written (a full disk, a lock held too long) does not stop the guard: the
decisions of that batch are dropped with a warning that says how many, and the guard goes on
screening; :attr:`DecisionLog.dropped` counts them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable

from levelhead.store import GuardDecisionRow, Store

__all__ = ["DecisionLog"]

log = logging.getLogger("levelhead.guard")


class DecisionLog:
    """Writes the guard's decisions to ``store`` from a thread of its own.

    A request only appends its row to a queue (no lock, no wake-up of the thread); the thread
    wakes every ``every_s`` seconds and writes what has gathered, at most ``batch`` rows to a
    transaction.

    Args:
        store: an open, writable store; the log closes it when it closes.
        batch: the most decisions written in one transaction.
        every_s: how often the thread writes what has gathered.
    """

    def __init__(self, store: Store, *, batch: int = 1_000, every_s: float = 0.2) -> None:
        self.store = store
        self.written = 0
        self.dropped = 0
        self._batch = batch
        self._every_s = every_s
        self._rows: deque[GuardDecisionRow] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="levelhead-guard-log", daemon=True)
        self._thread.start()

    def put(self, row: GuardDecisionRow) -> None:
        """Queue one decision (returns at once)."""
        self._rows.append(row)

    def close(self) -> None:
        """Write what is queued, then stop and close the store."""
        self._stop.set()
        self._thread.join()
        self.store.close()

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self._every_s)
            while self._rows:
                batch: list[GuardDecisionRow] = []
                while self._rows and len(batch) < self._batch:
                    batch.append(self._rows.popleft())
                self._write(batch)
            if stopping:
                return

    def _write(self, rows: Iterable[GuardDecisionRow]) -> None:
        batch = list(rows)
        try:
            self.written += self.store.add_guard_decisions(batch)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the thread must live on
            self.dropped += len(batch)
            log.warning("guard: %d decisions not recorded in %s: %s", len(batch), self.store.path,
                        exc)
