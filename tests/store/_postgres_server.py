"""A throw-away PostgreSQL server for the store's tests: one cluster per test session in a
temporary folder (``initdb`` + ``pg_ctl``), listening on a free port of 127.0.0.1 and on a unix
socket in that folder, stopped and removed when the session ends (at the test process's exit: a
``conftest.py`` in this folder would shadow the root one's ``need``).

Started on first use only, so that a run of SQLite tests alone never needs PostgreSQL. A missing
binary fails the test with the command that installs it (never a skip). As root, the server runs
as the ``postgres`` user (or ``nobody``): PostgreSQL refuses to run as root.

Each contract test's folder maps to a database of its own (:func:`database_url`): created on the
first writable open, so that a folder's store is fresh for each test and the same for every open
of that folder (a read-only open reads the database a writable one made).
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import need

#: What installs the server's binaries (Debian; the tests' system packages script does it).
FIX = "bash scripts/system-packages.sh  (Debian: apt-get install -y postgresql)"


def _binary(name: str) -> str:
    """The path of a PostgreSQL server binary (``initdb``, ``pg_ctl``), or fail the test."""
    found = shutil.which(name)
    if found is None:
        # Debian keeps the server's binaries out of PATH, one folder per major version.
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                            key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                            else 0)
        found = candidates[-1] if candidates else None
    if found is None:
        pytest.fail(f"this test needs the PostgreSQL server's {name}, which is not installed: "
                    f"run `{FIX}`", pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, owned by an unprivileged user."""

    def __init__(self) -> None:
        initdb = _binary("initdb")
        # pg_ctl from the same installation as initdb (/usr/local/bin/initdb may be a link).
        pg_ctl = str(Path(os.path.realpath(initdb)).with_name("pg_ctl"))
        if not Path(pg_ctl).exists():
            pg_ctl = _binary("pg_ctl")
        self._pg_ctl = pg_ctl
        self._as: list[str] = []
        self.folder = Path(tempfile.mkdtemp(prefix="levelhead-pg-"))
        if os.geteuid() == 0:
            user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
            if user is None:
                pytest.fail("as root, the PostgreSQL tests need a user to run the server as "
                            "(postgres or nobody): run `useradd postgres`", pytrace=False)
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.fail("as root, the PostgreSQL tests need runuser (util-linux) to run "
                            "the server as another user: run `apt-get install -y util-linux`",
                            pytrace=False)
            self._as = [runuser, "-u", user, "--"]
            entry = pwd.getpwnam(user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self.user = user
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.data = self.folder / "data"
        self.port = _free_port()
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust",
                   "--no-locale", "-E", "UTF8", "--no-sync"])
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port}"
                   f" -c unix_socket_directories={self.folder} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l",
                   str(self.folder / "server.log"), "-w", "-t", "60", "start"])
        self._databases: set[str] = set()
        self._lock = threading.Lock()

    def _run(self, command: list[str]) -> None:
        done = subprocess.run([*self._as, *command], capture_output=True, text=True,
                              cwd=self.folder, check=False)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"PostgreSQL test server: `{' '.join(command)}` failed "
                        f"({done.returncode}): {done.stderr.strip()} {tail}", pytrace=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database_url(self, folder: Path, *, create: bool) -> str:
        """The URL of the database that stands for ``folder`` (created when ``create``)."""
        name = "lh_" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
        with self._lock:
            if create and name not in self._databases:
                import psycopg

                with psycopg.connect(self.url(), autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                          (name,)).fetchone()
                    if exists is None:
                        conn.execute(f'CREATE DATABASE "{name}"')
                self._databases.add(name)
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self._as, self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


_server: PostgresServer | None = None
_start = threading.Lock()


def server() -> PostgresServer:
    """The session's server, started on first use (the test fails without psycopg)."""
    global _server
    need("psycopg", "make install-dev")
    with _start:
        if _server is None:
            _server = PostgresServer()
            atexit.register(stop)
        return _server


def stop() -> None:
    """Stop the session's server, if it was started."""
    global _server
    with _start:
        if _server is not None:
            _server.stop()
            _server = None
