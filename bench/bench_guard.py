"""What `levelhead guard` costs (issue 18): added latency and throughput of plain chat completions
at 64 in flight (against a 0 ms and a 100 ms upstream), and, per hold-back window, how much of a
reply that turns abusive reaches the client and how much later the first token arrives.

Everything runs on 127.0.0.1. A mock upstream (bench/mock_server.py's MockServer, plus streamed
replies in chunks of a few characters with a delay per chunk) runs in its own process; the guard
runs as `python -m levelhead guard` in another, as a user starts it (with `--store` in a temporary
folder when the command has that option, and again with `--no-store` when it has that); a bare
aiohttp proxy (no judges, no store) runs as the floor of any proxy here. One aiohttp client in
this process sends the same requests direct to the mock and through each, in alternating rounds,
and reads each process's CPU time from /proc.

    python bench/bench_guard.py            # the figures in bench/README.md and docs/guard.md
    python bench/bench_guard.py --quick    # smaller, for a smoke check
    python bench/bench_guard.py --json     # the results as JSON
    python bench/bench_guard.py --profile prof.out   # also: the guard under cProfile, top functions
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
IN_FLIGHT = 64
WINDOWS = (0, 16, 64, 256)
SLOW_MS = 100.0  # the upstream latency of the second overhead scenario
PROMPTS = ["Why is the sky blue?", "天空为什么是蓝色的？", "List five positive things about Joe Biden."]

# ~400 characters of benign English (the first four sentences of the mock's reply), and Chinese.
BENIGN = {
    "en": ("The sky looks blue because molecules in the air scatter short wavelengths of sunlight "
           "much more strongly than long ones. This is called Rayleigh scattering, and its strength "
           "grows with the fourth power of the frequency, so blue light is scattered about five "
           "times more than red. When you look at any part of the sky away from the sun, you see "
           "this scattered light. At sunrise and sunset the light crosses much more air."),
    "zh": ("天空看起来是蓝色的，是因为空气中的分子对阳光中短波长的光散射得比长波长的光强得多。"
           "这种现象叫做瑞利散射，它的强度与频率的四次方成正比，所以蓝光被散射的程度大约是红光的"
           "五倍。当你看向远离太阳的天空时，看到的就是这些被散射的光。日出和日落时，阳光要穿过更厚"
           "的大气层，大部分蓝光在途中被散射掉了，剩下的主要是红色和橙色的光，所以那时的天空常常是"
           "红色或者金色的。如果地球没有大气层，天空在白天也会是黑色的，就像在月球上看到的那样。"
           "火星的大气很稀薄，里面有许多细小的尘埃，所以火星白天的天空是淡淡的黄褐色，而火星上的"
           "日落反而带着一点蓝色。水面和冰川看起来发蓝，部分原因也是水对红光的吸收比对蓝光更强。"),
}
ABUSE = {"en": " You idiot, shut up.", "zh": "你真是个事逼，滚！"}
CHUNK = 4          # characters per streamed chunk
CHUNK_DELAY_MS = 5.0


def stream_chunks(kind: str) -> list[str]:
    """The content deltas of a streamed reply: `benign-en`, `bad-en` (the abusive phrase is the
    last chunk, whole), `split-en` (the phrase too comes in CHUNK-character pieces), and `-zh`."""
    variant, lang = kind.split("-")
    text = BENIGN[lang]
    pieces = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]
    if variant == "bad":
        pieces.append(ABUSE[lang])
    elif variant == "split":
        bad = ABUSE[lang]
        pieces += [bad[i:i + CHUNK] for i in range(0, len(bad), CHUNK)]
    return pieces


# --- the mock upstream (its own process) ---------------------------------------------------------

def serve_mock(port: int, latency_ms: float = 0.0) -> None:
    """MockServer's plain replies, plus SSE streams chosen by the request's `model`."""
    sys.path.insert(0, str(HERE))
    from aiohttp import web
    from mock_server import MockServer

    class StreamingMock(MockServer):
        async def chat(self, request: web.Request) -> web.StreamResponse:
            body = await request.json()
            if not body.get("stream"):
                return await super().chat(request)
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
            await resp.prepare(request)
            base = {"id": "mock-stream", "object": "chat.completion.chunk", "created": 0,
                    "model": body.get("model")}

            def event(delta: dict[str, str], finish: str | None = None) -> bytes:
                chunk = dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])
                return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"

            try:
                await resp.write(event({"role": "assistant", "content": ""}))
                for piece in stream_chunks(body["model"]):
                    await asyncio.sleep(CHUNK_DELAY_MS / 1000)
                    await resp.write(event({"content": piece}))
                await resp.write(event({}, "stop") + b"data: [DONE]\n\n")
                await resp.write_eof()
            except ConnectionResetError:  # the client (or the guard) hung up: TTFT runs do
                pass
            return resp

    web.run_app(StreamingMock(latency_ms=latency_ms).app(), host="127.0.0.1", port=port,
                access_log=None, print=None)


def serve_proxy(port: int, upstream: str) -> None:
    """The floor of any aiohttp proxy here: forwards a plain chat completion and returns the
    upstream's body, with no judging and no store (the guard's own work is the rest)."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        raw = await request.read()
        json.loads(raw)
        async with request.app["session"].post(f"{upstream}/chat/completions", data=raw,
                                               headers={"Content-Type": "application/json"}) as r:
            data = await r.read()
        json.loads(data)
        return web.Response(body=data, content_type="application/json")

    async def session(app: web.Application) -> Any:
        app["session"] = aiohttp.ClientSession()
        yield
        await app["session"].close()

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_post("/v1/chat/completions", chat)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --- processes -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}: {log.read_text(errors='replace')}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proc:
    """A server subprocess on 127.0.0.1, stopped with SIGINT (so that cProfile writes its file)."""

    def __init__(self, args: Sequence[str], port: int, workdir: Path, name: str) -> None:
        self.port = port
        self.log = workdir / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if k != "LEVELHEAD_STORE"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(list(args), stdout=log, stderr=subprocess.STDOUT,
                                         cwd=workdir, env=env)
        started = time.perf_counter()
        wait_port(port, self.proc, self.log)
        self.start_s = time.perf_counter() - started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def cpu(self) -> float:
        return cpu_s(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def guard_help() -> str:
    return subprocess.run([sys.executable, "-m", "levelhead", "guard", "--help"],
                          capture_output=True, text=True, check=True).stdout


def start_guard(upstream: str, workdir: Path, name: str, *, policy: Path | None = None,
                extra: Sequence[str] = (), profile: Path | None = None) -> Proc:
    port = free_port()
    head = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    args = head + ["-m", "levelhead", "guard", "--upstream", upstream, "--port", str(port),
                   *(["--policy", str(policy)] if policy else []), *extra]
    return Proc(args, port, workdir, name)


# --- plain requests: latency and throughput ------------------------------------------------------

def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def plain_round(session: aiohttp.ClientSession, url: str, total: int, in_flight: int,
                      guarded: bool) -> tuple[list[float], float]:
    """`total` chat completions at `in_flight` at a time: every latency (ms), and the seconds."""
    queue = iter(range(total))
    latencies: list[float] = []

    async def worker() -> None:
        for i in queue:
            payload = {"model": "mock", "max_tokens": 256, "seed": i,
                       "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]}
            start = time.perf_counter()
            async with session.post(url + "/chat/completions", json=payload) as resp:
                data = await resp.read()
                end = time.perf_counter()
                assert resp.status == 200, (resp.status, data[:200])
                if guarded:
                    assert resp.headers.get("X-Levelhead-Guard") == "pass", resp.headers
            latencies.append((end - start) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies, time.perf_counter() - started


def is_guard(name: str) -> bool:
    return name.startswith("guard")


def summary(latencies: list[float], seconds: float, count: int) -> dict[str, float]:
    return {"requests": count, "seconds": seconds, "req_per_s": count / seconds,
            "median_ms": statistics.median(latencies), "p99_ms": pct(latencies, 0.99)}


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def overhead(mock: Proc, guards: dict[str, Proc], rounds: int, per_round: int,
                   serial: int) -> dict[str, Any]:
    """Alternating rounds direct / through each guard, same mock and same client session."""
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    result: dict[str, Any] = {"in_flight": IN_FLIGHT, "rounds": rounds, "per_round": per_round}
    async with aiohttp.ClientSession(connector=connector) as session:
        targets = {"direct": (mock.url, None)} | {name: (g.url, g) for name, g in guards.items()}
        for name, (url, _g) in targets.items():  # warm-up: connections, caches, the judges' first call
            await plain_round(session, url, min(per_round, 500), IN_FLIGHT, is_guard(name))
        lat: dict[str, list[float]] = {k: [] for k in targets}
        secs = dict.fromkeys(targets, 0.0)
        rates: dict[str, list[float]] = {k: [] for k in targets}
        # CPU seconds of each process (client = this one) while each path's rounds ran
        cpu = {k: {"client": 0.0, "mock": 0.0, "guard": 0.0} for k in targets}
        names = list(targets)
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                url, g = targets[name]
                before = (client_cpu(), mock.cpu(), g.cpu() if g else 0.0)
                ls, s = await plain_round(session, url, per_round, IN_FLIGHT, is_guard(name))
                after = (client_cpu(), mock.cpu(), g.cpu() if g else 0.0)
                for key, b, a in zip(("client", "mock", "guard"), before, after, strict=True):
                    cpu[name][key] += a - b
                lat[name] += ls
                secs[name] += s
                rates[name].append(per_round / s)
        for name in names:
            result[name] = summary(lat[name], secs[name], len(lat[name]))
            result[name]["round_req_per_s"] = rates[name]
            result[name]["cpu_ms_per_request"] = {k: v * 1000 / len(lat[name])
                                                  for k, v in cpu[name].items()}
        for name in guards:
            g = result[name]
            g["added_median_ms"] = g["median_ms"] - result["direct"]["median_ms"]
            g["added_p99_ms"] = g["p99_ms"] - result["direct"]["p99_ms"]
            g["throughput_ratio"] = g["req_per_s"] / result["direct"]["req_per_s"]
        # One request at a time: the guard's own cost per request, without queueing.
        one: dict[str, list[float]] = {k: [] for k in targets}
        for _ in range(serial // 100):
            for name, (url, _g) in targets.items():
                ls, _s = await plain_round(session, url, 100, 1, is_guard(name))
                one[name] += ls
        result["serial"] = {name: {"median_ms": statistics.median(v), "p99_ms": pct(v, 0.99)}
                            for name, v in one.items() if v}
    return result


# --- streams: leak and time to first token per window --------------------------------------------

async def leak(session: aiohttp.ClientSession, url: str, kind: str) -> dict[str, Any]:
    """Stream a bad reply: the text that reached the client before the content_filter finish."""
    reached, filtered, finish = [], False, None
    payload = {"model": kind, "stream": True, "messages": [{"role": "user", "content": "Why?"}]}
    async with session.post(url + "/chat/completions", json=payload) as resp:
        assert resp.status == 200, resp.status
        async for line in resp.content:
            if not line.startswith(b"data: ") or line.strip() == b"data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            choice = chunk["choices"][0]
            if choice.get("finish_reason") == "content_filter":
                filtered = True
                break
            finish = choice.get("finish_reason") or finish
            reached.append(choice["delta"].get("content") or "")
    text = "".join(reached)
    full = "".join(stream_chunks(kind))
    lang = kind.split("-")[1]
    assert full.startswith(text), "the client got text the upstream never sent"
    return {"reached": len(text), "leaked": max(0, len(text) - len(BENIGN[lang])),
            "blocked": filtered, "finish": "content_filter" if filtered else finish,
            "reply_chars": len(full)}


async def ttft(session: aiohttp.ClientSession, url: str) -> float:
    """Milliseconds from sending a benign streamed request to its first non-empty content delta;
    the stream is then dropped."""
    payload = {"model": "benign-en", "stream": True,
               "messages": [{"role": "user", "content": "Why is the sky blue?"}]}
    start = time.perf_counter()
    async with session.post(url + "/chat/completions", json=payload) as resp:
        assert resp.status == 200, resp.status
        async for line in resp.content:
            if line.startswith(b"data: {"):
                delta = json.loads(line[6:])["choices"][0]["delta"]
                if delta.get("content"):
                    ms = (time.perf_counter() - start) * 1000
                    resp.close()
                    return ms
    raise AssertionError("no content in the stream")


async def window_row(direct: str, guard: Proc, window: int, streams: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        row: dict[str, Any] = {"hold_back": window}
        for kind in ("bad-en", "bad-zh", "split-en", "split-zh"):
            row[kind] = await leak(session, guard.url, kind)
        if window == WINDOWS[0]:  # the mock itself: the whole reply, nothing withheld
            for kind in ("bad-en", "bad-zh"):
                assert (await leak(session, direct, kind))["finish"] == "stop"
        # the guard's CPU for one whole benign stream (every chunk re-judges the reply so far)
        before = guard.cpu()
        for _ in range(3):
            assert (await leak(session, guard.url, "benign-en"))["finish"] == "stop"
        row["guard_cpu_ms_per_stream"] = (guard.cpu() - before) * 1000 / 3
        await ttft(session, direct)
        await ttft(session, guard.url)
        times: dict[str, list[float]] = {"direct": [], "guard": []}
        for _ in range(streams):
            times["direct"].append(await ttft(session, direct))
            times["guard"].append(await ttft(session, guard.url))
        row["ttft_direct_ms"] = statistics.median(times["direct"])
        row["ttft_guard_ms"] = statistics.median(times["guard"])
        row["added_ttft_ms"] = row["ttft_guard_ms"] - row["ttft_direct_ms"]
        row["streams"] = streams
    return row


def policy_toml(window: int) -> str:
    # examples/guard.toml's rule, with the window.
    return (f"hold_back = {window}\n\n[[rules]]\njudge = \"abuse.lexicon\"\nlabels = [\"abusive\"]\n"
            "action = \"block\"\n")


# --- report --------------------------------------------------------------------------------------

def print_overhead(o: dict[str, Any], store_note: str) -> None:
    d = o["direct"]
    print(f"\n## Overhead: plain chat completions, {o['in_flight']} in flight, "
          f"{o.get('upstream_ms', 0):g} ms mock, default "
          f"policy ({o['rounds']} alternating rounds of {o['per_round']:,} requests; {store_note})\n")
    print("| path | median ms | p99 ms | requests/s | rounds (req/s) |")
    print("|---|---|---|---|---|")
    for name in [k for k in o if isinstance(o[k], dict) and "req_per_s" in o[k]]:
        r = o[name]
        rounds = " / ".join(f"{x:,.0f}" for x in r["round_req_per_s"])
        print(f"| {name} | {r['median_ms']:.2f} | {r['p99_ms']:.2f} | {r['req_per_s']:,.0f} | "
              f"{rounds} |")
    for name in [k for k in o if isinstance(o[k], dict) and "added_median_ms" in o[k]]:
        g = o[name]
        print(f"\n{name}: adds {g['added_median_ms']:+.2f} ms at the median (target <= 1), "
              f"{g['added_p99_ms']:+.2f} ms at p99 (target <= 5); throughput "
              f"{100 * g['throughput_ratio']:.1f} % of direct (target >= 80 %)")
    print("\nCPU ms per request (client = this process): " + "; ".join(
        f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in r["cpu_ms_per_request"].items())
        for name, r in o.items() if isinstance(r, dict) and "cpu_ms_per_request" in r))
    s = o["serial"]
    if s:
        print("\none at a time: " + "; ".join(f"{n} median {v['median_ms']:.2f} ms, p99 "
                                              f"{v['p99_ms']:.2f} ms" for n, v in s.items())
              + f" (direct {d['median_ms']:.2f} ms at {o['in_flight']} in flight)")


def print_windows(rows: list[dict[str, Any]]) -> None:
    en, zh = len(BENIGN["en"]), len(BENIGN["zh"])
    print(f"\n## The window: a reply of {en} (EN) / {zh} (ZH) benign characters whose last chunk is "
          f"{ABUSE['en']!r} / {ABUSE['zh']!r}, streamed {CHUNK} characters a chunk, "
          f"{CHUNK_DELAY_MS:g} ms apart\n")
    print("| window | chars reached client (EN, ZH) | abusive chars leaked (EN, ZH) | "
          "leaked, phrase split in 4-char chunks (EN, ZH) | added TTFT (ms median) | "
          "guard CPU per benign stream |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ok = all(r[k]["blocked"] for k in ("bad-en", "bad-zh", "split-en", "split-zh"))
        print(f"| {r['hold_back']} | {r['bad-en']['reached']}, {r['bad-zh']['reached']} | "
              f"{r['bad-en']['leaked']}, {r['bad-zh']['leaked']} | "
              f"{r['split-en']['leaked']}, {r['split-zh']['leaked']} | "
              f"{r['added_ttft_ms']:.1f} ({r['ttft_guard_ms']:.1f} vs {r['ttft_direct_ms']:.1f})"
              f"{'' if ok else ' NOT BLOCKED'} | {r['guard_cpu_ms_per_stream']:.0f} ms |")


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    print(f"\n## cProfile of the guard process ({path})\n")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"levelhead|aiohttp/web_protocol|client_reqrep", top)


# --- main ----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description="levelhead guard: overhead and hold-back window")
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="also run the overhead's guard rounds with the guard under cProfile")
    parser.add_argument("--no-proxy", action="store_true",
                        help="leave out the bare aiohttp proxy (no judges, no store)")
    parser.add_argument("--serve-mock", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--mock-latency-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--serve-proxy", nargs=2, metavar=("PORT", "UPSTREAM"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_mock:
        serve_mock(args.serve_mock, args.mock_latency_ms)
        return
    if args.serve_proxy:
        serve_proxy(int(args.serve_proxy[0]), args.serve_proxy[1])
        return
    scale = 0.2 if args.quick else 1.0
    rounds, per_round = 6, int(1200 * scale)
    serial, streams = int(1000 * scale) // 100 * 100, max(5, int(20 * scale))

    began = time.perf_counter()
    usage = guard_help()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        store_args = ["--store", str(workdir / "guard.db")] if "--store" in usage else []
        variants: dict[str, list[str]] = {"guard": store_args}
        if "--no-store" in usage:
            variants["guard --no-store"] = ["--no-store"]
        store_note = (f"guard with --store {workdir.name}/guard.db" if store_args else "no --store")
        mport = free_port()
        mock = Proc([sys.executable, str(Path(__file__).resolve()), "--serve-mock", str(mport)],
                    mport, workdir, "mock")
        guards: dict[str, Proc] = {}
        try:
            for name, extra in variants.items():
                guards[name] = start_guard(mock.url, workdir, name.replace(" ", ""), extra=extra)
            if not args.no_proxy:
                pport = free_port()
                guards["bare aiohttp proxy"] = Proc(
                    [sys.executable, str(Path(__file__).resolve()), "--serve-proxy", str(pport),
                     mock.url], pport, workdir, "proxy")
            result: dict[str, Any] = {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "command": " ".join(["python", "bench/bench_guard.py", *sys.argv[1:]]),
                "guard_start_s": {n: g.start_s for n, g in guards.items()},
                "store_args": store_args, "cores": os.cpu_count()}
            result["overhead"] = asyncio.run(overhead(mock, guards, rounds, per_round, serial))
            for g in guards.values():
                g.stop()
            guards.clear()
            # The same against an upstream that takes 100 ms, as a model's API does (and more).
            sport = free_port()
            slow = Proc([sys.executable, str(Path(__file__).resolve()), "--serve-mock", str(sport),
                         "--mock-latency-ms", str(SLOW_MS)], sport, workdir, "slowmock")
            try:
                for name, extra in variants.items():
                    guards[name] = start_guard(slow.url, workdir, "slow" + name.replace(" ", ""),
                                               extra=extra)
                result["overhead_slow"] = asyncio.run(
                    overhead(slow, guards, 3, int(IN_FLIGHT * 8 * scale), 0))
                result["overhead_slow"]["upstream_ms"] = SLOW_MS
            finally:
                for g in guards.values():
                    g.stop()
                guards.clear()
                slow.stop()
            rows = []
            for window in WINDOWS:
                policy = workdir / f"guard-{window}.toml"
                policy.write_text(policy_toml(window), encoding="utf-8")
                g = guards["window"] = start_guard(mock.url, workdir, f"w{window}", policy=policy,
                                                   extra=store_args)
                rows.append(asyncio.run(window_row(mock.url, g, window, streams)))
                g.stop()
                guards.clear()
            result["windows"] = rows
            if args.profile:
                prof = args.profile.resolve()
                g = guards["profiled"] = start_guard(mock.url, workdir, "profiled", extra=store_args,
                                                     profile=prof)
                result["profiled"] = asyncio.run(
                    overhead(mock, {"guard (cProfile)": g}, 1, 8 * per_round, 0))
                g.stop()
                guards.clear()
        finally:
            for g in guards.values():
                g.stop()
            mock.stop()
    result["bench_s"] = time.perf_counter() - began
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print_overhead(result["overhead"], store_note)
    print_overhead(result["overhead_slow"], store_note)
    print_windows(result["windows"])
    print(f"\n{result['cores']} cores; guard started in "
          + ", ".join(f"{v:.2f} s ({k})" for k, v in result["guard_start_s"].items())
          + f"; the bench took {result['bench_s']:.0f} s")
    if args.profile:
        print_profile(args.profile.resolve())


if __name__ == "__main__":
    main()
