"""Rates corrected for the judge's own errors: the Rogan-Gladen estimator with an interval that
carries both the run's sampling noise and the uncertainty of the judge's measured sensitivity
and specificity.

A judge that misses 40 % of abusive replies (sensitivity 0.6) and flags 1 % of clean ones
(specificity 0.99) sees an *apparent* rate ``θ = se·π + (1 − sp)·(1 − π)``, not the true rate
``π``. Solving for ``π`` gives the Rogan-Gladen (1978) estimate ``(θ + sp − 1) / (se + sp − 1)``.
Its interval is found by Monte Carlo, the Bayesian way (compared with the frequentist ones by
Lang & Reiczigel, 2014): draw ``se ~ Beta(tp + ½, fn + ½)`` and ``sp ~ Beta(tn + ½, fp + ½)``
(Jeffreys posteriors from the calibration counts), the apparent rate from the raw finding's
sampling distribution (a Jeffreys posterior on the *effective* sample size of the clustered
interval, so clustering by prompt is carried over), compute ``π`` per draw and read its
percentiles. docs/statistics.md, section 2b, says why and shows its coverage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from levelhead.stats._clustered import clustered_rate
from levelhead.stats._results import (
    Interval,
    ResultMixin,
    check_confidence,
    check_count,
    check_per_prompt,
)

__all__ = ["CorrectedRate", "corrected_rate", "rogan_gladen"]

_WIDE_SHARE = 0.5  # a calibration behind at least this share of the variance is named in the note


@dataclass(frozen=True, slots=True)
class CorrectedRate(ResultMixin):
    """A rate corrected for the judge's measured errors, with an interval that carries both the
    run's sampling noise and the calibration's uncertainty.

    Attributes:
        apparent: The rate the judge reports, ``k / n`` (what the raw finding shows).
        k: Samples the judge gave the label.
        n: Judged samples.
        rogan_gladen: ``(apparent + sp − 1) / (se + sp − 1)`` with the calibration's point
            sensitivity and specificity, before any clipping; None when the judge is no better
            than chance on its calibration (``se + sp ≤ 1``) or a count is missing.
        estimate: ``rogan_gladen`` clipped to [0, 1] (the note says when it was); None as above,
            and when the correction is uninformative.
        interval: The corrected interval (``Interval.method`` says how); ``[0, 1]`` when
            uninformative.
        sensitivity: ``tp / (tp + fn)`` of the calibration (NaN without gold positives).
        sensitivity_interval: Its Jeffreys interval.
        specificity: ``tn / (tn + fp)`` (NaN without gold negatives).
        specificity_interval: Its Jeffreys interval.
        youden_interval: Interval of ``se + sp − 1`` over the draws: how far the judge is from
            chance (0).
        positives: Gold replies with the label in the calibration (``tp + fn``).
        negatives: Gold replies without it (``tn + fp``).
        effective_n: The independent samples the apparent rate is worth (``n`` over the design
            effect, and over ``(t / z)²`` with few prompts): the size of its sampling posterior.
        prompts: Prompts with judged samples (1: no clustering).
        draws: Monte Carlo draws.
        clipped_low: Share of draws whose corrected value fell below 0 and was set to 0 (the
            judge's false alarms could explain every flagged reply).
        clipped_high: Share of draws above 1, set to 1.
        chance: Share of draws with ``se + sp ≤ 1`` (a judge no better than chance): they say
            nothing about the rate and are counted against both ends of the interval.
        calibration_share: Share of the corrected estimate's variance that comes from the
            calibration (sensitivity and specificity) rather than the run's sampling
            (delta method); None without an estimate.
        informative: False when the calibration cannot rule out a judge no better than chance
            (or lacks gold positives or negatives): the interval is then ``[0, 1]``.
        note: Why the interval is wide or was clipped, in one or two sentences; empty when
            there is nothing to say.
    """

    apparent: float
    k: int
    n: int
    rogan_gladen: float | None
    estimate: float | None
    interval: Interval
    sensitivity: float
    sensitivity_interval: Interval
    specificity: float
    specificity_interval: Interval
    youden_interval: Interval
    positives: int
    negatives: int
    effective_n: float
    prompts: int
    draws: int
    clipped_low: float
    clipped_high: float
    chance: float
    calibration_share: float | None
    informative: bool
    note: str

    @property
    def ci_low(self) -> float:
        """Lower end of the corrected interval."""
        return self.interval.low

    @property
    def ci_high(self) -> float:
        """Upper end of the corrected interval."""
        return self.interval.high

    @property
    def confidence(self) -> float:
        """Two-sided level of the corrected interval."""
        return self.interval.confidence

    @property
    def method(self) -> str:
        """How the corrected interval was computed."""
        return self.interval.method

    @property
    def clipped(self) -> float:
        """Share of draws set to 0 or 1."""
        return self.clipped_low + self.clipped_high


def rogan_gladen(apparent: float, sensitivity: float, specificity: float) -> float:
    """The Rogan-Gladen estimate ``(apparent + sp − 1) / (se + sp − 1)``, unclipped.

    Raises:
        ValueError: when ``se + sp ≤ 1`` (the judge is no better than chance: no correction
            exists) or an input is not a rate.
    """
    for name, value in (("apparent", apparent), ("sensitivity", sensitivity),
                        ("specificity", specificity)):
        if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a rate in [0, 1] (got {value!r})")
    youden = sensitivity + specificity - 1.0
    if youden <= 0.0:
        raise ValueError(f"sensitivity + specificity must exceed 1 for a correction (got "
                         f"{sensitivity:g} + {specificity:g}): the judge is no better than chance")
    return (apparent + specificity - 1.0) / youden


def _jeffreys(yes: int, total: int, confidence: float) -> tuple[float, Interval]:
    """A share and its Jeffreys interval (``[0, 1]`` and NaN with nothing to count)."""
    method = "jeffreys"
    if total == 0:
        return math.nan, Interval(0.0, 1.0, confidence, method + " (no gold replies)")
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if yes == 0 else float(stats.beta.ppf(tail, yes + 0.5, total - yes + 0.5))
    high = 1.0 if yes == total else float(stats.beta.ppf(1.0 - tail, yes + 0.5, total - yes + 0.5))
    return yes / total, Interval(low, high, confidence, method)


def _pct(x: float) -> str:
    """A share as a percentage: ``"60 %"``, ``"7.5 %"``, ``"0.12 %"``."""
    value = 100.0 * x
    if abs(value) >= 1 or value == 0:
        return f"{value:.1f} %".replace(".0 %", " %")
    return f"{value:.2g} %"


def _sampling_size(k: NDArray[np.int64], n: NDArray[np.int64], confidence: float) -> float:
    """The independent samples whose Jeffreys posterior matches the raw interval's width.

    The clustered interval is Wilson on ``n_eff`` with a t quantile on ``prompts − 1`` degrees of
    freedom; Wilson's ends depend on the quantile ``q`` and ``n`` only through ``q² / n``, so the
    same interval is Wilson on ``n_eff · (z / t)²`` with the normal quantile ``z`` — the size a
    Beta posterior needs to be as wide.
    """
    if k.size < 2:
        return float(n.sum())
    raw = clustered_rate(k, n, confidence)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    t = float(stats.t.ppf(0.5 + confidence / 2.0, k.size - 1))
    return raw.effective_n * (z / t) ** 2


def corrected_rate(k_per_prompt: ArrayLike, n_per_prompt: ArrayLike, *, tp: int, fn: int,
                   tn: int, fp: int, confidence: float = 0.95, draws: int = 20_000,
                   seed: int | np.random.Generator | None = 0) -> CorrectedRate:
    """A judge's label rate corrected for the judge's measured sensitivity and specificity.

    The point estimate is Rogan-Gladen's. The interval is the percentile interval of Monte Carlo
    draws of the corrected rate, each from one draw of sensitivity ``~ Beta(tp + ½, fn + ½)``,
    specificity ``~ Beta(tn + ½, fp + ½)`` and the apparent rate ``~ Beta(θ̂·m + ½, (1 − θ̂)·m + ½)``,
    where ``m`` is the effective sample size of the raw interval (clustered by prompt when there
    are two prompts or more, see :func:`_sampling_size`). A draw whose corrected value falls
    outside [0, 1] is set to the nearer end, and the shares set so are reported (``clipped_low``,
    ``clipped_high``). A draw with ``se + sp ≤ 1`` (a judge no better than chance) says nothing
    about the rate: it is counted against both ends, so the interval widens continuously to
    [0, 1] as the share of such draws reaches ``(1 − confidence) / 2``; from there the result is
    ``informative = False`` and says so.

    Assumes the judge errs on this run's replies as it did on the calibration's gold replies
    (same kinds of replies, same judge version and settings), and that the calibration's errors
    are independent of the run's sampling.

    Args:
        k_per_prompt: Samples the judge gave the label, per prompt.
        n_per_prompt: Judged samples, per prompt.
        tp: Gold replies with the label that the judge gave it (true positives).
        fn: Gold replies with the label that the judge did not (false negatives).
        tn: Gold replies without the label that the judge did not give it (true negatives).
        fp: Gold replies without the label that the judge gave it (false positives).
        confidence: Two-sided level of the interval.
        draws: Monte Carlo draws (at least 1,000).
        seed: Seed or numpy ``Generator``; the default 0 makes every call reproducible.

    Returns:
        A :class:`CorrectedRate`.

    Raises:
        ValueError: on impossible counts, fewer than 1,000 draws, or no judged sample.
    """
    confidence = check_confidence(confidence)
    tp, fn, tn, fp = (check_count(name, value) for name, value in
                      (("tp", tp), ("fn", fn), ("tn", tn), ("fp", fp)))
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1000:
        raise ValueError(f"draws must be a whole number >= 1000 (got {draws!r})")
    k, n = check_per_prompt(k_per_prompt, n_per_prompt)
    k, n = k[n > 0], n[n > 0]
    if not k.size:
        raise ValueError("no judged sample: a corrected rate needs at least one")
    total_k, total_n = int(k.sum()), int(n.sum())
    apparent = total_k / total_n
    size = _sampling_size(k, n, confidence)
    positives, negatives = tp + fn, tn + fp
    se, se_interval = _jeffreys(tp, positives, confidence)
    sp, sp_interval = _jeffreys(tn, negatives, confidence)

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    theta = rng.beta(apparent * size + 0.5, (1.0 - apparent) * size + 0.5, draws)
    se_draws = rng.beta(tp + 0.5, fn + 0.5, draws)
    sp_draws = rng.beta(tn + 0.5, fp + 0.5, draws)
    youden = se_draws + sp_draws - 1.0
    useful = youden > 0.0
    values = (theta[useful] + sp_draws[useful] - 1.0) / youden[useful]
    chance = 1.0 - float(useful.mean())
    clipped_low = float(np.count_nonzero(values < 0.0)) / draws
    clipped_high = float(np.count_nonzero(values > 1.0)) / draws
    values = np.clip(values, 0.0, 1.0)
    tail = (1.0 - confidence) / 2.0
    youden_low, youden_high = np.quantile(youden, [tail, 1.0 - tail])
    youden_interval = Interval(float(youden_low), float(youden_high), confidence,
                               "percentile of the calibration's draws")

    point: float | None = None
    if positives and negatives and se + sp > 1.0:
        point = rogan_gladen(apparent, se, sp)
    informative = bool(positives and negatives and chance < tail)
    notes: list[str] = []
    if informative:
        # Chance draws may lie anywhere: count them below the low end and above the high end.
        level = (tail - chance) / (1.0 - chance)
        low, high = (float(x) for x in np.quantile(values, [level, 1.0 - level]))
    else:
        low, high = 0.0, 1.0
        if not positives or not negatives:
            notes.append(f"uninformative: the calibration has no gold replies "
                         f"{'with' if not positives else 'without'} this label, so the judge's "
                         f"{'sensitivity' if not positives else 'specificity'} is unknown")
        else:
            notes.append(f"uninformative: the calibration cannot rule out a judge no better than "
                         f"chance (sensitivity + specificity − 1 = {se + sp - 1:.2f}, "
                         f"{_pct(confidence)} interval {youden_low:.2f} to {youden_high:.2f} "
                         f"reaches 0), so these verdicts fit any rate from 0 to 100 %")
    # An uninformative correction has no estimate worth showing (its Rogan-Gladen value stays
    # in ``rogan_gladen``).
    estimate = None if point is None or not informative else min(max(point, 0.0), 1.0)
    share = None
    if estimate is not None:
        share = _calibration_share(theta, se_draws, sp_draws, estimate, se + sp - 1.0)
        notes += _notes(share, estimate, point, se, se_interval, sp, sp_interval, positives,
                        negatives, clipped_low, clipped_high, tail, theta, se_draws, sp_draws)
    method = (f"Rogan-Gladen, Monte Carlo percentile ({draws:,} draws: Jeffreys posteriors of "
              f"sensitivity, specificity and the apparent rate on "
              f"{'the clustered effective n' if k.size > 1 else 'n'})")
    return CorrectedRate(
        apparent=apparent, k=total_k, n=total_n, rogan_gladen=point, estimate=estimate,
        interval=Interval(low, high, confidence, method), sensitivity=se,
        sensitivity_interval=se_interval, specificity=sp, specificity_interval=sp_interval,
        youden_interval=youden_interval, positives=positives, negatives=negatives,
        effective_n=size, prompts=int(k.size), draws=draws, clipped_low=clipped_low,
        clipped_high=clipped_high, chance=chance, calibration_share=share,
        informative=informative, note="; ".join(notes))


def _calibration_share(theta: NDArray[np.float64], se: NDArray[np.float64],
                       sp: NDArray[np.float64], estimate: float, youden: float) -> float:
    """Share of the corrected estimate's variance from the calibration, by the delta method:
    ``∂π/∂θ = 1/J``, ``∂π/∂se = −π/J``, ``∂π/∂sp = (1 − π)/J`` with ``J = se + sp − 1``."""
    parts = _variance_parts(theta, se, sp, estimate, youden)
    total = sum(parts)
    return (parts[1] + parts[2]) / total if total > 0 else 0.0


def _variance_parts(theta: NDArray[np.float64], se: NDArray[np.float64], sp: NDArray[np.float64],
                    estimate: float, youden: float) -> tuple[float, float, float]:
    return (float(theta.var()) / youden ** 2, (estimate / youden) ** 2 * float(se.var()),
            ((1.0 - estimate) / youden) ** 2 * float(sp.var()))


def _notes(share: float, estimate: float, point: float | None, se: float, se_interval: Interval,
           sp: float, sp_interval: Interval, positives: int, negatives: int, clipped_low: float,
           clipped_high: float, tail: float, theta: NDArray[np.float64],
           se_draws: NDArray[np.float64], sp_draws: NDArray[np.float64]) -> list[str]:
    """What a reader should know about an informative corrected interval."""
    notes = []
    # Where the estimate was clipped the linearisation says nothing useful: the clipping note
    # below is the explanation then.
    if share >= _WIDE_SHARE and point == estimate:
        _, from_se, from_sp = _variance_parts(theta, se_draws, sp_draws, estimate, se + sp - 1.0)
        which, value, interval, gold = (
            ("sensitivity", se, se_interval, f"{positives:,} gold replies with the label")
            if from_se >= from_sp else
            ("specificity", sp, sp_interval, f"{negatives:,} gold replies without it"))
        notes.append(f"most of this interval's width comes from the judge's calibration "
                     f"({_pct(share)} of its variance): its {which} is {_pct(value)} "
                     f"({_pct(interval.confidence)} CI {_pct(interval.low)} – "
                     f"{_pct(interval.high)}) from {gold}; label more gold replies to narrow it")
    if point is not None and point != estimate:
        notes.append(f"the Rogan-Gladen estimate, {_pct(point)}, lies outside [0, 1] and is "
                     f"reported as {_pct(estimate)}")
    if clipped_low >= 1.0 - tail:
        notes.append(f"the observed rate is below what the judge's false alarms alone would give "
                     f"(1 − specificity = {_pct(1.0 - sp)}): the calibration may not fit this run")
    elif clipped_low >= tail:
        notes.append(f"{_pct(clipped_low)} of the draws fell below 0 (the judge's false alarms "
                     f"could explain every flagged reply) and were set to 0")
    if clipped_high >= tail:
        notes.append(f"{_pct(clipped_high)} of the draws rose above 1 and were set to 1")
    return notes
