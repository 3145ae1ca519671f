"""The spot-check queue's design and what its labels say (issue 17).

People label a **probability sample** of a run's replies, drawn stratified by one judge's label
(:func:`draw_review`): every label the judge gave is a stratum; the queue's size is shared out
equally among the strata (so a rare label is oversampled), no stratum gives more replies than it
holds, and what a small stratum cannot take goes to the others in proportion to their size.
Within a stratum the replies are drawn without replacement, each with inclusion probability
n_h / N_h, and the queue is shuffled so that reviewers do not meet the strata in blocks.

:func:`consensus` turns several reviewers' labels of a reply into one (the majority; a tie is no
consensus), :func:`review_agreement` measures the judge against people over the whole run with
the design's weights (``levelhead.stats.design_agreement``), and :func:`reviewer_agreement`
measures people against each other (Cohen's κ per pair of reviewers on the replies both
labelled). :func:`review_calibration` turns the weighted figures into a :class:`Calibration`,
so that the run's rates of that judge can be corrected for its errors on this very run.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from levelhead.analysis._calibration import Calibration
    from levelhead.store import Store

__all__ = ["Lean", "PairAgreement", "ReviewDraw", "allocate", "consensus", "draw_review",
           "judge_population", "queue_agreement", "queue_calibration", "rater_lean",
           "review_calibrations", "reviewer_agreement"]


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class ReviewDraw:
    """A drawn queue: ``items`` are (sample id, stratum, inclusion probability) in the order
    reviewers see them; ``design`` says how they were drawn (stored with the queue)."""

    items: list[tuple[int, str, float]]
    design: dict[str, Any] = field(default_factory=dict)


def judge_population(store: Store, run_id: int, judge: str
                     ) -> tuple[tuple[str, str], dict[int, str]]:
    """What a queue is drawn from: the newest identity (version, settings) of ``judge`` in the
    run, and its label of every reply it judged (sample id -> label), judge errors left out.

    Raises:
        ValueError: the run holds no verdict of that judge (naming the judges it has).
    """
    table = store.verdict_table(run_id)
    rows = [v for v in table if v.judge == judge]
    if not rows:
        names = sorted({v.judge for v in table})
        raise ValueError(f"no verdict of judge {judge!r} in this run"
                         + (f"; it has verdicts of: {', '.join(names)}" if names else
                            "; judge it first: levelhead judge RUN --judge NAME"))
    identity = (rows[-1].judge_version, rows[-1].judge_args)  # the newest (highest judge id)
    ids = {(s.target, s.probe, s.prompt_key, s.sample_index): s.sample_id
           for s in store.stored_samples(run_id)}
    population = {}
    for v in rows:
        if (v.judge_version, v.judge_args) != identity or v.label == "judge_error":
            continue
        sample_id = ids.get((v.target, v.probe, v.prompt_id, v.sample_index))
        if sample_id is not None:
            population[sample_id] = v.label
    return identity, population


def allocate(sizes: Mapping[str, int], size: int) -> dict[str, int]:
    """How many replies to draw from each stratum: an equal share each, capped at the stratum's
    size; what capped strata cannot take is shared among the others in proportion to what they
    have left (largest remainders), until ``size`` or the population is reached.

    Raises:
        ValueError: a size below 1, or a stratum of negative size.
    """
    if size < 1:
        raise ValueError(f"a queue needs at least one reply, not {size}")
    if any(n < 0 for n in sizes.values()):
        raise ValueError("a stratum cannot hold fewer than 0 replies")
    take = dict.fromkeys(sizes, 0)
    left = min(size, sum(sizes.values()))
    open_ = sorted(h for h, n in sizes.items() if n > 0)
    # Equal shares first: the strata that cannot fill theirs take all they have.
    while left and open_:
        share = left // len(open_)
        if share == 0:
            break
        for h in list(open_):
            add = min(share, sizes[h] - take[h])
            take[h] += add
            left -= add
            if take[h] == sizes[h]:
                open_.remove(h)
    # The rest (fewer than one per open stratum) in proportion to what each has left.
    if left and open_:
        room = {h: sizes[h] - take[h] for h in open_}
        total = sum(room.values())
        quota = {h: left * room[h] / total for h in open_}
        base = {h: min(room[h], math.floor(quota[h])) for h in open_}
        for h in open_:
            take[h] += base[h]
        left -= sum(base.values())
        for h in sorted(open_, key=lambda h: (-(quota[h] - base[h]), h)):
            if left == 0:
                break
            if take[h] < sizes[h]:
                take[h] += 1
                left -= 1
    return take


def draw_review(population: Mapping[int, str], size: int, seed: int = 0) -> ReviewDraw:
    """Draw a queue of ``size`` replies from ``population`` (sample id -> the judge's label),
    stratified by label as :func:`allocate` shares it out. Seeded: the same population, size and
    seed draw the same queue.

    Raises:
        ValueError: an empty population or a size below 1.
    """
    if not population:
        raise ValueError("no judged reply to draw from: judge the run first "
                         "(levelhead judge RUN --judge NAME), or every verdict is judge_error")
    strata: dict[str, list[int]] = defaultdict(list)
    for sample_id in sorted(population):
        strata[population[sample_id]].append(sample_id)
    if size < len(strata):
        # A stratum without a drawn reply could never be weighted: agreement would stay unknown.
        raise ValueError(f"a queue of {size} cannot hold one reply of each of the judge's "
                         f"{len(strata)} labels ({', '.join(sorted(strata))}): draw at least "
                         f"{len(strata)}")
    take = allocate({h: len(ids) for h, ids in strata.items()}, size)
    rng = random.Random(seed)
    items: list[tuple[int, str, float]] = []
    for h in sorted(strata):
        ids = strata[h]
        chosen = rng.sample(ids, take[h]) if take[h] else []
        items += [(sample_id, h, take[h] / len(ids)) for sample_id in chosen]
    rng.shuffle(items)
    design = {"method": "stratified by the judge's label; equal allocation, capped by stratum "
                        "size, the rest in proportion; without replacement; shuffled",
              "seed": seed, "size": len(items), "requested": size,
              "strata": {h: {"N": len(strata[h]), "n": take[h]} for h in sorted(strata)}}
    return ReviewDraw(items, design)


def consensus(labels: Iterable[str]) -> str | None:
    """The label most reviewers gave a reply; None when none was given or two labels tie."""
    counts = Counter(labels).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


@dataclass(frozen=True)
class PairAgreement:
    """Two reviewers on the replies both labelled: how many, how often the same label, and
    Cohen's κ (None when it is undefined: fewer than two replies, or one label only)."""

    a: str
    b: str
    n: int
    agree: int
    kappa: float | None


def reviewer_agreement(labels: Mapping[int, Mapping[str, str]]) -> list[PairAgreement]:
    """Cohen's κ for every pair of reviewers, from ``labels`` (sample id -> reviewer -> label),
    on the replies both labelled; pairs in name order."""
    from levelhead.stats import cohen_kappa  # numpy: only when agreement is asked for

    reviewers = sorted({r for by in labels.values() for r in by})
    out = []
    for i, a in enumerate(reviewers):
        for b in reviewers[i + 1:]:
            both = [(by[a], by[b]) for by in labels.values() if a in by and b in by]
            agree = sum(x == y for x, y in both)
            kappa = None
            if len(both) >= 2:
                value = cohen_kappa([x for x, _ in both], [y for _, y in both]).kappa
                kappa = None if math.isnan(value) else value
            out.append(PairAgreement(a, b, len(both), agree, kappa))
    return out


@dataclass(frozen=True)
class Lean:
    """One reviewer's lean on mirrored pairs (or every reviewer's, pooled: ``reviewer`` is
    None): the share of ``first``-side replies they gave ``label`` minus the share of
    ``second``-side replies, paired by mirrored pair (``levelhead.stats.paired_difference``:
    a cluster-robust interval over the pairs both of whose sides they labelled)."""

    reviewer: str | None
    label: str
    first: str
    second: str
    pairs: int
    first_share: float
    second_share: float
    estimate: float
    low: float
    high: float
    first_n: int
    second_n: int

    @property
    def flagged(self) -> bool:
        """Whether the interval excludes no lean at all."""
        return self.low > 0 or self.high < 0


def rater_lean(sides: Mapping[int, tuple[str, str]], labels: Mapping[int, Mapping[str, str]],
               label: str, first: str = "right", second: str = "left") -> list[Lean]:
    """How each reviewer labels the two sides of mirrored pairs: ``sides`` gives each labelled
    reply's (pair, side tag); ``labels`` each reply's labels by reviewer. One :class:`Lean` per
    reviewer with at least two pairs labelled on both sides, then the pooled one (every
    reviewer's labels, the pairs still the clusters)."""
    from levelhead.stats import paired_difference

    def counts(who: str | None) -> dict[str, list[int]]:
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # k1, n1, k2, n2
        for sample_id, by in labels.items():
            if sample_id not in sides:
                continue
            pair, side = sides[sample_id]
            if side not in (first, second):
                continue
            given = by.values() if who is None else ([by[who]] if who in by else [])
            offset = 0 if side == first else 2
            for x in given:
                per[pair][offset] += x == label
                per[pair][offset + 1] += 1
        return {p: c for p, c in per.items() if c[1] and c[3]}

    out = []
    reviewers = sorted({r for by in labels.values() for r in by})
    for who in [*reviewers, None]:
        per = counts(who)
        if len(per) < 2:
            continue
        rows = list(per.values())
        diff = paired_difference([c[2] for c in rows], [c[3] for c in rows],
                                 [c[0] for c in rows], [c[1] for c in rows])
        out.append(Lean(who, label, first, second, diff.prompts, diff.candidate_rate,
                        diff.baseline_rate, diff.estimate, diff.interval.low, diff.interval.high,
                        diff.candidate_n, diff.baseline_n))
    return out


def queue_agreement(items: Sequence[tuple[K, str]], labels: Mapping[K, Mapping[str, str]],
                    sizes: Mapping[str, int],
                    positive: Collection[str]) -> Any:
    """The judge against the reviewers' consensus over the whole run, weighted by the design
    (``levelhead.stats.design_agreement``): ``items`` are (item, the judge's label when drawn),
    ``labels`` each item's labels by reviewer, ``sizes`` every stratum's N_h. None when no item
    has a consensus label yet.

    Raises:
        ValueError: a stratum with replies in the run but no labelled reply yet (the design
            cannot be weighted without it), or no positive label.
    """
    from levelhead.stats import design_agreement

    if not positive:
        raise ValueError("say which labels are positive")
    rows: list[tuple[str, str]] = []
    for item, stratum in items:
        agreed = consensus(labels[item].values()) if item in labels else None
        if agreed is not None:  # a tie between reviewers is no label (it is disputed)
            rows.append((stratum, agreed))
    if not rows:
        return None
    labelled = {s for s, _ in rows}
    empty = sorted(h for h, n in sizes.items() if n and h not in labelled)
    if empty:
        raise ValueError(f"no labelled reply yet in the judge's {', '.join(empty)} replies: keep "
                         "labelling (each label is a stratum of the design)")
    return design_agreement([s for s, _ in rows], [h for _, h in rows], [s for s, _ in rows],
                            sizes, positive)


def queue_calibration(judge: tuple[str, str, str], items: Sequence[tuple[K, str]],
                      labels: Mapping[K, Mapping[str, str]], sizes: Mapping[str, int],
                      positive: Collection[str], source: str,
                      created_at: str | None = None) -> Calibration | None:
    """The judge's :class:`Calibration` from a queue's labels: each ``positive`` label against
    the rest, as :func:`queue_agreement` weighs it, in whole-number counts whose Jeffreys
    posteriors carry the design's uncertainty (not the run's size). ``judge`` is its (name,
    version, settings JSON); ``created_at`` dates it (default: now). None when no item has a
    consensus label yet.

    Raises:
        ValueError: as :func:`queue_agreement`.
    """
    from datetime import UTC, datetime

    from levelhead.analysis._calibration import Calibration, LabelCounts

    counts = {}
    for name in positive:  # each label against the rest, as `judge eval` measures it
        result = queue_agreement(items, labels, sizes, (name,))
        if result is None:
            return None
        counts[name] = LabelCounts(**result.calibration_counts)
    return Calibration(judge=judge[0], judge_version=judge[1], judge_args=judge[2], source=source,
                       labels=counts,
                       created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"))


def review_calibrations(store: Store, run_id: int, refs: Sequence[str]) -> list[Calibration]:
    """The calibrations the run's review queues ``refs`` (names or ids) give their judges — each
    of the judge's bad labels against the rest, weighted by the queue's design — for
    ``findings / report / gate --review QUEUE``.

    Raises:
        ValueError: a queue whose judge declares no bad labels, or that cannot be weighted yet
            (a stratum without a labelled reply), or has no consensus label at all.
    """
    from levelhead.analysis._data import _review_view
    from levelhead.analysis._labels import judge_bad_labels

    out = []
    for ref in refs:
        queue = store.find_review_queue(run_id, ref)
        view = _review_view(store, queue)
        positive = judge_bad_labels(queue.judge_name) or ()
        if not positive:
            raise ValueError(f"review queue '{queue.name}': judge {queue.judge_name} declares no "
                             "bad labels; write a calibration with `levelhead review calibration "
                             "RUN QUEUE --positive LABEL -o FILE` and pass --calibration FILE")
        cal = queue_calibration(view.judge, view.items, view.by_item, view.sizes, positive,
                                f"review queue '{queue.name}' ({view.reviewed} replies labelled)",
                                created_at=view.newest_label_at or None)
        if cal is None:
            raise ValueError(f"review queue '{queue.name}' has no labelled reply yet: "
                             f"levelhead review label RUN {queue.name} --reviewer NAME")
        out.append(cal)
    return out
