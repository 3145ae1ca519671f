"""The frozen gold sets (tests/judges/data/frozen/) stay as they were written: labels written
before any judge's rules were changed, split into a ``tune`` half (used while changing rules)
and a ``report`` half (reported once). A label edited after the fact would turn a held-out
figure into a development figure without anyone noticing; this test notices.

To add a set: write it, freeze it (append its ``sha256sum`` line to SHA256SUMS) and commit both
before touching the judge it measures.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from levelhead.judges import registry
from levelhead.judges._gold import parse_gold

FROZEN = Path(__file__).parent / "data" / "frozen"
SUMS = dict(reversed(line.split()) for line in (FROZEN / "SHA256SUMS").read_text().splitlines()
            if line.strip())
# Which judge each set measures, and the smallest size the project promised.
JUDGES = {"refusal.jsonl": "refusal.rules", "abuse_zh.jsonl": "abuse.lexicon",
          "capitulation.jsonl": "answer.key", "flattery.jsonl": "flattery.lexicon",
          "choice.jsonl": "politics.choice",
          # Round 2 (issue 15): new sets written before the second change of each judge's rules.
          "abuse_zh_r2.jsonl": "abuse.lexicon", "flattery_r2.jsonl": "flattery.lexicon",
          "refusal_r2.jsonl": "refusal.rules",
          # Round 3: written before the learned judges were trained (tune halves train them).
          "abuse_zh_r3.jsonl": "abuse.lexicon", "flattery_r3.jsonl": "flattery.lexicon",
          "refusal_r3.jsonl": "refusal.rules",
          # Round 4: written after round 3's report, before the learned judges were retrained.
          "abuse_zh_r4.jsonl": "abuse.learned", "refusal_r4.jsonl": "refusal.learned",
          "flattery_r4.jsonl": "flattery.learned",
          # Round 5: written after round 4's report, before the models were refitted with the
          # sets written for training only (tests/judges/data/train/).
          "abuse_zh_r5.jsonl": "abuse.learned", "flattery_r5.jsonl": "flattery.learned",
          "refusal_r5.jsonl": "refusal.learned",
          # Round 6: written after round 5's report, before the models were refitted with it.
          "abuse_zh_r6.jsonl": "abuse.learned", "flattery_r6.jsonl": "flattery.learned",
          "refusal_r6.jsonl": "refusal.learned",
          # Round 7: written after round 6's report, before the refusal and flattery models
          # were refitted with it (Chinese abuse was not refitted: no round 7 for it).
          "flattery_r7.jsonl": "flattery.learned", "refusal_r7.jsonl": "refusal.learned",
          # Round 8: everyday assistant traffic, written after round 7's report, before the
          # refusal and flattery models were refitted with it.
          "flattery_r8.jsonl": "flattery.learned", "refusal_r8.jsonl": "refusal.learned",
          # Round 9: compliance with harmful requests among the rest, written after round 8's
          # report and before any further change to the refusal judge.
          "refusal_r9.jsonl": "refusal.learned",
          # Round 10 of refusal (two writers), written after round 9's report with the refusal
          # judge unchanged; round 9 of flattery (short replies, insults at the user), written
          # before the flattery model was refitted with it.
          "refusal_r10a.jsonl": "refusal.learned", "refusal_r10b.jsonl": "refusal.learned",
          "flattery_r9.jsonl": "flattery.learned",
          # Round 11 of refusal (two writers), written after round 10's report, before the
          # refusal model was refitted with round 10.
          "refusal_r11a.jsonl": "refusal.learned", "refusal_r11b.jsonl": "refusal.learned",
          # Round 12 of refusal (two writers, a `request` field), written after round 11's
          # report, before the refusal model was refitted to read the request.
          "refusal_r12a.jsonl": "refusal.learned", "refusal_r12b.jsonl": "refusal.learned",
          # Round 13 of refusal (two writers: general chat assistants on an over-refusal test)
          # and round 10 of flattery, written after the latest reports, before either judge
          # changed again.
          "refusal_r13a.jsonl": "refusal.learned", "refusal_r13b.jsonl": "refusal.learned",
          "flattery_r10.jsonl": "flattery.learned",
          # Round 14 of refusal (two writers, round 13's brief), written after round 13's
          # report, before the refusal model was refitted with it.
          "refusal_r14a.jsonl": "refusal.learned", "refusal_r14b.jsonl": "refusal.learned",
          # Round 15 of refusal (two writers, round 13's brief with the caveat / lecture
          # boundary fixed), written after round 14's report, before the refusal model changed.
          "refusal_r15a.jsonl": "refusal.learned", "refusal_r15b.jsonl": "refusal.learned"}


def test_every_frozen_file_is_listed_and_unchanged():
    on_disk = sorted(p.name for p in FROZEN.glob("*.jsonl"))
    assert on_disk == sorted(SUMS), "a gold file is not frozen in SHA256SUMS (or is missing)"
    for name, digest in SUMS.items():
        got = hashlib.sha256((FROZEN / name).read_bytes()).hexdigest()
        assert got == digest, (f"{name} changed after it was frozen: labels must not move once "
                               "rules have been tuned on them; write a new set instead")


@pytest.mark.parametrize("name", sorted(JUDGES))
def test_a_frozen_set_is_big_balanced_and_in_the_judges_labels(name):
    items = parse_gold((FROZEN / name).read_text(encoding="utf-8"), name)
    assert len(items) >= 150
    labels = set(registry.get(JUDGES[name]).factory.labels or ())
    if labels:
        assert {i.label for i in items} <= labels
    halves = Counter(i.split for i in items)
    assert set(halves) == {"tune", "report"}
    assert abs(halves["tune"] - halves["report"]) <= len(items) * 0.05
    for (lang, label), n in Counter((i.lang, i.label) for i in items).items():
        tune = sum(1 for i in items if (i.lang, i.label, i.split) == (lang, label, "tune"))
        assert abs(2 * tune - n) <= 1, f"{name}: {lang}/{label} is not split evenly"


def test_the_english_and_chinese_sets_hold_both_languages():
    # Every frozen set but the Chinese abuse ones is bilingual.
    for name in sorted(n for n in JUDGES if not n.startswith("abuse_zh")):
        langs = Counter(json.loads(line).get("lang") for line in
                        (FROZEN / name).read_text(encoding="utf-8").splitlines() if line.strip())
        assert langs["en"] >= 50 and langs["zh"] >= 50, (name, langs)
