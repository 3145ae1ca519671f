"""Counting verdicts: the one place that says what a judged sample is.

The rule every rate in levelhead rests on: a sample the target failed on is an **error**, a
sample without a usable verdict (none, or ``judge_error``) is **missing**, and neither is ever
counted in ``n`` — so never as a good reply. :class:`Counts` applies it (``add``), and
:func:`usable_label` says which verdicts count; everything that turns verdicts into rates (the
generic label rates, the behaviours that compare and gate use, each probe's own rates) counts
through them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from levelhead.judges import JUDGE_ERROR

__all__ = ["BehaviourCounts", "BehaviourKey", "Counts", "count_label", "count_labels",
           "label_test", "paired_counts", "usable", "usable_label"]

class _Sample(Protocol):
    @property
    def key(self) -> Any: ...

    @property
    def ok(self) -> bool: ...

    @property
    def prompt_id(self) -> str: ...


def usable(label: str | None) -> str | None:
    """``label``, or None when there is no verdict or the judge could not judge
    (``judge_error``): such a sample is *missing*, never a good reply."""
    return None if label is None or label == JUDGE_ERROR else label


def usable_label(verdicts: Mapping[Any, str], key: Any) -> str | None:
    """The usable label of the verdict on ``key`` (see :func:`usable`), or None."""
    return usable(verdicts.get(key))


class Counts:
    """Per-cluster ``k`` of ``n`` for a yes/no question about samples, with errors and missing.

    ``n`` counts the samples the question could be answered for; a failed sample goes to
    ``errors`` and an unanswered one (no usable verdict) to ``missing``, neither to ``n``.
    Clusters are prompts, or items (the prompts of one question), as the caller says.
    """

    __slots__ = ("errors", "k", "missing", "n")

    def __init__(self) -> None:
        self.k: dict[str, int] = defaultdict(int)
        self.n: dict[str, int] = defaultdict(int)
        self.errors = 0
        self.missing = 0

    def add(self, cluster: str, yes: bool | None, ok: bool = True) -> None:
        """Count one sample: ``ok`` False for a failed sample, ``yes`` None when unanswered."""
        if not ok:
            self.errors += 1
        elif yes is None:
            self.missing += 1
        else:
            self.n[cluster] += 1
            self.k[cluster] += bool(yes)

    def lists(self) -> tuple[list[str], list[int], list[int]]:
        """Clusters with an answered sample (sorted), and their ``k`` and ``n``."""
        ids = sorted(self.n)
        return ids, [self.k[i] for i in ids], [self.n[i] for i in ids]

    @property
    def total_n(self) -> int:
        return sum(self.n.values())


def label_test(verdicts: Mapping[Any, str], labels: Iterable[str]
               ) -> Callable[[Any], bool | None]:
    """``sample -> bool | None``: whether its verdict is one of ``labels`` (None when missing)."""
    wanted = set(labels)

    def test(sample: Any) -> bool | None:
        label = usable_label(verdicts, sample.key)
        return None if label is None else label in wanted

    return test


def count_label(samples: Iterable[_Sample], verdicts: Mapping[Any, str], labels: Iterable[str],
                *, cluster: Callable[[Any], str] | None = None) -> Counts:
    """Samples whose verdict is one of ``labels``, per cluster (default: per prompt)."""
    test = label_test(verdicts, labels)
    counts = Counts()
    for s in samples:
        counts.add(s.prompt_id if cluster is None else cluster(s), test(s), s.ok)
    return counts


def count_labels(samples: Iterable[_Sample], verdicts: Mapping[Any, str],
                 known: Iterable[str] = ()) -> dict[str, Counts]:
    """Every label at once, per prompt, in one pass: label -> its counts (the same ``n``,
    ``errors`` and ``missing`` for each). Labels in ``known`` that no sample got are counted
    too (0 of n: the finding for a rare behaviour is its bound)."""
    judged = Counts()
    k: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in samples:
        label = usable_label(verdicts, s.key) if s.ok else None
        judged.add(s.prompt_id, None if label is None else True, s.ok)
        if label is not None:
            k[label][s.prompt_id] += 1
    out = {}
    for label in sorted(set(k) | set(known)):
        counts = Counts()
        counts.n.update(judged.n)
        counts.k.update(k.get(label, {}))
        counts.errors, counts.missing = judged.errors, judged.missing
        out[label] = counts
    return out


BehaviourKey = tuple[str, str, str | None]  # probe, metric, group


@dataclass(frozen=True, slots=True)
class BehaviourCounts:
    """Per-prompt counts of one behaviour of one target on one probe: what compare and gate
    work on.

    Attributes:
        target: The target.
        probe: The probe id.
        metric: As in :class:`~levelhead.records.Finding` (``"rate:<judge>"``, or a probe's
            own rate such as ``"flip_rate"``).
        group: The label (as in the finding's ``group``); None for a probe's own rate that
            has no slice.
        prompt_ids: Prompts with at least one judged sample, sorted.
        k: Samples with the label, per prompt.
        n: Judged samples, per prompt.
        errors: Samples the target failed on (left out of ``n``).
        missing: Samples without a usable verdict (left out of ``n``).
        bad: True when the judge declares the label a failure it detects, False when the judge
            declares other labels bad, None when the judge declares nothing.
    """

    target: str
    probe: str
    metric: str
    group: str | None
    prompt_ids: tuple[str, ...]
    k: tuple[int, ...]
    n: tuple[int, ...]
    errors: int = 0
    missing: int = 0
    bad: bool | None = None

    @classmethod
    def of(cls, target: str, probe: str, metric: str, group: str | None, counts: Counts,
           bad: bool | None = True) -> BehaviourCounts:
        """A behaviour from :class:`Counts` (its clusters are the prompts)."""
        ids, k, n = counts.lists()
        return cls(target, probe, metric, group, tuple(ids), tuple(k), tuple(n), counts.errors,
                   counts.missing, bad)

    @property
    def key(self) -> BehaviourKey:
        return (self.probe, self.metric, self.group)

    @property
    def total_k(self) -> int:
        return sum(self.k)

    @property
    def total_n(self) -> int:
        return sum(self.n)

    def per_prompt(self) -> dict[str, tuple[int, int]]:
        return {p: (k, n) for p, k, n in zip(self.prompt_ids, self.k, self.n, strict=True)}


def paired_counts(baseline: BehaviourCounts, candidate: BehaviourCounts
                  ) -> tuple[list[int], list[int], list[int], list[int]]:
    """Both sides' counts over the union of their prompts, in one order (0 where a side has no
    judged sample of a prompt: the paired statistics leave such prompts out and count them)."""
    b, c = baseline.per_prompt(), candidate.per_prompt()
    prompts = sorted(set(b) | set(c))
    kb = [b.get(p, (0, 0))[0] for p in prompts]
    nb = [b.get(p, (0, 0))[1] for p in prompts]
    kc = [c.get(p, (0, 0))[0] for p in prompts]
    nc = [c.get(p, (0, 0))[1] for p in prompts]
    return kb, nb, kc, nc
