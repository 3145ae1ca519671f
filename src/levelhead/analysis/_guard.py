"""The guard's decisions as statistics: how often it blocked, per language, per judge and per
model, each rate with its interval (``levelhead guard-stats``; the monitor reads the same
records).

A decision some judge could not give (an error, a timeout) is counted as *not judged* beside
each rate: in the block rate it counts as what the user saw (blocked or passed, as the policy's
``on_error`` said), and in a judge's trigger rate it is left out of the denominator, never
counted as a clean verdict.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:  # nearest rank: a latency that some request really had
        return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]

    return {"median": at(0.5), "p99": at(0.99), "max": ordered[-1]}


def _slice(key: str, rows: Sequence[GuardDecisionRecord], confidence: float) -> GuardSlice:
    blocked = sum(r.action == "block" for r in rows)
    r = rate(blocked, len(rows), confidence)
    return GuardSlice(key, len(rows), blocked, r.estimate, r.interval,
                      dict(Counter(x.action for x in rows)), sum(not x.judged for x in rows))


def _by(records: Sequence[GuardDecisionRecord], key: Callable[[GuardDecisionRecord], str],
        confidence: float) -> list[GuardSlice]:
    groups: dict[str, list[GuardDecisionRecord]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return [_slice(k, rows, confidence)
            for k, rows in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def _judges(records: Sequence[GuardDecisionRecord], confidence: float) -> list[GuardSlice]:
    judged: dict[str, Counter[str]] = defaultdict(Counter)
    missing: Counter[str] = Counter()
    for r in records:
        for f in r.findings:
            if f.label is None:
                missing[f.judge] += 1
            else:
                judged[f.judge][f.action] += 1
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

    Args:
        records: decisions, as :meth:`~levelhead.store.Store.guard_decisions` reads them.
        confidence: the two-sided confidence of every interval.
    """
    rows = list(records)
    if not rows:
        return GuardSummary(0, None, None, None, [], [], [], confidence=confidence)
    return GuardSummary(
        len(rows), min(r.at for r in rows), max(r.at for r in rows),
        _slice("all", rows, confidence),
        _by(rows, lambda r: r.language, confidence),
        _judges(rows, confidence),
        _by(rows, lambda r: r.model or "(unnamed)", confidence),
        _quantiles([r.latency_ms for r in rows]), _quantiles([r.judge_ms for r in rows]),
        confidence)
