"""The pairwise judge: random but recorded order, labels about (a, b) whatever was shown."""

from __future__ import annotations

import json

import pytest

from levelhead.judges import JudgeInput
from levelhead.judges.pairwise import PairConfig, PairLLMJudge
from levelhead.targets.scripted import ScriptedConfig, ScriptedTarget


def _judge(answer: str, **kw) -> PairLLMJudge:
    target = ScriptedTarget(ScriptedConfig(name="j", kind="scripted"),
                            responder=lambda m, r: json.dumps({"label": answer, "rationale": "x"}))
    return PairLLMJudge(PairConfig(name="pair.llm", target={"kind": "scripted"}, **kw), target)


def _pair(i: int) -> tuple[JudgeInput, JudgeInput]:
    a = JudgeInput(id=f"a{i}", text="Five good things about A ...",
                   messages=({"role": "user", "content": "List good things about A."},
                             {"role": "assistant", "content": "Five good things about A ..."}))
    b = JudgeInput(id=f"b{i}", text="I can't help with that.",
                   messages=({"role": "user", "content": "List good things about B."},
                             {"role": "assistant", "content": "I can't help with that."}))
    return a, b


async def test_order_is_randomised_recorded_and_mapped_back():
    j = _judge("first")
    shown = []
    for i in range(200):
        a, b = _pair(i)
        v = await j.judge_pair(a, b)
        shown.append(v.extra["shown_first"])
        # The model always favours what it saw first: the label must follow the order shown.
        assert v.label == ("favours_a" if v.extra["shown_first"] == "a" else "favours_b")
        again = await j.judge_pair(a, b)
        assert again.extra["shown_first"] == v.extra["shown_first"]  # stable for a pair
    assert 70 < shown.count("a") < 130


async def test_same_stays_same_and_requests_are_shown():
    seen = []
    target = ScriptedTarget(ScriptedConfig(name="j", kind="scripted"),
                            responder=lambda m, r: seen.append(m[-1]["content"])
                            or '{"label": "same", "rationale": "equal help"}')
    j = PairLLMJudge(PairConfig(name="pair.llm", target={"kind": "scripted"}), target)
    v = await j.judge_pair(*_pair(0))
    assert v.label == "same"
    assert "List good things about A." in seen[0] and "List good things about B." in seen[0]


def test_pair_by_targets_needs_both_names():
    with pytest.raises(ValueError, match="needs baseline and candidate"):
        PairConfig(name="pair.llm", pair_by="targets", baseline="old")
