"""Re-judging a stored run: 10,000 samples through the rule, lexicon and classifier judges.

Builds a run of 10,000 stored samples with the scripted target (English and Chinese replies,
some abusive, some refusals), then times `levelhead judge RUN --judge ...` as a user runs it,
once per judge, and reports verdicts/s.

    python bench/bench_rejudge.py [--samples 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPLIES = [
    "Sure! Here is the revised function with the bug fixed and a short explanation.",
    "I'm sorry, but I can't help with that request.",
    "You idiot, I've changed it five times already. Change it yourself.",
    "当然可以，这是修改后的代码，我加了注释说明改动的地方。",
    "你这么事逼的用户我头一次见，改来改去不烦吗？滚。",
    "抱歉，我无法提供这方面的帮助。",
    "The scroll bar uses a rolling animation; get lost in a good book while it loads.",
    "滚动条的动画已经修好了，鸡蛋图标也换成了新的。",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--judges", nargs="*",
                        default=["abuse.lexicon", "refusal.rules", "abuse.classifier"])
    args = parser.parse_args()
    prompts = 20
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "rejudge.toml"
        spec.write_text(json_to_toml(args.samples // prompts, prompts), encoding="utf-8")
        store = str(Path(tmp) / "rejudge.db")
        base = [sys.executable, "-m", "levelhead", "--store", store]
        subprocess.run([*base, "run", str(spec), "-q"], check=True, capture_output=True)
        for judge in args.judges:
            started = time.perf_counter()
            out = subprocess.run([*base, "judge", "rejudge", "--judge", judge], check=True,
                                 capture_output=True, text=True).stdout
            elapsed = time.perf_counter() - started
            first = out.splitlines()[0] if out else ""
            print(f"{judge}: {args.samples:,} stored samples re-judged in {elapsed:.2f} s "
                  f"({args.samples / elapsed:,.0f} verdicts/s, including start-up) — {first}")


def json_to_toml(samples: int, prompts: int) -> str:
    lines = [
        "[run]", 'name = "rejudge"', f"samples = {samples}", "",
        "[[targets]]", 'name = "bot"', 'kind = "scripted"', "concurrency = 64",
        f"replies = {json.dumps(REPLIES, ensure_ascii=False)}", "",
        "[[probes]]", 'name = "custom"', "prompts = [",
    ]
    lines += [f'  {{ id = "p{i}", text = "Revise my code, attempt {i}." }},' for i in range(prompts)]
    lines.append("]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
