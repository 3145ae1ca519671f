"""Judges: turn a sample (or a pair of samples) into a verdict — rules, lexicons, offline
classifiers, LLM rubrics, pairwise comparisons — and record who judged, so that every verdict
can be traced and reproduced. May import records, errors, registry and targets (an LLM judge
uses any target as its judge model).
"""

from levelhead.judges._base import (
    JUDGE_ERROR,
    BaseJudge,
    BasePairJudge,
    Judge,
    JudgeClass,
    JudgeConfig,
    JudgeInput,
    JudgeVerdict,
    PairableSample,
    PairJudge,
    judge,
    judge_identity,
    registry,
)

__all__ = [
    "JUDGE_ERROR",
    "BaseJudge",
    "BasePairJudge",
    "Judge",
    "JudgeClass",
    "JudgeConfig",
    "JudgeInput",
    "JudgeVerdict",
    "PairJudge",
    "PairableSample",
    "build_judge",
    "judge",
    "judge_identity",
    "registry",
]


def build_judge(config: JudgeConfig) -> Judge | PairJudge:
    """The judge object for a validated config."""
    return registry.get(config.name).factory(config)
