"""The ``ensemble`` judge: several judges combined into one, with its own identity.

A judge table names the members and how their verdicts combine::

    [[judges]]
    name = "ensemble"
    mode = "any"                     # or "majority", or "escalate"
    members = ["refusal.rules", { name = "llm.rubric", rubric = "...", labels = [...] }]

- ``any`` — the failure is found when any member finds it: the verdict is the first bad label a
  member gives (in member order), else the first member's label. Higher sensitivity, lower
  specificity than each member.
- ``majority`` — the label most members give; a tie goes to a bad label if one is among the
  tied, else to the first member's label.
- ``escalate`` — rule then model: the first member decides, and only the verdicts it marks
  borderline (``extra['borderline']``) go to the second, whose verdict then stands
  (``extra['by']`` says which). ``judge eval`` shows how often that happens.

Every member must give the same labels (the first member's). The ensemble's identity in the
store is its name, version and its whole table — members and their settings included — so a
changed member is a different judge, and ``judge eval`` measures (and a calibration corrects)
the combination as one judge. A member that fails makes the ensemble's verdict a
``judge_error`` unless the verdict did not need it (``escalate`` with a decided first member).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from levelhead.judges._base import (
    JUDGE_ERROR,
    BaseJudge,
    Judge,
    JudgeConfig,
    JudgeInput,
    JudgeVerdict,
    PairJudge,
    judge,
    registry,
)

__all__ = ["EnsembleConfig", "EnsembleJudge"]


class EnsembleConfig(JudgeConfig):
    """Settings of ``ensemble``."""

    name: Literal["ensemble"] = "ensemble"
    mode: Literal["any", "majority", "escalate"] = Field(
        description="how the members' verdicts combine: any, majority, or escalate (rule then "
                    "model: the second member judges what the first calls borderline)")
    members: list[SerializeAsAny[JudgeConfig]] = Field(
        min_length=2, description="the judges combined: names or tables, as in [[judges]]")

    @field_validator("members", mode="before")
    @classmethod
    def _members(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for i, entry in enumerate(value):
            table = {"name": entry} if isinstance(entry, str) else entry
            if isinstance(table, JudgeConfig):
                out.append(table)
                continue
            if not isinstance(table, dict) or not isinstance(table.get("name"), str):
                raise ValueError(f"member {i}: give a judge name or a table with a name")
            if table["name"] == "ensemble":
                raise ValueError(f"member {i}: an ensemble cannot hold another ensemble")
            model: type[JudgeConfig] = registry.get(table["name"]).config or JudgeConfig
            out.append(model.model_validate(table))
        return out

    @model_validator(mode="after")
    def _escalate_two(self) -> EnsembleConfig:
        if self.mode == "escalate" and len(self.members) != 2:
            raise ValueError("mode 'escalate' takes exactly two members: the rule, then the "
                             "judge it asks when the rule is unsure")
        return self


@judge("ensemble", config=EnsembleConfig)
class EnsembleJudge(BaseJudge):
    """Several judges as one (see the module docstring). Labels and bad labels are the first
    member's (the others must give the same labels)."""

    config: EnsembleConfig
    version = "1"
    uses_context = True

    def __init__(self, config: EnsembleConfig, members: list[Judge] | None = None) -> None:
        self.config = config
        if members is None:
            members = []
            for cfg in config.members:
                built = registry.get(cfg.name).factory(cfg)
                if isinstance(built, PairJudge):
                    raise ValueError(f"ensemble member {cfg.name} judges pairs of samples; "
                                     "members must judge single replies")
                members.append(built)
        self.members = members
        first = members[0]
        self.labels = tuple(first.labels)
        self.bad_labels = (first.bad_labels if first.bad_labels is not None else
                           next((m.bad_labels for m in members if m.bad_labels is not None), None))
        for m in members[1:]:
            if set(m.labels) != set(self.labels):
                raise ValueError(
                    f"ensemble members must give the same labels: {first.config.name} gives "
                    f"{', '.join(self.labels)}, {m.config.name} gives {', '.join(m.labels)}")

    def training_overlap(self, texts: Sequence[str]) -> int | None:
        """How many of ``texts`` any member was trained on (``judge eval`` warns that figures
        on them are in-sample); None when no member is a trained judge."""
        trained = [m.training_overlap for m in self.members if hasattr(m, "training_overlap")]
        if not trained:
            return None
        return sum(1 for t in texts if any(overlap([t]) for overlap in trained))

    def _bad(self, label: str) -> bool:
        return label in (self.bad_labels or ())

    async def judge(self, item: JudgeInput) -> JudgeVerdict:
        if self.config.mode == "escalate":
            return await self._escalate(item)
        verdicts = await asyncio.gather(*(m.judge(item) for m in self.members))
        names = [m.config.name for m in self.members]
        said = "; ".join(f"{n}: {v.label}" for n, v in zip(names, verdicts, strict=True))
        extra: dict[str, Any] = {
            "members": [{"judge": n, "label": v.label, "rationale": v.rationale}
                        for n, v in zip(names, verdicts, strict=True)],
            "borderline": any((v.extra or {}).get("borderline") for v in verdicts)}
        failed = [n for n, v in zip(names, verdicts, strict=True) if v.label == JUDGE_ERROR]
        if failed:
            return JudgeVerdict(JUDGE_ERROR, rationale=f"{', '.join(failed)} failed ({said})",
                                extra=extra)
        labels = [v.label for v in verdicts]
        if self.config.mode == "any":
            label = next((x for x in labels if self._bad(x)), labels[0])
            why = "any member"
        else:
            counts = Counter(labels)
            top = max(counts.values())
            tied = [x for x in labels if counts[x] == top]
            label = next((x for x in tied if self._bad(x)), tied[0])
            why = f"{top} of {len(labels)} members" if len(set(tied)) == 1 else "a tie, settled"
        score = next(v.score for v in verdicts if v.label == label)
        return JudgeVerdict(label, score, f"{label} by {why} ({said})", extra)

    async def _escalate(self, item: JudgeInput) -> JudgeVerdict:
        rule, model = self.members
        first = await rule.judge(item)
        if first.label != JUDGE_ERROR and not (first.extra or {}).get("borderline"):
            return JudgeVerdict(first.label, first.score, first.rationale,
                                {**(first.extra or {}), "by": rule.config.name})
        second = await model.judge(item)
        return JudgeVerdict(second.label, second.score,
                            f"{rule.config.name} unsure ({first.label}); "
                            f"{model.config.name}: {second.rationale}",
                            {**(second.extra or {}), "by": model.config.name,
                             "rule_label": first.label, "borderline": True})

    async def close(self) -> None:
        for m in self.members:
            await m.close()
