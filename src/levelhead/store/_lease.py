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

from levelhead.errors import RunBusyError, StoreError
from levelhead.store._protocol import LeaseHolder, Store

__all__ = ["DEFAULT_TTL_S", "RunLease", "acquire_lease", "lease_ttl_s"]

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


def _process_gone(holder: LeaseHolder) -> bool:
    """True when the holder ran on this host and its process no longer exists."""
    if holder.host != socket.gethostname() or holder.pid == os.getpid():
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def key(self) -> tuple[int, str]:
        """``(run id, owner)``: what the store's writer checks in each transaction."""
        return (self.run_id, self.holder.owner)

    def start(self) -> RunLease:
        """Start the heartbeat (on a connection of its own)."""
        heartbeat_store = self._store.reopen()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_store,),
                                        name="levelhead-lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _beat(self, store: Store) -> None:
        interval = self._ttl_ms / 6000
        try:
            while not self._stop.wait(interval):
                try:
                    held = store.renew_lease(self.run_id, self.holder.owner,
                                             _now_ms() + self._ttl_ms)
                except StoreError as exc:  # a busy store: try again at the next beat
                    if self.lost is None and _now_ms() > self.holder.expires_ms:
                        self.lost = f"the heartbeat could not renew it ({exc})"
                    continue
                if not held:
                    self.lost = "another process took it over after it expired"
                    return
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
                       expires_ms=now + int(ttl_s * 1000))


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
    ttl = ttl_s if ttl_s is not None else lease_ttl_s()
    told = False
    while True:
        holder = new_holder(command, ttl)
        current = store.try_lease(run_id, holder)
        if current is None:
            return RunLease(store, run_id, holder, ttl).start()
        if not wait:
            raise RunBusyError(
                f"run '{run_name}' is held by {current.describe(_now_ms())}; one process writes "
                f"a run at a time: let it finish, wait for it (--wait), or stop it — a stopped "
                f"run's lease lapses {ttl:g} s after its last heartbeat and a resume takes over")
        if not told and on_wait is not None:
            on_wait(current)
            told = True
        time.sleep(poll_s)
