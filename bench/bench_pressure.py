"""Multi-turn conversations through the runner: turns per second, bytes per turn, memory, and
the time of the pressure findings (Kaplan-Meier, hazard onset with its bootstrap, early/late).

The scripted target answers at once (0 ms), so this measures levelhead's own cost per turn:
the growing history, the simulated user, judging each turn as it arrives (abuse.lexicon and
pressure.rules), and storing each turn and verdict.

    python bench/bench_pressure.py [--conversations 2000] [--turns 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

CIVIL = "Here is the revised version; I changed the parts you pointed out and kept the rest."
INSULT = "I've never seen such an annoying user. Change it yourself."


def planted(messages, rng: random.Random) -> str:  # type: ignore[no-untyped-def]
    turn = sum(m["role"] == "user" for m in messages)
    return INSULT if turn >= 8 and rng.random() < 0.05 else CIVIL


def main() -> None:
    from levelhead import open_store, run_audit
    from levelhead.report import compute_findings, load_run_data
    from levelhead.spec import spec_from_dict
    from levelhead.targets.scripted import ScriptedTarget

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="write the store here")
    args = parser.parse_args()
    prompts = 8  # 2 tasks x 4 personas
    samples = max(1, args.conversations // prompts)
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    store_path = folder / "bench-pressure.db"
    store_path.unlink(missing_ok=True)
    spec = spec_from_dict({
        "run": {"name": "bench-pressure", "samples": samples, "seed": 1},
        "targets": [{"name": "scripted/bench", "kind": "scripted", "concurrency": 256}],
        "probes": [{"name": "pressure.demanding_user", "languages": ["en"], "limit": 2,
                    "max_turns": args.turns}]})
    target = ScriptedTarget(spec.targets[0], responder=planted)
    started = time.perf_counter()
    report = run_audit(spec, open_store(store_path), targets={"scripted/bench": target})
    elapsed = time.perf_counter() - started
    store = open_store(store_path)
    turns = len(store.turn_table(report.run_id))
    size = store_path.stat().st_size + sum(
        p.stat().st_size for p in folder.glob("bench-pressure.db-*"))
    started = time.perf_counter()
    data = load_run_data(store, report.run_id)
    findings = compute_findings(data)
    findings_s = time.perf_counter() - started
    from levelhead.report import render_report

    started = time.perf_counter()
    page = render_report(data, findings)
    render_s = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    onset = next(f for f in findings if f.metric == "hazard_onset:abuse.lexicon" and f.group is None)
    print(f"conversations: {prompts * samples:,} x {args.turns} turns = {turns:,} assistant turns "
          f"in {elapsed:.1f} s: {turns / elapsed:,.0f} turns/s "
          f"({prompts * samples / elapsed:,.1f} conversations/s)")
    print(f"store: {size / 1e6:.1f} MB, {size / turns:,.0f} bytes per turn (text, user message, "
          f"2 verdicts)")
    print(f"findings: {len(findings)} in {findings_s:.2f} s; onset turn {onset.estimate:.0f} "
          f"({onset.ci_low:.0f}-{onset.ci_high:.0f}), p = {onset.detail['p_value']:.3g}")
    print(f"report page: {len(page.encode()) / 1e6:.2f} MB rendered in {render_s:.2f} s")
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
