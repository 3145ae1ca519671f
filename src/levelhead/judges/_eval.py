"""How well a judge agrees with people: the figures of ``levelhead judge eval``.

Given gold items (:mod:`levelhead.judges._gold`) and the judge's verdict on each, this computes:

- **binary** figures, when the judge declares bad labels (or ``positive`` names some): a gold
  item is positive when its label is one of them, a verdict when it gives one. Sensitivity
  (recall), specificity, precision and accuracy with **Wilson** intervals; F1 and Cohen's κ
  with **percentile bootstrap** intervals over items (seeded, 2,000 draws) since neither is a
  proportion;
- **per label**, each label against the rest (the counts a calibration file keeps), and the
  three-or-more-class κ and accuracy;
- the same binary figures (or accuracy and κ) **per slice**: language, category, model, the
  file, the fine-grained label — whatever the gold items carry;
- the **human ceiling**: κ between the people's own labels when the file has two raters;
- how often the rule would **escalate** to its LLM fallback (verdicts marked borderline), and
  the accuracy of the borderline and the decided verdicts apart;
- the **worst misses**: wrong verdicts the judge was sure of (not borderline) first.

Verdicts that failed (``judge_error``) are left out of every figure and counted.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levelhead.judges._base import JUDGE_ERROR, JudgeVerdict
from levelhead.judges._gold import GoldItem

__all__ = ["BinaryScores", "Estimate", "Evaluation", "Outcome", "SliceScores", "evaluate"]

BOOTSTRAP_DRAWS = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure with its 95 % interval; ``k`` of ``n`` for a proportion."""

    value: float
    low: float
    high: float
    method: str
    k: int | None = None
    n: int | None = None

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)
        out: dict[str, Any] = {"value": num(self.value), "low": num(self.low),
                               "high": num(self.high), "method": self.method}
        if self.k is not None:
            out.update(k=self.k, n=self.n)
        return out


NAN = Estimate(math.nan, math.nan, math.nan, "undefined")


def proportion(k: int, n: int) -> Estimate:
    """``k`` of ``n`` with its Wilson interval (undefined when ``n`` is 0)."""
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, "wilson", k, n)
    from levelhead.stats import rate_interval

    ci = rate_interval(k, n, CONFIDENCE, "wilson")
    return Estimate(k / n, ci.low, ci.high, "wilson", k, n)


def _f1(tp: Any, fp: Any, fn: Any) -> Any:
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)


def _kappa_from_tables(tables: Any) -> Any:
    """Cohen's κ of each confusion table in ``tables`` (shape ``(..., L, L)``)."""
    n = tables.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.trace(tables, axis1=-2, axis2=-1) / n
        expected = (tables.sum(axis=-1) * tables.sum(axis=-2)).sum(axis=-1) / n**2
        return np.where(expected < 1 - 1e-12, (observed - expected) / (1 - expected), np.nan)


def _tables(gold: Any, pred: Any, size: int, rng: np.random.Generator | None) -> Any:
    """The confusion table of the items (``rng`` None), or of each bootstrap resample."""
    codes = gold * size + pred
    if rng is None:
        return np.bincount(codes, minlength=size * size).reshape(size, size)
    idx = rng.integers(0, len(codes), size=(BOOTSTRAP_DRAWS, len(codes)))
    draws = codes[idx] + (np.arange(BOOTSTRAP_DRAWS) * size * size)[:, None]
    return np.bincount(draws.ravel(), minlength=BOOTSTRAP_DRAWS * size * size).reshape(
        BOOTSTRAP_DRAWS, size, size)


def _bootstrapped(point: float, draws: Any) -> Estimate:
    draws = draws[~np.isnan(draws)]
    if math.isnan(point) or draws.size == 0:
        return Estimate(point, math.nan, math.nan, "percentile bootstrap over items")
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return Estimate(point, float(low), float(high), "percentile bootstrap over items")


def kappa(gold: Sequence[str], judged: Sequence[str], seed: int = 0) -> Estimate:
    """Cohen's κ of two label lists with a bootstrap interval (undefined when chance agreement
    is already perfect, e.g. one label throughout)."""
    if not gold:
        return NAN
    labels = sorted(set(gold) | set(judged))
    index = {x: i for i, x in enumerate(labels)}
    g = np.array([index[x] for x in gold])
    p = np.array([index[x] for x in judged])
    point = float(_kappa_from_tables(_tables(g, p, len(labels), None)))
    draws = _kappa_from_tables(_tables(g, p, len(labels), np.random.default_rng(seed)))
    return _bootstrapped(point, draws)


@dataclass(frozen=True, slots=True)
class BinaryScores:
    """Positive (a bad label) against the rest."""

    tp: int
    fn: int
    tn: int
    fp: int
    sensitivity: Estimate
    specificity: Estimate
    precision: Estimate
    accuracy: Estimate
    f1: Estimate
    kappa: Estimate

    @property
    def n(self) -> int:
        return self.tp + self.fn + self.tn + self.fp

    def to_json(self) -> dict[str, Any]:
        return {"tp": self.tp, "fn": self.fn, "tn": self.tn, "fp": self.fp,
                **{k: getattr(self, k).to_json() for k in
                   ("sensitivity", "specificity", "precision", "accuracy", "f1", "kappa")}}


def binary_scores(gold: Sequence[bool], judged: Sequence[bool], seed: int = 0) -> BinaryScores:
    """The binary figures of paired positive/negative lists."""
    g = np.asarray(gold, dtype=int)
    p = np.asarray(judged, dtype=int)
    tp = int(((g == 1) & (p == 1)).sum())
    fn = int(((g == 1) & (p == 0)).sum())
    tn = int(((g == 0) & (p == 0)).sum())
    fp = int(((g == 0) & (p == 1)).sum())
    if len(g):
        point_f1 = float(_f1(tp, fp, fn))
        draws = _tables(g, p, 2, np.random.default_rng(seed))
        f1 = _bootstrapped(point_f1, _f1(draws[:, 1, 1], draws[:, 0, 1], draws[:, 1, 0]))
        k = _bootstrapped(float(_kappa_from_tables(_tables(g, p, 2, None))),
                          _kappa_from_tables(draws))
    else:
        f1 = k = NAN
    return BinaryScores(tp, fn, tn, fp, proportion(tp, tp + fn), proportion(tn, tn + fp),
                        proportion(tp, tp + fp), proportion(tp + tn, len(g)), f1, k)


@dataclass(frozen=True, slots=True)
class SliceScores:
    """The figures of the items that share one value of a slice (``lang`` = ``zh`` ...)."""

    key: str
    value: str
    n: int
    accuracy: Estimate
    kappa: Estimate
    binary: BinaryScores | None

    def to_json(self) -> dict[str, Any]:
        return {"slice": self.key, "value": self.value, "n": self.n,
                "accuracy": self.accuracy.to_json(), "kappa": self.kappa.to_json(),
                "binary": None if self.binary is None else self.binary.to_json()}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One gold item and the judge's verdict on it."""

    item: GoldItem
    verdict: JudgeVerdict

    @property
    def error(self) -> bool:
        return self.verdict.label == JUDGE_ERROR

    @property
    def borderline(self) -> bool:
        return bool((self.verdict.extra or {}).get("borderline"))

    @property
    def right(self) -> bool:
        return self.verdict.label == self.item.label


@dataclass(frozen=True)
class Evaluation:
    """Everything ``judge eval`` shows. See the module docstring for the methods."""

    judge: str
    version: str
    args: str
    labels: tuple[str, ...]
    positive: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    accuracy: Estimate
    kappa: Estimate
    binary: BinaryScores | None
    per_label: dict[str, BinaryScores]
    confusion: dict[str, dict[str, int]]
    slices: tuple[SliceScores, ...]
    human: Estimate | None
    human_n: int
    borderline: Estimate
    borderline_accuracy: Estimate
    decided_accuracy: Estimate
    sources: tuple[str, ...] = field(default=())

    @property
    def judged(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.error]

    @property
    def errors(self) -> int:
        return sum(o.error for o in self.outcomes)

    def misses(self, limit: int | None = None) -> list[Outcome]:
        """Wrong verdicts, the ones the judge was sure of (not borderline) first, then false
        negatives before false positives, in file order."""
        wrong = [o for o in self.judged if not o.right]
        wrong.sort(key=lambda o: (o.borderline, o.item.label not in self.positive))
        return wrong if limit is None else wrong[:limit]

    def to_json(self, misses: int = 20) -> dict[str, Any]:
        return {
            "judge": self.judge, "judge_version": self.version, "judge_args": self.args,
            "sources": list(self.sources), "labels": list(self.labels),
            "positive": list(self.positive), "n": len(self.judged), "errors": self.errors,
            "accuracy": self.accuracy.to_json(), "kappa": self.kappa.to_json(),
            "binary": None if self.binary is None else self.binary.to_json(),
            "per_label": {k: v.to_json() for k, v in self.per_label.items()},
            "confusion": self.confusion,
            "slices": [s.to_json() for s in self.slices],
            "human_ceiling": None if self.human is None else {
                "kappa": self.human.to_json(), "n": self.human_n},
            "fallback": {"would_ask": self.borderline.to_json(),
                         "accuracy_when_asked": self.borderline_accuracy.to_json(),
                         "accuracy_otherwise": self.decided_accuracy.to_json()},
            "misses": [{"id": o.item.id, "label": o.item.label, "judged": o.verdict.label,
                        "borderline": o.borderline, "rationale": o.verdict.rationale,
                        "text": o.item.text, **dict(o.item.slices)}
                       for o in self.misses(misses)],
        }


def _slices(judged: Sequence[Outcome], positive: tuple[str, ...], seed: int
            ) -> tuple[SliceScores, ...]:
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in judged:
        for key, value in o.item.slices.items():
            groups[(key, value)].append(o)
    order = {"lang": 0, "source": 1, "model": 2, "category": 3, "fine": 4}
    out = []
    for (key, value), rows in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9),
                                                                      kv[0])):
        if key != "lang" and len({v for k, v in groups if k == key}) < 2:
            continue  # one value only: the slice is the whole set
        gold = [o.item.label for o in rows]
        got = [o.verdict.label for o in rows]
        binary = binary_scores([g in positive for g in gold], [p in positive for p in got],
                               seed) if positive else None
        out.append(SliceScores(key, value, len(rows),
                               proportion(sum(g == p for g, p in zip(gold, got, strict=True)),
                                          len(rows)), kappa(gold, got, seed), binary))
    return tuple(out)


def evaluate(name: str, version: str, args: str, labels: Sequence[str], items: Sequence[GoldItem],
             verdicts: Sequence[JudgeVerdict], positive: Sequence[str] = (), seed: int = 0,
             sources: Sequence[str] = ()) -> Evaluation:
    """The figures of a judge's ``verdicts`` on gold ``items`` (same order).

    Args:
        name, version, args: the judge's identity (:func:`levelhead.judges.judge_identity`).
        labels: the labels the judge gives.
        positive: the labels that count as positive for the binary figures (usually the judge's
            ``bad_labels``); empty: no binary figures.
        seed: of the bootstrap draws, so that a figure printed twice is the same.
    """
    outcomes = tuple(Outcome(i, v) for i, v in zip(items, verdicts, strict=True))
    judged = [o for o in outcomes if not o.error]
    gold = [o.item.label for o in judged]
    got = [o.verdict.label for o in judged]
    pos = tuple(positive)
    binary = binary_scores([g in pos for g in gold], [p in pos for p in got], seed) if pos else None
    every = list(dict.fromkeys([*labels, *sorted(set(gold) - set(labels))]))
    per_label = {label: binary_scores([g == label for g in gold], [p == label for p in got], seed)
                 for label in every}
    confusion: dict[str, dict[str, int]] = {}
    counts = Counter(zip(gold, got, strict=True))
    for g in every:
        if any(x == g for x in gold):
            confusion[g] = {p: counts[(g, p)] for p in every}
    rated = [o.item.raters for o in outcomes if len(o.item.raters) >= 2]
    human = kappa([r[0] for r in rated], [r[1] for r in rated], seed) if rated else None
    asked = [o for o in judged if o.borderline]
    decided = [o for o in judged if not o.borderline]
    return Evaluation(
        name, version, args, tuple(labels), pos, outcomes,
        proportion(sum(o.right for o in judged), len(judged)), kappa(gold, got, seed), binary,
        per_label, confusion, _slices(judged, pos, seed), human, len(rated),
        proportion(len(asked), len(judged)), proportion(sum(o.right for o in asked), len(asked)),
        proportion(sum(o.right for o in decided), len(decided)), tuple(sources))
