"""How a judge agrees with people in a whole run, from a spot check drawn stratified by the judge's
label: sensitivity, specificity, precision, accuracy and Cohen's κ, weighted back to the run.

The review queue draws ``n_h`` of the ``N_h`` replies in each stratum ``h`` (a judge label, rare
labels oversampled) without replacement, and people label them. An unweighted tally of that sample
describes the sample, not the run: oversampling the judge's rare "abusive" verdicts fills the
sample with true positives and makes the judge look far more sensitive than it is. Each labelled
reply therefore stands for ``w = N_h / n_h`` replies of the run, and every figure is a ratio of
weighted (Horvitz–Thompson) totals of the confusion table, e.g. sensitivity
``Σ w·[judge +, human +] / Σ w·[human +]``.

**Interval: a stratified Pólya posterior, read by percentiles** (the Bayesian finite-population
approach of Ghosh & Meeden, 1997, with a Jeffreys prior). In each stratum the shares of the
confusion cells get a ``Dirichlet(counts + ½)`` posterior; the ``N_h − n_h`` unlabelled replies
are drawn from it (multinomial); the labelled plus the drawn replies form one possible run, and
each figure is computed on it. The interval is the percentiles of ``draws`` such runs, stretched
to hold the point estimate. Why this and not the alternatives:

- a stratified bootstrap (resampling within strata) gives a zero-width interval whenever a cell
  is empty in a stratum — the usual case: no labelled false negative among the judge's many
  "clean" verdicts — and ignores the finite-population correction, which matters here because the
  rare stratum is often labelled at 30-100 %;
- a Wilson interval at the Kish effective sample size cannot tell that the uncertainty sits in a
  few heavily weighted replies (the false negatives), and is badly overconfident then.

So a stratum labelled in full adds no noise (exact), an empty cell still has room (the prior's ½)
and a stratum of one labelled reply gives an honestly wide interval. With strata by the judge's
label (each sample holds one) a stratum's cells are that label's; with other strata (a sample
mixes labels) every stratum may hold every judge label seen. Coverage by simulation: docs/statistics.md,
"Agreement with people on a stratified sample". With very few events in a heavily weighted cell
the ratio estimate runs a little high (a ratio's small-sample bias); the interval still covers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from levelhead.stats._results import ResultMixin, check_confidence, check_count

__all__ = ["DesignAgreement", "DesignEstimate", "design_agreement", "weighted_label_counts"]

_FEW = 5  # fewer labelled false negatives (or positives): the note says the width is theirs


@dataclass(frozen=True, slots=True)
class DesignEstimate(ResultMixin):
    """One figure weighted back to the run, with its interval.

    Attributes:
        value: The weighted estimate; None when undefined (e.g. sensitivity without any labelled
            reply that people called positive). The parent's ``notes`` say why.
        low: Lower end of the interval (None with ``value``).
        high: Upper end (None with ``value``).
    """

    value: float | None
    low: float | None
    high: float | None

    def contains(self, x: float) -> bool:
        """True when the interval is defined and ``low <= x <= high``."""
        return self.low is not None and self.high is not None and self.low <= x <= self.high


@dataclass(frozen=True, slots=True)
class DesignAgreement(ResultMixin):
    """How a judge agrees with people in the whole run, from a stratified spot check.

    Attributes:
        sensitivity: Share of the run's human-positive replies that the judge called positive.
        specificity: Share of the run's human-negative replies that the judge called negative.
        precision: Share of the judge's positive verdicts that people call positive.
        accuracy: Share of replies where the judge's label is the people's label (all labels).
        binary_accuracy: Share where both agree on positive versus negative.
        kappa: Cohen's κ over all labels, on the weighted confusion table.
        binary_kappa: Cohen's κ of positive versus negative.
        tp: Weighted true positives: replies of the run estimated judge + and human +.
        fp: Weighted false positives (judge +, human −).
        fn: Weighted false negatives (judge −, human +).
        tn: Weighted true negatives (judge −, human −).
        table: Weighted confusion table over all labels: judge label -> human label -> replies.
        n: Labelled replies.
        population: Replies in the run, ``Σ N_h``.
        effective_n: Kish's effective sample size ``(Σw)² / Σw²``: what the unequal weights leave
            of ``n`` for a figure over the whole run.
        naive_sensitivity: Unweighted sensitivity of the labelled sample (None where undefined):
            compare with ``sensitivity`` to see what the weighting changed.
        naive_specificity: Unweighted specificity of the labelled sample.
        naive_accuracy: Unweighted accuracy (all labels) of the labelled sample.
        calibration_counts: ``{"tp", "fn", "tn", "fp"}`` as whole numbers whose Jeffreys
            posteriors match the mean and variance of the design's sensitivity and specificity:
            ``LabelCounts(**counts)`` or ``corrected_rate(k, n, **counts)`` then carries the
            design's uncertainty, not the run's size (the weighted ``tp`` ... would claim
            thousands of gold replies).
        confidence: Two-sided level of the intervals.
        method: How the intervals were computed.
        notes: What a reader should know: undefined figures, thin strata, where the width is.
    """

    sensitivity: DesignEstimate
    specificity: DesignEstimate
    precision: DesignEstimate
    accuracy: DesignEstimate
    binary_accuracy: DesignEstimate
    kappa: DesignEstimate
    binary_kappa: DesignEstimate
    tp: float
    fp: float
    fn: float
    tn: float
    table: dict[str, dict[str, float]]
    n: int
    population: int
    effective_n: float
    naive_sensitivity: float | None
    naive_specificity: float | None
    naive_accuracy: float
    calibration_counts: dict[str, int]
    confidence: float
    method: str
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Design:
    """The checked sample: label and stratum indices per reply, and each stratum's sizes."""

    labels: tuple[str, ...]
    judge: NDArray[np.int64]
    human: NDArray[np.int64]
    stratum: NDArray[np.int64]
    names: tuple[str, ...]
    sizes: NDArray[np.int64]
    drawn: NDArray[np.int64]
    positive: NDArray[np.bool_]

    @property
    def weights(self) -> NDArray[np.float64]:
        """``N_h / n_h`` of each labelled reply."""
        return (self.sizes / self.drawn)[self.stratum]

    @property
    def cells(self) -> NDArray[np.int64]:
        """Each reply's binary cell: 0 tp, 1 fn, 2 fp, 3 tn."""
        return np.where(self.positive[self.human], 0, 2) + np.where(self.positive[self.judge], 0, 1)


def _labels(name: str, values: Sequence[str]) -> list[str]:
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}[{i}] must be a non-empty label (got {value!r}); leave a "
                             f"reply without a label out of the sample, and out of its n_h")
    return list(values)


def _check(judge: Sequence[str], human: Sequence[str], strata: Sequence[str],
           stratum_sizes: Mapping[str, int], positive: Collection[str]) -> _Design:
    if not len(judge) == len(human) == len(strata):
        raise ValueError(f"judge, human and strata must have one entry per labelled reply (got "
                         f"{len(judge)}, {len(human)} and {len(strata)})")
    if not len(judge):
        raise ValueError("no labelled reply: agreement with people needs a labelled sample")
    if isinstance(positive, str) or not positive or not all(isinstance(p, str) for p in positive):
        raise ValueError(f"positive must be a non-empty collection of labels, e.g. {{'abusive'}} "
                         f"(got {positive!r})")
    judged, humans = _labels("judge", judge), _labels("human", human)
    sizes = {str(h): check_count(f"stratum_sizes[{h!r}]", size) for h, size in stratum_sizes.items()}
    drawn = dict.fromkeys(sizes, 0)
    for h in map(str, strata):
        if h not in sizes:
            raise ValueError(f"stratum {h!r} has labelled replies but no entry in stratum_sizes "
                             f"(its N_h: how many replies of the run it holds)")
        drawn[h] += 1
    for h, size in sizes.items():
        if drawn[h] > size:
            raise ValueError(f"stratum {h!r} has {drawn[h]} labelled replies but holds only {size} "
                             f"in the run (n_h > N_h): check stratum_sizes, or whether a reply "
                             f"was labelled twice")
        if size and not drawn[h]:
            raise ValueError(f"stratum {h!r} holds {size} replies in the run but none was "
                             f"labelled: the estimates would leave them out; label at least one "
                             f"(two or more for a useful interval)")
    names = tuple(h for h in sizes if drawn[h])
    labels = tuple(sorted(set(judged) | set(humans)))
    index = {label: i for i, label in enumerate(labels)}
    where = {h: i for i, h in enumerate(names)}
    return _Design(labels, np.array([index[x] for x in judged], dtype=np.int64),
                   np.array([index[x] for x in humans], dtype=np.int64),
                   np.array([where[str(h)] for h in strata], dtype=np.int64), names,
                   np.array([sizes[h] for h in names], dtype=np.int64),
                   np.array([drawn[h] for h in names], dtype=np.int64),
                   np.array([label in positive for label in labels], dtype=np.bool_))


def weighted_label_counts(judge: Sequence[str], human: Sequence[str], strata: Sequence[str],
                          stratum_sizes: Mapping[str, int],
                          positive: Collection[str]) -> tuple[float, float, float, float]:
    """The run's confusion counts estimated from a stratified spot check: ``(tp, fn, tn, fp)``.

    Each labelled reply counts ``N_h / n_h`` times (Horvitz–Thompson), so the four add up to the
    run's size. They are estimates of the run, not gold counts: for a ``Calibration`` (or
    ``corrected_rate``) use :attr:`DesignAgreement.calibration_counts`, which carry the sample's
    uncertainty instead of the run's size.

    Args and errors (``ValueError``) are :func:`design_agreement`'s.

    Returns:
        ``(tp, fn, tn, fp)``, in ``LabelCounts``'s order, as floats.
    """
    design = _check(judge, human, strata, stratum_sizes, positive)
    tp, fn, fp, tn = (float(x) for x in np.bincount(design.cells, design.weights, minlength=4))
    return tp, fn, tn, fp


def _binary_figures(t: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Sensitivity ... binary κ of confusion cells ``t[..., (tp, fn, fp, tn)]`` (NaN: undefined)."""
    tp, fn, fp, tn = np.moveaxis(t, -1, 0)
    total = tp + fn + fp + tn
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = (tp + tn) / total
        chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / total**2
        return {"sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp),
                "precision": tp / (tp + fp), "binary_accuracy": agree,
                "binary_kappa": np.where(chance < 1.0, (agree - chance) / (1.0 - chance), np.nan)}


def _label_figures(t: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Accuracy and κ over all labels of tables ``t[..., judge, human]``."""
    total = t.sum(axis=(-2, -1))
    agree = np.trace(t, axis1=-2, axis2=-1) / total
    chance = np.einsum("...i,...i->...", t.sum(axis=-1), t.sum(axis=-2)) / total**2
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(chance < 1.0, (agree - chance) / (1.0 - chance), np.nan)
    return {"accuracy": agree, "kappa": kappa}


def _posterior_runs(design: _Design, cell: NDArray[np.int64], cells: int,
                    support: NDArray[np.bool_], draws: int,
                    rng: np.random.Generator) -> NDArray[np.float64]:
    """Possible runs' cell totals, ``(draws, cells)``: per stratum, labelled replies plus the
    unlabelled ones drawn from the Jeffreys Dirichlet posterior of the stratum's cell shares.

    ``support[h, c]`` says whether cell ``c`` may occur in stratum ``h`` (gets prior weight)."""
    runs = np.zeros((draws, cells))
    for h in range(len(design.names)):
        counts = np.bincount(cell[design.stratum == h], minlength=cells)[support[h]]
        shares = rng.dirichlet(counts + 0.5, size=draws)
        rest = rng.multinomial(int(design.sizes[h] - design.drawn[h]), shares)
        runs[:, support[h]] += counts + rest
    return runs


def _estimate(value: float, low: float, high: float) -> DesignEstimate:
    if np.isnan(value):
        return DesignEstimate(None, None, None)
    # With an empty cell the point estimate sits at an end (e.g. sensitivity 1 without a labelled
    # false negative), where the posterior never reaches: stretch the interval to hold it.
    return DesignEstimate(value, min(low, value), max(high, value))


def _calibration_counts(t: NDArray[np.float64], runs: NDArray[np.float64],
                        result: Mapping[str, DesignEstimate]) -> dict[str, int]:
    """Whole counts whose Jeffreys posteriors match the draws' sensitivity and specificity
    (none on a side without a labelled reply: no gold there)."""
    figures = _binary_figures(runs)
    counts: dict[str, int] = {}
    for figure, yes, no, total in (("sensitivity", "tp", "fn", t[0] + t[1]),
                                   ("specificity", "tn", "fp", t[2] + t[3])):
        if result[figure].value is None:
            counts[yes] = counts[no] = 0
            continue
        draws = figures[figure]
        mean, variance = float(np.mean(draws)), float(np.var(draws))
        # Beta(a, b) has variance m(1 − m)/(a + b + 1), and the Jeffreys posterior of k in n is
        # Beta(k + ½, n − k + ½): a + b = n + 1, so n = m(1 − m)/variance − 2. A census (no
        # variance) keeps the run's.
        size = mean * (1.0 - mean) / variance - 2.0 if variance > 0 else float(total)
        size = min(max(size, 0.0), float(total))
        counts[yes] = round(mean * size)
        counts[no] = round(size) - counts[yes]
    return counts


def design_agreement(judge: Sequence[str], human: Sequence[str], strata: Sequence[str],
                     stratum_sizes: Mapping[str, int], positive: Collection[str],
                     confidence: float = 0.95, draws: int = 2000,
                     seed: int | np.random.Generator = 0) -> DesignAgreement:
    """How a judge agrees with people in the whole run, from a sample stratified by any key
    (the review queue's: the judge's label), weighted back to the run.

    Estimates are ratios of Horvitz–Thompson totals (each labelled reply weighs ``N_h / n_h``);
    intervals are percentiles of a stratified Pólya posterior (module docstring). Undefined
    figures are None and the ``notes`` say why; nothing here divides by zero.

    Args:
        judge: The judge's label of each labelled reply.
        human: The people's label of the same reply.
        strata: The stratum each reply was drawn from.
        stratum_sizes: Every stratum's ``N_h``: the replies it holds in the run. A stratum with
            replies in the run needs at least one labelled reply.
        positive: The labels that count as positive for sensitivity, specificity, precision and
            the binary figures (e.g. ``{"abusive"}``).
        confidence: Two-sided level of the intervals.
        draws: Posterior draws (at least 1,000).
        seed: Seed or numpy ``Generator``; the default 0 makes every call reproducible.

    Returns:
        A :class:`DesignAgreement`.

    Raises:
        ValueError: lengths that differ, an empty sample or label, a stratum with labelled
            replies but no size, more labelled replies than the stratum holds (``n_h > N_h``), a
            stratum with replies in the run but none labelled, a bad ``positive``, confidence or
            number of draws.
    """
    confidence = check_confidence(confidence)
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1000:
        raise ValueError(f"draws must be a whole number >= 1000 (got {draws!r})")
    design = _check(judge, human, strata, stratum_sizes, positive)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    weights, cell, size = design.weights, design.cells, len(design.labels)

    binary = np.bincount(cell, weights, minlength=4).astype(np.float64)
    judge_seen = np.zeros((len(design.names), size), dtype=np.bool_)
    judge_seen[design.stratum, design.judge] = True
    # Strata by the judge's label (one label in each) hold no other label: prior weight goes to
    # the verdicts seen in each. Strata of another kind may hide any: all get every label seen.
    if (judge_seen.sum(axis=1) > 1).any():
        judge_seen[:] = judge_seen.any(axis=0)
    positive_seen = (judge_seen & design.positive).any(axis=1)
    negative_seen = (judge_seen & ~design.positive).any(axis=1)
    support = np.column_stack([positive_seen, negative_seen, positive_seen, negative_seen])
    runs = _posterior_runs(design, cell, 4, support, draws, rng)

    pair = design.judge * size + design.human
    table = np.bincount(pair, weights, minlength=size * size).astype(np.float64).reshape(size, size)
    human_seen = np.bincount(design.human, minlength=size) > 0
    full = _posterior_runs(design, pair, size * size,
                           (judge_seen[:, :, None] & human_seen).reshape(-1, size * size),
                           draws, rng).reshape(draws, size, size)

    point = _binary_figures(binary) | _label_figures(table)
    spread = _binary_figures(runs) | _label_figures(full)
    tail = (1.0 - confidence) / 2.0
    ends = np.quantile(np.stack([spread[name] for name in point]), [tail, 1.0 - tail], axis=1)
    result = {name: _estimate(float(point[name]), float(ends[0, i]), float(ends[1, i]))
              for i, name in enumerate(point)}
    counts = np.bincount(cell, minlength=4)
    naive = {name: None if np.isnan(x) else float(x)
             for name, x in _binary_figures(counts.astype(np.float64)).items()}
    tp, fn, fp, tn = (float(x) for x in binary)
    return DesignAgreement(
        sensitivity=result["sensitivity"], specificity=result["specificity"],
        precision=result["precision"], accuracy=result["accuracy"],
        binary_accuracy=result["binary_accuracy"], kappa=result["kappa"],
        binary_kappa=result["binary_kappa"], tp=tp, fp=fp, fn=fn, tn=tn,
        table={design.labels[j]: {design.labels[y]: float(table[j, y]) for y in range(size)
                                  if table[j, y]} for j in range(size) if table[j].any()},
        n=int(cell.size), population=int(design.sizes.sum()),
        effective_n=float(weights.sum() ** 2 / (weights**2).sum()),
        naive_sensitivity=naive["sensitivity"], naive_specificity=naive["specificity"],
        naive_accuracy=float(np.mean(design.judge == design.human)),
        calibration_counts=_calibration_counts(binary, runs, result), confidence=confidence,
        method=(f"Horvitz-Thompson ratio estimates; stratified Polya posterior (Jeffreys "
                f"Dirichlet per stratum, unlabelled replies drawn), percentile, {draws:,} draws"),
        notes=_notes(design, result, counts, support, positive))


def _notes(design: _Design, result: Mapping[str, DesignEstimate], counts: NDArray[np.int64],
           support: NDArray[np.bool_], positive: Collection[str]) -> tuple[str, ...]:
    """What a reader should know: undefined figures, thin strata, where the width comes from."""
    notes = []
    labels = ", ".join(sorted(positive))
    why = {"sensitivity": f"no labelled reply has a positive human label ({labels})",
           "specificity": f"no labelled reply has a negative human label (one not in {labels})",
           "precision": f"the judge gave no labelled reply a positive label ({labels})",
           "binary_kappa": "judge and people put every labelled reply on the same side",
           "kappa": "judge and people used one and the same label throughout"}
    notes += [f"{name.replace('_', ' ')} is undefined: {reason}"
              for name, reason in why.items() if result[name].value is None]
    unlabelled = design.drawn < design.sizes
    if not unlabelled.any():
        notes.append("every stratum was labelled in full: the figures are exact")
    for h in np.flatnonzero((design.drawn == 1) & (design.sizes > 1)):
        notes.append(f"stratum {design.names[h]!r} rests on one labelled reply standing for "
                     f"{design.sizes[h]:,}: its label shares are mostly the prior's, so the "
                     f"intervals are wide; label more of its replies")
    # Few labelled errors in strata with unlabelled replies left: that is where the width is.
    for name, k, what, side, seen in (
            ("sensitivity", counts[1], "false negative", "negative", support[:, 1]),
            ("specificity", counts[2], "false positive", "positive", support[:, 0])):
        if result[name].value is not None and k < _FEW and (seen & unlabelled).any():
            notes.append(f"{name} rests on {k} labelled {what}{'' if k == 1 else 's'}: most "
                         f"of its interval's width is theirs; label more of the replies the "
                         f"judge called {side} to narrow it")
    return tuple(notes)
