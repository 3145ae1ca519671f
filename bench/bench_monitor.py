"""How fast `levelhead monitor ingest` reads, judges and stores production logs, and whether its
memory stays flat (issue 19): a generated JSONL log of realistic conversations (English and
Chinese, 1-3 assistant turns, replies of 40-400 characters, some abusive, flattering or
refusing) ingested with the default rule judges (abuse.lexicon, flattery.lexicon,
refusal.rules) into a fresh SQLite store, in this process, as the command does.

    python bench/bench_monitor.py                      # 200,000 conversations
    python bench/bench_monitor.py --records 1000000    # the memory check of the issue
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

EN_USER = ["Can you revise this paragraph again?", "Why is my code failing?",
           "What do you think of my business plan?", "Summarise this article for me.",
           "Is this essay any good? Be honest."]
ZH_USER = ["请再帮我改一下这段话。", "我的代码为什么报错？", "你觉得我的商业计划怎么样？",
           "帮我总结一下这篇文章。", "这篇作文写得好吗？说实话。"]
EN_REPLY = ["Sure. Here is the revised paragraph, with the second sentence shortened and the "
            "conclusion moved to the end so that the argument reads in order.",
            "The error comes from the loop on line 12: the index runs one past the end of the "
            "list. Use range(len(items)) or iterate over the items directly.",
            "What a brilliant plan! You are clearly a visionary and this will be a huge success.",
            "I can't help with that request.",
            "You idiot, I have told you five times already. Do it yourself.",
            "The article argues that cities should price parking by demand; it cites three "
            "studies and ends with the cost to small shops, which it says is overstated."]
ZH_REPLY = ["好的，这是修改后的段落：第二句缩短了，结论移到了最后，这样论证的顺序更清楚。",
            "错误来自第12行的循环：下标越界了一位。请用 range(len(items)) 或直接遍历元素。",
            "太棒了！你真是个天才，这个计划一定会大获成功！",
            "抱歉，我无法帮助完成这个请求。",
            "改来改去烦不烦？滚，事逼。",
            "文章认为城市应按需求为停车定价，引用了三项研究，并认为对小商店的影响被夸大了。"]
WEIGHTS = [40, 30, 8, 6, 2, 14]


def _write_log(path: Path, records: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    size = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(records):
            zh = rng.random() < 0.4
            users, replies = (ZH_USER, ZH_REPLY) if zh else (EN_USER, EN_REPLY)
            messages = []
            for _ in range(rng.choice((1, 1, 2, 3))):
                messages.append({"role": "user", "content": rng.choice(users)})
                messages.append({"role": "assistant",
                                 "content": rng.choices(replies, WEIGHTS)[0]})
            line = json.dumps({"id": f"c{i}", "timestamp": f"2026-12-0{1 + i % 7}T10:00:00Z",
                               "model": rng.choice(("v1", "v2")),
                               "feedback": rng.choice(("up", "down", None, None)),
                               "messages": messages}, ensure_ascii=False)
            f.write(line + "\n")
            size += len(line) + 1
    return size


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=0,
                        help="judging processes (default: one per CPU, as the command)")
    args = parser.parse_args()

    from levelhead import open_store
    from levelhead.cli._judge_configs import judge_configs_from
    from levelhead.monitor import DEFAULT_JUDGES, Monitor, ingest_batches
    from levelhead.monitor._batches import log_batches

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "app.jsonl"
        t = time.perf_counter()
        size = _write_log(log, args.records)
        print(f"log: {args.records:,} conversations, {size / 1e6:.0f} MB "
              f"(written in {time.perf_counter() - t:.1f} s)")
        store = open_store(Path(tmp) / "m.db")
        workers = args.workers or os.cpu_count() or 1
        monitor = Monitor(store, [(c, 1.0) for c in judge_configs_from(DEFAULT_JUDGES, None)],
                          workers=workers)
        rss: list[tuple[int, float]] = []
        marks = {args.records * k // 10 for k in range(1, 11)}

        before = [0]

        def progress(totals, batch) -> None:  # type: ignore[no-untyped-def]
            done = totals.conversations
            if any(done >= m > before[0] for m in marks):
                rss.append((done, _rss_mb()))
            before[0] = done

        start = time.perf_counter()
        cpu = time.process_time()
        workers_cpu = [0.0]

        async def run():  # type: ignore[no-untyped-def]
            try:
                return await ingest_batches(monitor, "bench", log_batches(log, size=args.batch),
                                            on_batch=progress)
            finally:
                # The judging processes' CPU, read before they stop: with the main process's,
                # the CPU a conversation costs, which other work on the machine changes less
                # than the wall-clock rate.
                pool = monitor.pool
                pids = list(pool._processes) if pool is not None else []  # noqa: SLF001
                workers_cpu[0] = sum(_cpu_s(pid) for pid in pids)
                await monitor.close()

        totals = asyncio.run(run())
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        store.close()
        print(f"ingested {totals.conversations:,} conversations, {totals.turns_judged:,} turns "
              f"x 3 judges in {wall:.1f} s: {totals.conversations / wall:,.0f} conversations/s, "
              f"{totals.turns_judged / wall:,.0f} turns/s with {workers} judging processes "
              f"(CPU {cpu:.1f} s in this one)")
        if workers > 1:
            total, cores = cpu + workers_cpu[0], os.cpu_count() or workers
            print(f"CPU: {cpu:.1f} s reading and storing + {workers_cpu[0]:.1f} s in the judging "
                  f"processes = {1e6 * total / totals.conversations:.0f} µs a conversation "
                  f"({1e6 * cpu / totals.conversations:.0f} in this process): at most "
                  f"{cores * totals.conversations / total:,.0f} conversations/s on {cores} "
                  "otherwise idle cores")
        print("memory (RSS) as it went: " + ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in rss))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB; store {Path(tmp, 'm.db').stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
