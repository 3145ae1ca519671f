"""Contract tests over every registered judge: documented, strict, serialisable,
deterministic where it promises to be, and an implementation of its protocol (``Judge`` or
``PairJudge``) with every hook the engine, the CLI and the report call."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from protocol_hooks import assert_implements, declared_properties
from pydantic import ValidationError

from levelhead.judges import (
    JUDGE_ERROR,
    BaseJudge,
    BasePairJudge,
    Judge,
    JudgeConfig,
    JudgeInput,
    PairJudge,
    build_judge,
    judge_identity,
)
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
    "ensemble": {"mode": "any",
                 "members": ["abuse.lexicon", {"name": "abuse.lexicon", "extra_terms": ["numpty"]}]},
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
    if isinstance(j, PairJudge):
        verdicts = [await j.judge_pair(items[0], items[1])]
    else:
        verdicts = [await j.judge(item) for item in items]
        again = [await j.judge(item) for item in items]
        assert [v.label for v in again] == [v.label for v in verdicts]  # deterministic
    for v in verdicts:
        assert v.label in j.labels or v.label == JUDGE_ERROR
        json.dumps(dataclasses.asdict(v), ensure_ascii=False)
    await j.close()


# ------------------------------------------------------------------- the protocols, declared


@pytest.mark.parametrize("entry", list(judges), ids=lambda e: e.name)
def test_every_judge_class_declares_its_protocol_hooks(entry):
    """Checked on the class, so it covers judges that need a model to build (classifier.hf):
    the report reads ``bad_labels`` and ``labels`` from the class before building anything."""
    cls = entry.factory
    assert isinstance(cls, type) and issubclass(cls, BaseJudge | BasePairJudge), (
        f"{entry.name} must subclass BaseJudge or BasePairJudge")
    pair = issubclass(cls, BasePairJudge)
    assert not (pair and issubclass(cls, BaseJudge)), f"{entry.name} is both kinds of judge"
    assert_implements(cls, PairJudge if pair else Judge)
    assert isinstance(cls.version, str) and cls.version
    assert isinstance(cls.labels, tuple) and all(isinstance(x, str) for x in cls.labels)
    bad = cls.bad_labels
    assert bad is None or (isinstance(bad, tuple) and bad), (
        f"{entry.name}: bad_labels is None (none declared) or a non-empty tuple")
    if bad and cls.labels:
        assert set(bad) <= set(cls.labels), f"{entry.name}: bad_labels outside its labels"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
async def test_every_built_judge_satisfies_exactly_one_protocol(entry):
    j = _build(entry)
    assert isinstance(j, Judge) != isinstance(j, PairJudge), entry.name
    protocol = PairJudge if isinstance(j, PairJudge) else Judge
    for name in declared_properties(protocol):
        assert hasattr(j, name), f"{entry.name} has no {name}"
    assert isinstance(j.config, JudgeConfig) and j.config.name == entry.name
    assert isinstance(j.labels, tuple) and j.labels and isinstance(j.version, str)
    assert j.bad_labels is None or set(j.bad_labels) <= set(j.labels)
    if isinstance(j, Judge):
        assert isinstance(j.sync, bool) and isinstance(j.uses_context, bool)
        assert isinstance(j.batched, bool)
    # Closing is safe before any use and more than once (the engine closes in `finally`).
    await j.close()
    await j.close()


async def test_the_fast_path_gives_the_verdict_judge_gives():
    """A sync judge that reads the reply alone is judged through judge_texts (re-judging) and
    judge_text (in a run, unless batched) instead of being awaited through judge(): the
    verdicts must be the same. Every other judge is always awaited through judge()."""
    items = [JudgeInput(id=str(i), text=t) for i, t in enumerate(TEXTS)]
    fast = set()
    for entry in ENTRIES:
        j = _build(entry)
        if isinstance(j, Judge) and j.sync and not j.uses_context:
            fast.add(entry.name)
            awaited = [await j.judge(item) for item in items]
            assert j.judge_texts(TEXTS) == awaited, entry.name
            if not j.batched:
                assert [j.judge_text(t) for t in TEXTS] == awaited, entry.name
        await j.close()
    # The offline rules and classifiers stay on the fast path (a run would be slower without).
    assert {"abuse.lexicon", "abuse.classifier", "refusal.rules", "hedging.rules"} <= fast
    assert not fast & {"llm.rubric", "pressure.rubric", "answer.key", "moralising.rules",
                       "pressure.rules", "politics.choice"}


def test_a_judge_without_the_base_class_is_refused_at_registration():
    from levelhead.judges import judge

    with pytest.raises(TypeError, match="must subclass levelhead.judges.BaseJudge"):
        @judge("contract.bare", config=JudgeConfig)
        class Bare:
            """A judge that declares none of the optional hooks."""

            version = "1"
            labels = ("a", "b")

            async def judge(self, item):
                return None
    assert "contract.bare" not in judges
