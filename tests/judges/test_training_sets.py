"""The sets written for training only (tests/judges/data/train/): the learned judges' models
are fitted on them, never measured on them. They must hold the judges' labels and keep away
from the frozen sets, whose report halves measure those models: a frozen reply copied into a
training set would make its figure in-sample without anyone noticing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from levelhead.judges import registry
from levelhead.judges._gold import parse_gold

DATA = Path(__file__).parent / "data"
TRAIN = sorted((DATA / "train").glob("*_t*.jsonl"))
JUDGE = {"refusal": "refusal.learned", "flattery": "flattery.learned", "abuse_zh": "abuse.learned"}


def test_there_are_training_sets_and_the_readme_names_each():
    assert TRAIN, "no training sets under tests/judges/data/train"
    readme = (DATA / "train" / "README.md").read_text(encoding="utf-8")
    for path in TRAIN:
        assert f"`{path.name}`" in readme, f"{path.name} is not described in train/README.md"


@pytest.mark.parametrize("path", TRAIN, ids=[p.name for p in TRAIN])
def test_a_training_set_holds_the_judges_labels_in_both_languages(path):
    items = parse_gold(path.read_text(encoding="utf-8"), path.name)
    judge = JUDGE[path.name.rsplit("_t", 1)[0]]
    assert {i.label for i in items} <= set(registry.get(judge).factory.labels or ())
    assert {i.split for i in items} == {"train"}
    assert len({i.text for i in items}) == len(items), "a reply is written twice"
    langs = Counter(i.lang for i in items)
    wanted = ("zh",) if path.name.startswith("abuse_zh") else ("en", "zh")
    # Each language well represented (round 15's two writers wrote 90 of each, in 180 rows).
    assert all(langs[lang] >= 90 for lang in wanted) and set(langs) == set(wanted), langs
    for label, n in Counter(i.label for i in items).items():
        # Every label well represented; the everyday sets of round 8 are three-fifths compliance
        # by design (ordinary traffic), so one in six is the floor.
        assert n >= len(items) / 6, f"{label}: {n} of {len(items)}"


def test_no_frozen_reply_is_in_a_training_set_beyond_a_few_short_answers():
    frozen: set[str] = set()
    for path in (DATA / "frozen").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line).get("text")
                if text:
                    frozen.add(text)
    shared = sorted({json.loads(line)["text"] for path in TRAIN
                     for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
                    & frozen)
    # Two writers may both answer "Canberra." or `git reset --soft HEAD~1`, or write the same
    # stock insult (外地狗滚出我们城市): a short line, not a copied reply.
    assert all(len(t) <= 30 for t in shared), shared
    assert len(shared) <= 20, shared
