"""The SQL of run leases: the ``run_leases`` row that says which process writes a run (the
policy, heartbeat and take-over rules are in :mod:`levelhead.store._lease`)."""

from __future__ import annotations

import sqlite3
import time

from levelhead.errors import StoreError
from levelhead.store._connection import SQLiteConnection
from levelhead.store._lease import takes_over
from levelhead.store._records import LeaseHolder


class LeaseRows(SQLiteConnection):
    """Taking, renewing, releasing and reading the lease row of a run."""

    _LEASE_COLS = "owner, host, pid, command, acquired_ms, heartbeat_ms, expires_ms, node"

    def _lease_row(self, run_id: int) -> LeaseHolder | None:
        row = self._conn.execute(f"SELECT {self._LEASE_COLS} FROM run_leases WHERE run_id = ?",
                                 (run_id,)).fetchone()
        return None if row is None else LeaseHolder(*row)

    def _live_leases(self) -> dict[int, str]:
        """Who holds each run's live lease (a lapsed lease is no holder), by run id."""
        now_ms = int(time.time() * 1000)
        holders = {row[0]: LeaseHolder(*row[1:]) for row in self._conn.execute(
            f"SELECT run_id, {self._LEASE_COLS} FROM run_leases")}
        return {run_id: h.describe(now_ms) for run_id, h in holders.items()
                if not takes_over(h, now_ms)}

    def try_lease(self, run_id: int, holder: LeaseHolder) -> LeaseHolder | None:
        """Take the run's lease for ``holder``; returns None when taken, else the live holder
        that keeps it. A lapsed lease, or one whose process on this host is gone, is taken
        over."""
        with self.transaction():
            current = self._lease_row(run_id)
            if current is not None and not takes_over(current, holder.acquired_ms):
                return current
            self._conn.execute(
                f"INSERT OR REPLACE INTO run_leases (run_id, {self._LEASE_COLS})"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (run_id, holder.owner, holder.host, holder.pid, holder.command,
                 holder.acquired_ms, holder.heartbeat_ms, holder.expires_ms, holder.node))
        return None

    def renew_lease(self, run_id: int, owner: str, expires_ms: int) -> bool:
        """Extend ``owner``'s lease; False when it is no longer theirs."""
        try:
            cur = self._conn.execute(
                "UPDATE run_leases SET heartbeat_ms = ?, expires_ms = ? WHERE run_id = ?"
                " AND owner = ?", (int(time.time() * 1000), expires_ms, run_id, owner))
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot renew the lease of run {run_id} ({exc})"
                             ) from None
        return cur.rowcount == 1

    def release_lease(self, run_id: int, owner: str) -> None:
        """Give up ``owner``'s lease (nothing happens if it is no longer theirs)."""
        try:
            self._conn.execute("DELETE FROM run_leases WHERE run_id = ? AND owner = ?",
                               (run_id, owner))
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cannot release the lease of run {run_id} "
                             f"({exc})") from None

    def lease_of(self, run_id: int) -> LeaseHolder | None:
        """The live holder of the run's lease, or None (a lapsed lease is no holder)."""
        current = self._lease_row(run_id)
        if current is None or takes_over(current, int(time.time() * 1000)):
            return None
        return current
