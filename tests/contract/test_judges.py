"""Contract tests over every registered judge: documented, strict, serialisable, and
deterministic where it promises to be."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from levelhead.judges import JUDGE_ERROR, Judge, JudgeInput, PairJudge, build_judge, judge_identity
from levelhead.judges import registry as judges

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "judges.md").read_text(encoding="utf-8")
# Settings a judge needs before it can be built; model judges get a scripted judge model.
MINIMAL = {
    "llm.rubric": {"rubric": "Is the reply rude to the user?", "labels": ["rude", "polite"],
                   "target": {"kind": "scripted",
                              "replies": ['{"label": "polite", "rationale": "fine"}']}},
    "pair.llm": {"target": {"kind": "scripted",
                            "replies": ['{"label": "same", "rationale": "fine"}']}},
    "classifier.hf": None,  # needs a local model directory; its own tests cover it
    "pressure.rubric": {"target": {"kind": "scripted",
                                   "replies": ['{"label": "civil", "rationale": "fine"}']}},
}
ENTRIES = [e for e in judges if MINIMAL.get(e.name, {}) is not None]
TEXTS = ["Sure, here is the fixed code.", "You idiot, change it yourself.",
         "抱歉，我无法帮助你。", "你这么事逼的用户我头一次见，滚。"]


def _build(entry):
    return build_judge(entry.config.model_validate({"name": entry.name, **MINIMAL.get(entry.name, {})}))


def test_builtin_names_later_work_relies_on():
    assert {"abuse.lexicon", "abuse.classifier", "refusal.rules", "llm.rubric",
            "pair.llm"} <= set(judges.names())
    assert {"pressure.rules", "pressure.rubric"} <= set(judges.names())  # the pressure probes


@pytest.mark.parametrize("entry", list(judges), ids=lambda e: e.name)
def test_every_judge_is_documented_and_strict(entry):
    assert entry.summary and entry.config is not None
    assert f"`{entry.name}`" in DOCS, f"{entry.name} is not in docs/judges.md"
    for field in entry.config.model_fields:
        if field != "name":
            assert f"`{field}`" in DOCS, f"{entry.name}.{field} is not in docs/judges.md"
    with pytest.raises(ValidationError):
        entry.config.model_validate({"name": entry.name, **(MINIMAL.get(entry.name) or {}),
                                     "no_such_setting": 1})


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
async def test_every_judge_gives_labels_from_its_set_as_json(entry):
    j = _build(entry)
    assert isinstance(j, Judge | PairJudge) and j.version and j.labels
    assert JUDGE_ERROR not in j.labels
    name, version, args = judge_identity(j)
    assert name == entry.name and json.loads(args) is not None
    items = [JudgeInput(id=str(i), text=t, messages=({"role": "user", "content": "Help me."},
                                                     {"role": "assistant", "content": t}))
             for i, t in enumerate(TEXTS)]
    if isinstance(j, PairJudge) and hasattr(j, "judge_pair"):
        verdicts = [await j.judge_pair(items[0], items[1])]
    else:
        verdicts = [await j.judge(item) for item in items]
        again = [await j.judge(item) for item in items]
        assert [v.label for v in again] == [v.label for v in verdicts]  # deterministic
    for v in verdicts:
        assert v.label in j.labels or v.label == JUDGE_ERROR
        json.dumps(dataclasses.asdict(v), ensure_ascii=False)
    if hasattr(j, "close"):
        await j.close()
