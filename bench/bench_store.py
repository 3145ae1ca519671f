"""The same run on the SQLite store and on a PostgreSQL store, end to end, in one sitting.

Starts a throw-away PostgreSQL cluster of its own (``initdb`` + ``pg_ctl`` in a temporary folder,
on a free port of 127.0.0.1, as the ``postgres`` user when run as root; stopped and removed at the
end), then runs ``levelhead run`` as a subprocess (a scripted target, no latency, one lexicon
judge) into a fresh SQLite file and into a fresh PostgreSQL database, and prints for each store
samples/s and the driver's peak RSS (the ``levelhead run`` process's ``ru_maxrss``), and the
ratio PostgreSQL / SQLite.

    python bench/bench_store.py                    # 50,000 samples on each store
    python bench/bench_store.py --samples 1000000  # the memory check: 1,000,000 samples each
    python bench/bench_store.py --store sqlite     # one store only
    python bench/bench_store.py --copy             # then `store copy` each way: rows/s, RSS
    python bench/bench_store.py --resume           # then run it again (a resume: RSS)

The cluster is durable (fsync and synchronous commit on, unlike the tests' throw-away one);
``BENCH_PG_OPTIONS`` adds server options (e.g. ``" -c fsync=off"``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELHEAD = [sys.executable, "-m", "levelhead"]
PROMPTS = 100  # prompts of the probe; N = samples / PROMPTS


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        found = candidates[-1] if candidates else None
    if found is None:
        sys.exit(f"this bench needs PostgreSQL's {name}: apt-get install -y postgresql")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A throw-away PostgreSQL cluster (the tests' tests/store/_postgres_server.py, minimal)."""

    def __init__(self) -> None:
        initdb = _binary("initdb")
        pg_ctl = str(Path(os.path.realpath(initdb)).with_name("pg_ctl"))
        self.pg_ctl = pg_ctl if Path(pg_ctl).exists() else _binary("pg_ctl")
        self.folder = Path(tempfile.mkdtemp(prefix="levelhead-bench-pg-"))
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = next(u for u in ("postgres", "nobody") if _user_exists(u))
            self.run_as = ["runuser", "-u", user, "--"]
            entry = pwd.getpwnam(user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.data = self.folder / "data"
        self.port = _free_port()
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-locale",
                   "-E", "UTF8", "--no-sync"])
        # Durable settings (fsync on, synchronous commit), unlike the tests' cluster: a bench of
        # a store should pay what a real server pays.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port}"
                   f" -c unix_socket_directories={self.folder}" + os.environ.get("BENCH_PG_OPTIONS", ""))
        self._run([self.pg_ctl, "-D", str(self.data), "-o", options, "-l",
                   str(self.folder / "server.log"), "-w", "-t", "60", "start"])

    def _run(self, command: list[str]) -> None:
        subprocess.run([*self.run_as, *command], check=True, capture_output=True,
                       cwd=self.folder)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.run_as, self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def write_spec(folder: Path, samples: int) -> Path:
    """A spec of ``samples`` samples: one scripted target (no latency), PROMPTS prompts, one
    lexicon judge (so that verdicts are written and the post-run judge sweep reads the run)."""
    n = max(1, samples // PROMPTS)
    prompts = "\n".join(f'  {{ id = "p{i:04d}", text = "Question {i}: why is the sky blue?" }},'
                         for i in range(PROMPTS))
    path = folder / f"bench-{samples}.toml"
    path.write_text(f"""[run]
name = "bench"
samples = {n}
seed = 1

[[targets]]
name = "bot"
kind = "scripted"
latency_ms = 0
concurrency = 256
replies = ["The sky is blue because of Rayleigh scattering.", "You idiot, it is blue."]

[[probes]]
name = "custom"
judges = ["abuse.lexicon"]
prompts = [
{prompts}
]
""", encoding="utf-8")
    return path


def run_once(store: str, spec: Path) -> dict[str, float]:
    """``levelhead run`` as a subprocess: wall time and its peak RSS."""
    started = time.monotonic()
    proc = subprocess.Popen([*LEVELHEAD, "--store", store, "run", "-q", str(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    out, err = proc.stdout.read() if proc.stdout else "", proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"levelhead run failed on {store}: {out}{err}")
    samples = int(out.split(":", 1)[1].split("/", 1)[0])
    return {"samples": samples, "elapsed_s": elapsed, "samples_per_s": samples / elapsed,
            "peak_rss_mb": usage.ru_maxrss / 1024}


def copy_once(source: str, destination: str) -> dict[str, float]:
    """``levelhead store copy`` as a subprocess: wall time, rows copied and its peak RSS."""
    started = time.monotonic()
    proc = subprocess.Popen([*LEVELHEAD, "store", "copy", "-q", source, destination],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    out, err = proc.stdout.read() if proc.stdout else "", proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"levelhead store copy failed: {out}{err}")
    rows = sum(int(part.split()[0].replace(",", "")) for part in
               out.split(": ", 1)[1].split(";")[0].split(", "))
    return {"samples": rows, "elapsed_s": elapsed, "samples_per_s": rows / elapsed,
            "peak_rss_mb": usage.ru_maxrss / 1024}


def show(name: str, r: dict[str, float], unit: str = "samples") -> dict[str, float]:
    print(f"{name:10}  {r['samples']:>9,.0f} {unit} in {r['elapsed_s']:7.1f} s = "
          f"{r['samples_per_s']:8,.0f} {unit}/s, peak RSS {r['peak_rss_mb']:6.1f} MB", flush=True)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--store", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--copy", action="store_true",
                        help="then copy the SQLite run to a new PostgreSQL database and back to "
                             "a new file with `levelhead store copy` (rows/s, peak RSS)")
    parser.add_argument("--resume", action="store_true",
                        help="then run the same spec again on each store: a resume of a "
                             "complete run (what it reads of the run, peak RSS)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="levelhead-bench-store-"))
    spec = write_spec(folder, args.samples)
    results: dict[str, dict[str, float]] = {}
    cluster: Cluster | None = None
    try:
        if args.store in ("both", "sqlite"):
            results["sqlite"] = show("sqlite", run_once(str(folder / "bench.db"), spec))
            if args.resume:
                results["sqlite resume"] = show("sqlite resume",
                                                run_once(str(folder / "bench.db"), spec))
        if args.store in ("both", "postgresql"):
            cluster = Cluster()
            url = cluster.create_database("bench")
            results["postgresql"] = show("postgresql", run_once(url, spec))
            if args.resume:
                results["postgresql resume"] = show("postgresql resume", run_once(url, spec))
        if args.copy and "sqlite" in results:
            cluster = cluster or Cluster()
            copied = cluster.create_database("copied")
            results["copy to postgresql"] = show(
                "copy sqlite -> postgresql", copy_once(str(folder / "bench.db"), copied), "rows")
            results["copy to sqlite"] = show(
                "copy postgresql -> sqlite", copy_once(copied, str(folder / "back.db")), "rows")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    if "sqlite" in results and "postgresql" in results:
        ratio = results["postgresql"]["samples_per_s"] / results["sqlite"]["samples_per_s"]
        print(f"PostgreSQL / SQLite: {ratio:.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
