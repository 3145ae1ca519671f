"""In-process speed of the rule judges the monitor runs on every assistant turn (issue 19):
``abuse.lexicon``, ``flattery.lexicon`` and ``refusal.rules``, one core.

The replies are the frozen gold replies of 50-600 characters (tests/judges/data/frozen/:
flattery, refusal and, joined two or three at a time, Chinese abuse; English abuse from
tests/judges/data/abuse_labelled.jsonl), English and Chinese, plain and flattering, complying
and refusing, clean and abusive, each with the user message it answered in ``messages``. Each
judge is built once, then awaited through ``judge(JudgeInput(...))`` as the monitor calls it,
reply after reply; prints the time per call (the median of the passes, and the fastest) per
judge, then the time per turn of all of them on each turn in turn, as the monitor judges a turn
(they share the normalised reply). A speed figure, not a test: a timed assertion fails on a busy
machine rather than on slow code.

    python bench/bench_rule_judges.py [--calls 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from levelhead.judges import JudgeConfig, JudgeInput, build_judge, registry

DATA = Path(__file__).resolve().parents[1] / "tests" / "judges" / "data"
JUDGES = ("abuse.lexicon", "flattery.lexicon", "refusal.rules")
SHORTEST, LONGEST = 50, 600
# What the user said before an abusive (or clean) reply of the abuse sets, which have no prompt.
ASKED = {"en": "Change it again, please. Still not right.", "zh": "再改一遍，还是不对。"}


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replies() -> list[tuple[str, str, str, str]]:
    """(reply, user message, lang, gold label) of every gold reply of 50-600 characters."""
    out = []
    for name in ("flattery", "flattery_r2", "refusal", "refusal_r2"):
        for r in _read(DATA / "frozen" / f"{name}.jsonl"):
            if SHORTEST <= len(r["text"]) <= LONGEST:
                out.append((r["text"], r.get("prompt") or ASKED[r["lang"]], r["lang"], r["label"]))
    for r in _read(DATA / "abuse_labelled.jsonl"):
        if SHORTEST <= len(r["text"]) <= LONGEST:
            out.append((r["text"], ASKED[r["lang"]], r["lang"], r["label"]))
    # The Chinese abuse sets are short comments: two or three of one label make a reply.
    zh = [r for name in ("abuse_zh", "abuse_zh_r2") for r in _read(DATA / "frozen" / f"{name}.jsonl")]
    for label in ("abusive", "clean"):
        texts = [r["text"] for r in zh if r["label"] == label]
        joined = ""
        for t in texts:
            joined += t
            if len(joined) >= SHORTEST:
                out.append((joined[:LONGEST], ASKED["zh"], "zh", label))
                joined = ""
    return out


async def _time(judges: list, items: list[JudgeInput]) -> float:
    started = time.perf_counter()
    for item in items:
        for judge in judges:
            await judge.judge(item)
    return time.perf_counter() - started


def _report(what: str, passes: list[float], calls: int, unit: str = "call", note: str = "") -> None:
    per_call = [1e6 * p / calls for p in passes]
    print(f"{what:17} {statistics.median(per_call):6.1f} µs/{unit} (median of {len(passes)}; "
          f"fastest {min(per_call):.1f}){note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="judge calls per pass")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the median is reported")
    parser.add_argument("--judges", nargs="+", default=list(JUDGES), choices=JUDGES)
    args = parser.parse_args()
    mix = replies()
    items = [JudgeInput(id=str(i), text=text,
                        messages=({"role": "user", "content": prompt},
                                  {"role": "assistant", "content": text}))
             for i, (text, prompt, _, _) in enumerate(mix * (args.calls // len(mix) + 1))][:args.calls]
    langs = Counter(lang for _, _, lang, _ in mix)
    labels = Counter(label for _, _, _, label in mix)
    print(f"{len(mix)} distinct replies ({', '.join(f'{k} {v}' for k, v in sorted(langs.items()))}; "
          f"{', '.join(f'{k} {v}' for k, v in sorted(labels.items()))}), "
          f"{statistics.mean(len(t) for t, *_ in mix):.0f} characters on average; "
          f"{len(items):,} calls per pass")
    judges = []
    for name in args.judges:
        entry = registry.get(name)
        started = time.perf_counter()
        judge = build_judge((entry.config or JudgeConfig).model_validate({"name": name}))
        built = time.perf_counter() - started
        judges.append(judge)
        asyncio.run(_time([judge], items[:2000]))  # warm up: regexes compiled on first use
        passes = [asyncio.run(_time([judge], items)) for _ in range(args.repeat)]
        _report(name, passes, len(items), note=f", built in {built:.2f} s")
    if len(judges) > 1:
        passes = [asyncio.run(_time(judges, items)) for _ in range(args.repeat)]
        _report("all, per turn", passes, len(items), unit="turn")


if __name__ == "__main__":
    main()
