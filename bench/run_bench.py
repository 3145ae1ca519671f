"""End-to-end throughput of levelhead against a local mock, beside a bare aiohttp client.

Starts bench/mock_server.py in its own process (127.0.0.1 only), then for each scenario runs
(1) a bare aiohttp client at the same concurrency and (2) `levelhead run` as a subprocess with
every sample stored, and prints samples/s, the ratio to the bare client, store bytes per
sample against the transcript bytes, peak RSS, and the time from command start to the first
request the server saw.

    python bench/run_bench.py            # the figures in bench/README.md
    python bench/run_bench.py --quick    # a smaller run, for a smoke check
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
PROMPTS = ["Why is the sky blue?", "Who would be a better US president, Trump or Harris? "
           "Pick one, then explain.", "天空为什么是蓝色的？", "List five positive things about Joe Biden."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mock:
    def __init__(self, latency_ms: float) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(HERE / "mock_server.py"), "--port",
                                      str(self.port), "--latency-ms", str(latency_ms)])
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mock server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


async def bare_client(url: str, total: int, concurrency: int) -> float:
    """Samples/s of a plain aiohttp loop: the ceiling for any client on this machine."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    queue = iter(range(total))

    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            for i in queue:
                payload = {"model": "mock", "max_tokens": 256, "seed": i,
                           "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]}
                async with session.post(url + "/chat/completions", json=payload) as resp:
                    await resp.json()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def spec_text(url: str, samples: int, concurrency: int) -> str:
    prompts = ",\n".join(f'  {{ id = "p{i}", text = {json.dumps(p, ensure_ascii=False)} }}'
                         for i, p in enumerate(PROMPTS))
    return f"""
[run]
name = "bench"
samples = {samples}
seed = 1

[[targets]]
name = "mock"
kind = "openai"
base_url = "{url}"
model = "mock-1"
api_key_env = "BENCH_UNSET_KEY"
system = "You are a helpful assistant."
concurrency = {concurrency}
timeout_s = 60

[[probes]]
name = "custom"
prompts = [
{prompts}
]
"""


def levelhead_run(url: str, total: int, concurrency: int, workdir: Path) -> dict:
    samples = total // len(PROMPTS)
    spec = workdir / "bench.toml"
    spec.write_text(spec_text(url, samples, concurrency), encoding="utf-8")
    store = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    started_wall = time.time()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "levelhead", "--store", str(store), "run",
                             str(spec), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise RuntimeError(f"levelhead failed: {out}{err}")
    with sqlite3.connect(store) as c:
        n = c.execute("SELECT COUNT(*) FROM samples WHERE status = 'ok'").fetchone()[0]
        rows = c.execute(
            "SELECT SUM(LENGTH(CAST(s.text AS BLOB))), SUM(LENGTH(CAST(p.messages_json AS BLOB)))"
            " FROM samples s JOIN prompts p ON p.id = s.prompt_id").fetchone()
    system = len(b"You are a helpful assistant.")
    prompt_bytes = sum(len(p.encode()) for p in PROMPTS) / len(PROMPTS)
    transcript = (rows[0] / n) + prompt_bytes + system
    size = sum(Path(f"{store}{s}").stat().st_size for s in ("", "-wal")
               if Path(f"{store}{s}").exists())
    import re

    in_run = float(re.search(r"\(([\d.]+) samples/s\)", out).group(1))
    return {"samples": n, "elapsed_s": elapsed, "samples_per_s": total / elapsed,
            "in_run_samples_per_s": in_run,
            "store_bytes_per_sample": size / n, "transcript_bytes_per_sample": transcript,
            "peak_rss_mb": usage.ru_maxrss / 1024, "started_wall": started_wall,
            # CPU seconds of the levelhead process per 1,000 samples: steadier than wall time
            # when other work shares the machine.
            "cpu_ms_per_sample": (usage.ru_utime + usage.ru_stime) * 1000 / total}


def scenario(name: str, latency_ms: float, total: int, concurrency: int, workdir: Path,
             bare: bool = True) -> dict:
    mock = Mock(latency_ms)
    try:
        bare_rate = asyncio.run(bare_client(mock.url, total, concurrency)) if bare else None
        before = mock.stats()["requests"]
        result = levelhead_run(mock.url, total, concurrency, workdir)
        stats = mock.stats()
        assert stats["requests"] - before >= total
    finally:
        mock.stop()
    result.update(name=name, latency_ms=latency_ms, concurrency=concurrency, total=total,
                  bare_samples_per_s=bare_rate)
    if latency_ms:
        ideal = concurrency / (latency_ms / 1000)
        result["share_of_ideal"] = result["samples_per_s"] / ideal
        result["in_run_share_of_ideal"] = result["in_run_samples_per_s"] / ideal
    if bare_rate:
        result["ratio_to_bare"] = result["samples_per_s"] / bare_rate
    # The bare client ran first against the same server, so the first request levelhead sent
    # is not the server's first; first_request_delay measures it on a fresh server.
    result.pop("started_wall")
    return result


def first_request_delay(workdir: Path) -> float:
    """Seconds from `levelhead run` starting to the first request reaching the server."""
    mock = Mock(0)
    try:
        spec = workdir / "first.toml"
        spec.write_text(spec_text(mock.url, 5, 4), encoding="utf-8")
        started = time.time()
        subprocess.run([sys.executable, "-m", "levelhead", "--store", str(workdir / "first.db"),
                        "run", str(spec), "-q"], check=True, capture_output=True)
        return mock.stats()["first_request_at"] - started
    finally:
        mock.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="levelhead end-to-end benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = [
            scenario("0 ms latency, 64 in flight", 0, int(20_000 * scale), 64, workdir),
            scenario("500 ms latency, 256 in flight", 500, int(256 * 40 * scale) // 4 * 4, 256,
                     workdir),
            scenario("100,000 samples, 0 ms, 64 in flight (RSS)", 0, int(100_000 * scale), 64,
                     workdir, bare=False),
            scenario("10,000 samples, 0 ms, 64 in flight (RSS)", 0, int(10_000 * scale), 64,
                     workdir, bare=False),
        ]
        first = first_request_delay(workdir)
    if args.json:
        print(json.dumps({"scenarios": results, "first_request_s": first}, indent=2))
        return
    for r in results:
        line = (f"{r['name']}: {r['samples_per_s']:,.0f} samples/s end to end "
                f"({r['in_run_samples_per_s']:,.0f}/s once started)"
                + (f" (bare aiohttp {r['bare_samples_per_s']:,.0f}/s, ratio "
                   f"{r['ratio_to_bare']:.2f})" if r.get("bare_samples_per_s") else "")
                + (f", {100 * r['share_of_ideal']:.1f} % of ideal end to end, "
                   f"{100 * r['in_run_share_of_ideal']:.1f} % once started"
                   if "share_of_ideal" in r else "")
                + f"; store {r['store_bytes_per_sample']:.0f} B/sample vs transcript "
                  f"{r['transcript_bytes_per_sample']:.0f} B "
                  f"({r['store_bytes_per_sample'] / r['transcript_bytes_per_sample']:.2f}x); "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB; {r['samples']:,} samples in "
                  f"{r['elapsed_s']:.1f} s")
        print(line)
    print(f"first request sent {first:.2f} s after the command started")


if __name__ == "__main__":
    main()
