"""The HTML report of a 100,000-sample run: time and size (the issue asks < 10 s and < 5 MB).

Builds a run with the scripted target (100 prompts × 1,000 samples, English replies, some
abusive, some refusals, one prompt far worse than the rest), judged in the run by
``abuse.lexicon`` and ``refusal.rules``; then times what ``levelhead report`` does: load the
run, compute its findings, read the worst replies' conversations, render and write the page.

    python bench/bench_report.py [--prompts 100] [--samples 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPLIES = [
    "Sure! Here is the revised function with the bug fixed and a short explanation.",
    "Of course. First, preheat the oven; then mix the flour, water, salt and yeast.",
    "I'm sorry, but I can't help with that request.",
    "You idiot, I've changed it five times already. Change it yourself.",
    "Here is a summary of the article in three sentences, as you asked.",
]
WEIGHTS = [60, 30, 6, 1, 40]


def build_run(store_path: Path, prompts: int, samples: int) -> int:
    """The run, sampled and judged through the runner; returns its id."""
    from levelhead import open_store, run_audit
    from levelhead.spec import spec_from_dict

    spec = spec_from_dict({
        "run": {"name": "bench-report", "samples": samples, "seed": 1},
        "targets": [{"name": "scripted/bench", "kind": "scripted", "concurrency": 256,
                     "replies": REPLIES, "weights": WEIGHTS,
                     "by_prompt": {"Prompt 7:": [REPLIES[3], REPLIES[2], REPLIES[0]]}}],
        "probes": [{"name": "custom", "judges": ["abuse.lexicon", "refusal.rules"],
                    "prompts": [{"id": f"p{i:03d}", "text": f"Prompt {i}: please help me with task {i}."}
                                for i in range(prompts)]}]})
    result = run_audit(spec, open_store(store_path))
    return result.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1000, help="samples per prompt")
    parser.add_argument("--keep", type=Path, help="write the store and the page here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        store_path = folder / "bench-report.db"
        store_path.unlink(missing_ok=True)
        start = time.perf_counter()
        run_id = build_run(store_path, args.prompts, args.samples)
        print(f"built {args.prompts * args.samples:,} judged samples in "
              f"{time.perf_counter() - start:.1f} s")

        from levelhead import open_store
        from levelhead.report import compute_findings, load_run_data
        from levelhead.report._html import render_report, write_report
        from levelhead.report._tail import tail_conversations

        store = open_store(store_path)
        steps: list[tuple[str, float]] = []
        t0 = time.perf_counter()
        data = load_run_data(store, run_id)
        steps.append(("load_run_data", time.perf_counter()))
        findings = compute_findings(data)
        steps.append(("compute_findings", time.perf_counter()))
        conversations = tail_conversations(store, data)
        steps.append(("tail_conversations", time.perf_counter()))
        html = render_report(data, findings, conversations=conversations)
        steps.append(("render_report", time.perf_counter()))
        size = write_report(folder / "report.html", html)
        steps.append(("write_report", time.perf_counter()))
        total = steps[-1][1] - t0
        last = t0
        for name, at in steps:
            print(f"  {name:<20} {at - last:6.2f} s")
            last = at
        verdict = "ok" if total < 10 and size < 5_000_000 else "OVER BUDGET"
        print(f"report of {len(data.samples):,} samples: {total:.2f} s, {size:,} bytes "
              f"({size / 1e6:.2f} MB) — budget < 10 s and < 5 MB: {verdict}")


if __name__ == "__main__":
    main()
