"""The guard's decisions as statistics: how often it blocked, per language, per judge and per
model, each rate with its interval (``levelhead guard-stats``; the monitor reads the same
records).

A decision some judge could not give (an error, a timeout) is counted as *not judged* beside
each rate: in the block rate it counts as what the user saw (blocked or passed, as the policy's
``on_error`` said), and in a judge's trigger rate it is left out of the denominator, never
counted as a clean verdict.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levelhead.stats import Interval, rate
from levelhead.store import GuardDecisionRecord

__all__ = ["GuardSlice", "GuardSummary", "guard_summary"]


@dataclass(frozen=True, slots=True)
class GuardSlice:
    """One slice of the guard's decisions (a language, a judge, a model) and its rate.

    Attributes:
        key: The language, judge or model.
        n: Decisions in the slice (for a judge: those it judged).
        k: Those counted by the rate: blocked (for a judge: its rule triggered).
        estimate: ``k / n``.
        interval: The Wilson interval of the rate.
        actions: Decisions by action (``pass``, ``flag``, ``redact``, ``block``).
        not_judged: Decisions some judge (for a judge: this one) could not give.
    """

    key: str
    n: int
    k: int
    estimate: float
    interval: Interval
    actions: dict[str, int]
    not_judged: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        known = self.n > 0  # a judge that never judged has no rate (not NaN in JSON)
        return {"key": self.key, "n": self.n, "k": self.k,
                "estimate": self.estimate if known else None,
                "interval": self.interval.to_dict() if known else None, "actions": dict(self.actions),
                "not_judged": self.not_judged}


@dataclass(frozen=True, slots=True)
class GuardSummary:
    """The guard's decisions in a period, summed up.

    Attributes:
        decisions: How many replies were screened.
        first: When the first was (UTC, ISO 8601), or None with no decisions.
        last: When the last was.
        overall: The block rate of all of them.
        by_language: The block rate per user language, most decisions first.
        by_judge: Per judge, how often its rule triggered among the replies it judged.
        by_model: The block rate per upstream model.
        latency_ms: Median and 99th percentile of the time from request to decision.
        judge_ms: Median and 99th percentile of the time the judges took.
        confidence: The intervals' confidence.
    """

    decisions: int
    first: str | None
    last: str | None
    overall: GuardSlice | None
    by_language: list[GuardSlice]
    by_judge: list[GuardSlice]
    by_model: list[GuardSlice]
    latency_ms: dict[str, float] = field(default_factory=dict)
    judge_ms: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {"decisions": self.decisions, "first": self.first, "last": self.last,
                "confidence": self.confidence,
                "overall": self.overall.to_dict() if self.overall else None,
                "by_language": [s.to_dict() for s in self.by_language],
                "by_judge": [s.to_dict() for s in self.by_judge],
                "by_model": [s.to_dict() for s in self.by_model],
                "latency_ms": dict(self.latency_ms), "judge_ms": dict(self.judge_ms)}


class _Count:
    """One slice's decisions, counted as they stream past."""

    __slots__ = ("actions", "k", "n", "not_judged")

    def __init__(self) -> None:
        self.n = self.k = self.not_judged = 0
        self.actions: Counter[str] = Counter()

    def add(self, r: GuardDecisionRecord) -> None:
        self.n += 1
        self.k += r.action == "block"
        self.actions[r.action] += 1
        self.not_judged += not r.judged

    def slice(self, key: str, confidence: float) -> GuardSlice:
        r = rate(self.k, self.n, confidence)
        return GuardSlice(key, self.n, self.k, r.estimate, r.interval, dict(self.actions),
                          self.not_judged)


def _quantiles(values: array[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = np.sort(np.frombuffer(values, dtype=np.float64))  # 8 bytes a value, one copy

    def at(q: float) -> float:  # nearest rank: a latency that some request really had
        return float(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))])

    return {"median": at(0.5), "p99": at(0.99), "max": float(ordered[-1])}


def _by(groups: dict[str, _Count], confidence: float) -> list[GuardSlice]:
    return [c.slice(k, confidence)
            for k, c in sorted(groups.items(), key=lambda kv: (-kv[1].n, kv[0]))]


def _judges(judged: dict[str, Counter[str]], missing: Counter[str], confidence: float
            ) -> list[GuardSlice]:
    out = []
    for judge in sorted(set(judged) | set(missing)):
        actions = judged[judge]
        n = sum(actions.values())
        k = n - actions["pass"]
        if n:
            found = rate(k, n, confidence)
            estimate, interval = found.estimate, found.interval
        else:  # it never judged: no rate, only the count of what it could not judge
            estimate, interval = float("nan"), Interval(0.0, 1.0, confidence, "wilson")
        out.append(GuardSlice(judge, n, k, estimate, interval, dict(actions), missing[judge]))
    return out


def guard_summary(records: Iterable[GuardDecisionRecord], confidence: float = 0.95
                  ) -> GuardSummary:
    """Block rates with intervals, per language, judge and model, of the guard's decisions.

    One pass over ``records``, which may be a generator (``levelhead guard-stats`` feeds it the
    store's pages): only counts per language, judge, model and action are kept, and the two
    latencies of each decision (8 bytes each), never the decisions themselves.

    Args:
        records: decisions, as :meth:`~levelhead.store.Store.guard_decisions` reads them.
        confidence: the two-sided confidence of every interval.
    """
    overall = _Count()
    languages: dict[str, _Count] = defaultdict(_Count)
    models: dict[str, _Count] = defaultdict(_Count)
    judged: dict[str, Counter[str]] = defaultdict(Counter)
    missing: Counter[str] = Counter()
    latency, judge_ms = array("d"), array("d")
    first: str | None = None
    last: str | None = None
    for r in records:
        overall.add(r)
        languages[r.language].add(r)
        models[r.model or "(unnamed)"].add(r)
        for f in r.findings:
            if f.label is None:
                missing[f.judge] += 1
            else:
                judged[f.judge][f.action] += 1
        latency.append(r.latency_ms)
        judge_ms.append(r.judge_ms)
        if first is None or r.at < first:
            first = r.at
        if last is None or r.at > last:
            last = r.at
    if not overall.n:
        return GuardSummary(0, None, None, None, [], [], [], confidence=confidence)
    return GuardSummary(
        overall.n, first, last, overall.slice("all", confidence), _by(languages, confidence),
        _judges(judged, missing, confidence), _by(models, confidence),
        _quantiles(latency), _quantiles(judge_ms), confidence)
