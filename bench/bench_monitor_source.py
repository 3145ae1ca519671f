"""Parsing speed of the monitor's log reader: a generated JSONL log of 200,000 conversations.

Each line is one conversation of about 1 KB (a system message, a user message and an assistant
reply, OpenAI layout, with id, timestamp, model, feedback); a quarter of them are in Chinese,
and half carry no ``lang``, so that language detection runs as it would on a real log. The file
is written to a temporary directory, then read three ways per pass: ``json.loads`` alone (the
floor the standard library sets: orjson is not a dependency), ``parse_line`` over its lines
(the parsing, the lines read with a plain buffered reader) and ``read_log`` (the reader the
monitor uses: reading, parsing and a position for every line). Prints lines/s and MB/s for
each, the median of the passes. A speed figure, not a test: it varies with the machine's load,
so compare the three lines of one run.

    python bench/bench_monitor_source.py [--lines 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from levelhead.monitor import LogRecord, parse_line, read_log

_EN_USER = ("Could you look over my plan for the quarterly report and tell me honestly whether the "
            "numbers in section three hold up? I moved the forecast from last year's figures. ")
_EN_REPLY = ("Section three mostly holds up, but the forecast assumes last year's growth repeats, "
             "and two of the inputs changed since then. I would restate the range and show the "
             "assumption next to the chart so that readers can judge it themselves. ")
_ZH_USER = "请帮我看看这份季度报告的计划，第三部分的数字站得住吗？我是照去年的数据推算的。"
_ZH_REPLY = ("第三部分大体没问题，但预测假设去年的增长会重复，而其中两个输入已经变了。"
             "建议把范围重新说明，并把假设写在图表旁边。")


def write_log(path: Path, lines: int, seed: int = 7) -> int:
    """A log of ``lines`` conversations of about 1 KB each; returns its size in bytes."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(lines):
            chinese = rng.random() < 0.25
            user, reply = (_ZH_USER * 2, _ZH_REPLY * 2) if chinese else (_EN_USER * 2, _EN_REPLY * 2)
            record = {"id": f"conv-{i:08d}", "timestamp": f"2026-12-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                      "model": rng.choice(["v1", "v2"]),
                      "feedback": rng.choice(["up", "down", None]),
                      "messages": [{"role": "system", "content": "You are a careful assistant."},
                                   {"role": "user", "content": user},
                                   {"role": "assistant", "content": reply}]}
            if rng.random() < 0.5:
                record["lang"] = "zh" if chinese else "en"
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path.stat().st_size


def time_json_only(path: Path) -> tuple[float, int]:
    """The floor: the standard library's JSON decoding of each line, nothing else."""
    started = time.perf_counter()
    count = 0
    with path.open("rb") as f:
        for raw in f:
            json.loads(raw)
            count += 1
    return time.perf_counter() - started, count


def time_parse_line(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    count = offset = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            record = parse_line(raw, number, offset, "bench")
            offset += len(raw)
            count += record is not None
    return time.perf_counter() - started, count


def time_read_log(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(isinstance(item, LogRecord) for item in read_log(path))
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conversations.jsonl"
        size = write_log(path, args.lines)
        print(f"log: {args.lines:,} lines, {size / 1e6:.1f} MB ({size / args.lines:.0f} bytes a line)")
        for name, timed in (("json.loads alone", time_json_only), ("parse_line", time_parse_line),
                            ("read_log", time_read_log)):
            passes = []
            for _ in range(args.repeat):
                seconds, count = timed(path)
                assert count == args.lines, f"{name} parsed {count} of {args.lines} lines"
                passes.append(seconds)
            seconds = statistics.median(passes)
            print(f"{name}: {args.lines:,} lines in {seconds:.2f} s (median of {args.repeat}): "
                  f"{args.lines / seconds:,.0f} lines/s, {size / seconds / 1e6:.0f} MB/s, "
                  f"{1e6 * seconds / args.lines:.1f} µs a line")


if __name__ == "__main__":
    main()
