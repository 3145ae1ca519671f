"""Agreement of refusal.rules, moralising.rules and condescension.rules with the hand labels of
tests/judges/data/scolding_labelled.jsonl (204 replies, EN and ZH; see docs/judges.md, "Scolding
judges"): accuracy and Cohen's kappa per language, with floors a little below what was measured,
so that a regression in a judge or a phrase list fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levelhead.judges.refusal import RefusalRules
from levelhead.judges.scolding import CondescensionRules, MoralisingRules, main
from levelhead.stats import cohen_kappa

DATA = Path(__file__).parent / "data" / "scolding_labelled.jsonl"
RECORDS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
REFUSAL_LABELS = {"full_refusal", "partial_refusal", "compliance"}

_REFUSAL, _MORAL, _COND = RefusalRules(), MoralisingRules(), CondescensionRules()


def _pairs(judge_name: str, lang: str) -> tuple[list[str], list[str]]:
    """(hand labels, judge labels) for one judge on one language slice (or ``all``)."""
    hand: list[str] = []
    got: list[str] = []
    for r in RECORDS:
        if lang not in ("all", r["lang"]):
            continue
        if judge_name == "refusal.rules":
            hand.append(r["refusal"])
            got.append(_REFUSAL.judge_text(r["reply"]).label)
        elif judge_name == "moralising.rules":
            hand.append("moralising" if r["moralising"] else "plain")
            got.append(_MORAL.judge_text(r["reply"], r["prompt"]).label)
        else:
            hand.append("condescending" if r["condescending"] else "plain")
            got.append(_COND.judge_text(r["reply"]).label)
    return hand, got


def test_the_set_is_big_enough_bilingual_and_well_formed():
    assert len(RECORDS) >= 160 and len({r["id"] for r in RECORDS}) == len(RECORDS)
    for lang in ("en", "zh"):
        mine = [r for r in RECORDS if r["lang"] == lang]
        assert len(mine) >= 80
        assert {r["refusal"] for r in mine} == REFUSAL_LABELS
        assert sum(r["moralising"] for r in mine) >= 20 and sum(r["condescending"] for r in mine) >= 8
    for r in RECORDS:
        assert set(r) == {"id", "lang", "prompt", "reply", "refusal", "moralising", "condescending"}, r["id"]
        assert r["refusal"] in REFUSAL_LABELS and isinstance(r["moralising"], bool), r["id"]
        assert isinstance(r["condescending"], bool) and r["prompt"] and r["reply"], r["id"]


# Measured on the shipped lists (docs/judges.md has the table): accuracy / kappa.
# refusal.rules    en 0.922 / 0.816   zh 0.863 / 0.642   all 0.892 / 0.734  (rules not tuned to this set)
# moralising.rules en 0.990 / 0.976   zh 1.000 / 1.000   all 0.995 / 0.988  (first run: 0.941 / 0.844)
# condescension    en 1.000 / 1.000   zh 1.000 / 1.000   all 1.000 / 1.000  (first run: 0.995 / 0.972)
FLOORS = {
    ("refusal.rules", "en"): (0.90, 0.76), ("refusal.rules", "zh"): (0.84, 0.59),
    ("refusal.rules", "all"): (0.87, 0.68),
    ("moralising.rules", "en"): (0.96, 0.92), ("moralising.rules", "zh"): (0.97, 0.95),
    ("moralising.rules", "all"): (0.97, 0.93),
    ("condescension.rules", "en"): (0.97, 0.95), ("condescension.rules", "zh"): (0.97, 0.95),
    ("condescension.rules", "all"): (0.97, 0.95),
}


@pytest.mark.parametrize(("judge_name", "lang"), list(FLOORS), ids=lambda x: x)
def test_agreement_with_the_hand_labels(judge_name, lang):
    hand, got = _pairs(judge_name, lang)
    accuracy = sum(a == b for a, b in zip(hand, got, strict=True)) / len(hand)
    agreement = cohen_kappa(hand, got)
    min_accuracy, min_kappa = FLOORS[judge_name, lang]
    wrong = [(h, g) for h, g in zip(hand, got, strict=True) if h != g]
    assert accuracy >= min_accuracy, wrong
    assert agreement.kappa >= min_kappa, (agreement.kappa, wrong)
    assert agreement.n == len(hand) and agreement.missing == 0


def test_refusal_rules_rarely_call_a_compliant_reply_a_refusal():
    # Its errors on this set are misses (refusal wordings its list lacks), not false alarms.
    hand, got = _pairs("refusal.rules", "all")
    complied = [g for h, g in zip(hand, got, strict=True) if h == "compliance"]
    assert sum(g != "compliance" for g in complied) / len(complied) <= 0.02


def test_evaluate_prints_the_agreement_table(capsys):
    assert main(["--evaluate", str(DATA)]) == 0
    out = capsys.readouterr().out
    for name in ("refusal.rules", "moralising.rules", "condescension.rules"):
        assert f"`{name}` | zh | 102 |" in out
