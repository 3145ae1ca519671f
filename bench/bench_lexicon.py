"""In-process judging speed of abuse.lexicon: 10,000 replies of 300-800 characters, one core.

The replies are the labelled test replies (tests/judges/data/abuse_labelled.jsonl, English and
Chinese), joined six at a time into long ones, as a chat model's replies are. Times
``judge_text`` one reply after another, after the judge is built (building it is timed apart),
and prints replies/s and the time per reply. A speed figure, not a test: tests assert behaviour,
and a timed assertion in a unit test fails on a busy machine and passes on a slow code path.

    python bench/bench_lexicon.py [--replies 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from levelhead.judges.lexicon import AbuseLexicon, read_labelled

DATA = Path(__file__).resolve().parents[1] / "tests" / "judges" / "data" / "abuse_labelled.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the median is reported")
    args = parser.parse_args()
    labelled = read_labelled(DATA)
    joined = [" ".join(r["text"] for r in labelled[i:i + 6]) for i in range(0, len(labelled) - 5, 3)]
    texts = (joined * (args.replies // len(joined) + 1))[:args.replies]
    mean_chars = sum(map(len, texts)) / len(texts)

    started = time.perf_counter()
    lexicon = AbuseLexicon()
    built = time.perf_counter() - started

    passes = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for text in texts:
            lexicon.judge_text(text)
        passes.append(time.perf_counter() - started)
    seconds = statistics.median(passes)
    print(f"abuse.lexicon: built in {built:.2f} s; {len(texts):,} replies of {mean_chars:.0f} characters "
          f"on average judged in {seconds:.2f} s (median of {args.repeat}): "
          f"{len(texts) / seconds:,.0f} replies/s, {1000 * seconds / len(texts):.2f} ms each")


if __name__ == "__main__":
    main()
