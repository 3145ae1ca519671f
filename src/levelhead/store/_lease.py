"""One writer per run: a lease row with an owner, a heartbeat and an expiry.

A process that samples or judges a run takes the run's lease first; a second process finds the
lease held and refuses (or waits). A heartbeat thread renews the lease on a connection of its
own; a crashed owner stops renewing, so its lease lapses after ``ttl_s`` and a resume takes it
over (at once when the owner was on this host and its process is gone). The store's writer also
checks, in each of its transactions, that it still holds the lease: a process that stalled past
its expiry and lost the lease to another writes nothing more.

The lease is a row, not an OS file lock, so that the same guard works on a store shared over
the network (PostgreSQL). Store-agnostic: the SQL lives in each store.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from levelhead.errors import LeaseLostError, RunBusyError, StoreError
from levelhead.store._protocol import Store
from levelhead.store._records import LeaseHolder

__all__ = ["DEFAULT_TTL_S", "RunLease", "acquire_lease", "claim_lease", "lease_ttl_s", "node_id"]

# Long enough that a busy machine never misses a renewal (every ttl/6), short enough that a
# resume after a crash on another host waits half a minute at most.
DEFAULT_TTL_S = 30.0


def lease_ttl_s() -> float:
    """The lease's time to live: ``$LEVELHEAD_LEASE_TTL_S`` or 30 seconds."""
    raw = os.environ.get("LEVELHEAD_LEASE_TTL_S")
    if not raw:
        return DEFAULT_TTL_S
    try:
        value = float(raw)
    except ValueError:
        raise StoreError(f"LEVELHEAD_LEASE_TTL_S={raw!r} is not a number of seconds") from None
    if not 0.5 <= value <= 86_400:
        raise StoreError(f"LEVELHEAD_LEASE_TTL_S={raw!r} must be between 0.5 and 86400 seconds")
    return value


def _now_ms() -> int:
    return int(time.time() * 1000)


def node_id() -> str:
    """This machine's boot id and this process's pid namespace: processes that share both see
    the same pids. Host names do not tell that (containers and VMs share them)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        return f"{boot}:{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""  # unknown: a lease is then only ever taken over when it lapses


def _process_gone(holder: LeaseHolder) -> bool:
    """True when the holder ran on this node and its process no longer exists."""
    node = node_id()
    if not node or holder.node != node or holder.pid == os.getpid():
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def takes_over(current: LeaseHolder, now_ms: int) -> bool:
    """Whether a new owner may take a lease that ``current`` holds."""
    return current.expires_ms <= now_ms or _process_gone(current)


class RunLease:
    """A run's lease, held: renewed by a heartbeat thread until :meth:`release`.

    Attributes:
        run_id: The run.
        holder: Who holds it (this process).
        lost: Why the lease was lost, or None while it is held.
    """

    def __init__(self, store: Store, run_id: int, holder: LeaseHolder, ttl_s: float) -> None:
        self.run_id = run_id
        self.holder = holder
        self.lost: str | None = None
        self._store = store
        self._ttl_ms = int(ttl_s * 1000)
        self._expires_ms = holder.expires_ms  # as of the last renewal that went through
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def key(self) -> tuple[int, str]:
        """``(run id, owner)``: what the store's writer checks in each transaction."""
        return (self.run_id, self.holder.owner)

    def start(self) -> RunLease:
        """Renew the lease now (it may have been taken inside a long transaction), then start
        the heartbeat on a connection of its own.

        Raises:
            LeaseLostError: the lease lapsed before it could be renewed, and another process
                took it.
        """
        if not self._store.renew_lease(self.run_id, self.holder.owner, _now_ms() + self._ttl_ms):
            raise LeaseLostError(f"the lease of run {self.run_id} lapsed before this process "
                                 "could start, and another process holds it now")
        self._expires_ms = _now_ms() + self._ttl_ms
        heartbeat_store = self._store.reopen()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_store,),
                                        name="levelhead-lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _beat(self, store: Store) -> None:
        interval = self._ttl_ms / 6000
        try:
            while not self._stop.wait(interval):
                expires = _now_ms() + self._ttl_ms
                try:
                    held = store.renew_lease(self.run_id, self.holder.owner, expires)
                except StoreError as exc:  # a busy store: try again at the next beat
                    if self.lost is None and _now_ms() > self._expires_ms:
                        self.lost = f"the heartbeat could not renew it in time ({exc})"
                    continue
                if not held:
                    self.lost = "another process took it over after it lapsed"
                    return
                self._expires_ms = expires
        finally:
            with contextlib.suppress(Exception):
                store.close()

    def release(self) -> None:
        """Stop the heartbeat and give the lease up (safe to call twice)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with contextlib.suppress(StoreError):
            self._store.release_lease(self.run_id, self.holder.owner)


def new_holder(command: str, ttl_s: float) -> LeaseHolder:
    """A holder token for this process."""
    host, pid, now = socket.gethostname(), os.getpid(), _now_ms()
    return LeaseHolder(owner=f"{host}:{pid}:{secrets.token_hex(6)}", host=host, pid=pid,
                       command=command, acquired_ms=now, heartbeat_ms=now,
                       expires_ms=now + int(ttl_s * 1000), node=node_id())


def acquire_lease(store: Store, run_id: int, run_name: str, command: str, *,
                  ttl_s: float | None = None, wait: bool = False,
                  on_wait: Callable[[LeaseHolder], None] | None = None,
                  poll_s: float = 1.0) -> RunLease:
    """Take the lease of a run and start its heartbeat.

    Args:
        store: The store holding the run.
        run_id: The run.
        run_name: Its name, for messages.
        command: What this process does with it (``run``, ``judge``).
        ttl_s: Time to live (default: :func:`lease_ttl_s`).
        wait: Wait until the holder finishes (or its lease lapses) instead of refusing.
        on_wait: Called once with the holder when waiting starts.
        poll_s: How often to look again while waiting.

    Raises:
        RunBusyError: another live process holds the lease (and ``wait`` is False).
    """
    told = False
    while True:
        try:
            return claim_lease(store, run_id, run_name, command, ttl_s=ttl_s).start()
        except RunBusyError as busy:
            if not wait:
                raise
            if not told and on_wait is not None:
                on_wait(cast(LeaseHolder, busy.holder))
                told = True
        time.sleep(poll_s)


def claim_lease(store: Store, run_id: int, run_name: str, command: str, *,
                ttl_s: float | None = None) -> RunLease:
    """Write this process's lease row, without starting its heartbeat: for use inside a
    transaction, with :meth:`RunLease.start` called once it has committed.

    Raises:
        RunBusyError: another live process holds the lease.
    """
    ttl = ttl_s if ttl_s is not None else lease_ttl_s()
    holder = new_holder(command, ttl)
    current = store.try_lease(run_id, holder)
    if current is not None:
        raise RunBusyError(
            f"run '{run_name}' is held by {current.describe(_now_ms())}; one process writes "
            f"a run at a time: let it finish, wait for it (--wait), or stop it — a stopped "
            f"run's lease lapses {ttl:g} s after its last heartbeat and a resume takes over",
            holder=current)
    return RunLease(store, run_id, holder, ttl)
