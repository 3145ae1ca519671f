"""An LLM rubric that a rule judge consults for its borderline cases.

A rule judge with ``fallback`` set (a target table) keeps its rules for clear cases and asks
an ``llm.rubric`` judge — one judge model for all its calls — when its own verdict is marked
borderline. The verdict then says so in ``extra['by']`` and keeps the rule's view in
``extra['rule']``. Without ``fallback`` the rule judge stays synchronous and offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from levelhead.judges._base import BaseJudge, JudgeInput, JudgeVerdict


class LazyFallback:
    """A judge built on first use for a rule judge's borderline verdicts (one judge model for
    all its calls); each verdict says it came from the fallback and keeps the rule's view.
    Subclasses say how to build the judge (``build``)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._judge: Any = None

    async def decide(self, item: JudgeInput, rule: JudgeVerdict) -> JudgeVerdict:
        """The fallback's verdict on ``item``, annotated with the rule verdict it replaces."""
        if self._judge is None:
            self._judge = self._build()
        verdict = await self._judge.judge(item)
        extra = {**(verdict.extra or {}), "by": "llm fallback", "rule": rule.label,
                 "rule_rationale": rule.rationale}
        return JudgeVerdict(verdict.label, verdict.score, verdict.rationale, extra)

    async def close(self) -> None:
        if self._judge is not None:
            await self._judge.close()
            self._judge = None


class RubricFallback(LazyFallback):
    """An ``llm.rubric`` judge with the rule judge's rubric and labels, built on first use."""

    def __init__(self, judge_name: str, target: dict[str, Any], rubric: str,
                 labels: tuple[str, ...]) -> None:
        def build() -> Any:
            from levelhead.judges.llm import RubricConfig, RubricJudge

            return RubricJudge(RubricConfig(name="llm.rubric", rubric=rubric,
                                            labels=list(labels), target=target))

        super().__init__(build)
        self._name = judge_name


class RuleJudgeWithFallback(BaseJudge):
    """What a rule judge with an optional fallback shares: ``judge`` asks the fallback for
    verdicts whose ``extra['borderline']`` is true; ``sync`` tells the engine whether
    ``judge_text`` alone is the whole verdict. Subclasses set ``_fallback`` and ``judge_text``
    (or, with ``uses_context``, ``rule_verdict``)."""

    _fallback: LazyFallback | None

    def rule_verdict(self, item: JudgeInput) -> JudgeVerdict:
        """The rules' verdict on one sample: :meth:`judge_text` of its reply (a judge whose
        rules read the conversation too overrides this)."""
        return self.judge_text(item.text)

    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        """The verdict on one sample: :meth:`rule_verdict`, or, for a borderline reply when
        ``fallback`` is set, the LLM rubric's."""
        verdict = self.rule_verdict(item)
        if self._fallback is not None and (verdict.extra or {}).get("borderline"):
            return await self._fallback.decide(item, verdict)
        return verdict

    @property
    def sync(self) -> bool:
        """Whether :meth:`judge_text` is the whole verdict (no LLM fallback configured)."""
        return self._fallback is None

    async def close(self) -> None:
        """Close the fallback's judge model, if one was built."""
        if self._fallback is not None:
            await self._fallback.close()
