"""Paired comparison of two targets on the same prompts: baseline versus candidate.

The difference is ``rate(candidate) - rate(baseline)`` of two ratio estimators over the same
prompts. Its standard error comes from per-prompt linearised residuals of both sides together
(the cluster-robust variance of the difference), so the pairing by prompt is used: a prompt that
is hard for both targets adds little to the variance of the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import mcnemar

from levelhead.stats._clustered import bootstrap_prompt_indices, percentile_interval
from levelhead.stats._results import (
    Interval,
    ResultMixin,
    as_float_vector,
    check_confidence,
    check_count,
    check_per_prompt,
    check_reps,
)

__all__ = ["McNemarTest", "NonInferiority", "PairedDifference", "mcnemar_exact",
           "non_inferiority", "paired_difference"]

_ROBUST = "cluster-robust t(prompts-1), paired by prompt"
_MARGINAL = "exact marginals (Bonferroni); no spread to estimate"

Counts = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]


@dataclass(frozen=True, slots=True)
class McNemarTest(ResultMixin):
    """Exact McNemar test on paired yes/no outcomes.

    Attributes:
        pairs: Pairs compared.
        only_baseline: Pairs where only the baseline reply was bad.
        only_candidate: Pairs where only the candidate reply was bad.
        p_value: Exact two-sided p-value (binomial on the discordant pairs).
    """

    pairs: int
    only_baseline: int
    only_candidate: int
    p_value: float


@dataclass(frozen=True, slots=True)
class PairedDifference(ResultMixin):
    """Candidate rate minus baseline rate over the same prompts.

    Attributes:
        prompts: Prompts with judged samples on both sides.
        unpaired_prompts: Prompts left out because one side had no judged sample.
        baseline_k: Bad replies of the baseline.
        baseline_n: Judged samples of the baseline.
        candidate_k: Bad replies of the candidate.
        candidate_n: Judged samples of the candidate.
        baseline_rate: ``baseline_k / baseline_n``.
        candidate_rate: ``candidate_k / candidate_n``.
        estimate: ``candidate_rate - baseline_rate`` (positive: the candidate does it more).
        se: Cluster-robust standard error of the estimate (0 when there is no spread at all).
        interval: Cluster-robust t interval, or the conservative exact-marginals interval when
            the spread cannot be estimated (see ``interval.method``).
        p_value: Two-sided p-value for "no difference" from the same method.
        bootstrap_interval: Paired cluster-bootstrap interval when requested, else ``None``.
        mcnemar: Exact McNemar test when every prompt has exactly one judged sample per side,
            else ``None``.
        errors: Errors on both sides, as passed in.
        missing: Missing verdicts on both sides, as passed in.
    """

    prompts: int
    unpaired_prompts: int
    baseline_k: int
    baseline_n: int
    candidate_k: int
    candidate_n: int
    baseline_rate: float
    candidate_rate: float
    estimate: float
    se: float
    interval: Interval
    p_value: float
    bootstrap_interval: Interval | None = None
    mcnemar: McNemarTest | None = None
    errors: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class NonInferiority(ResultMixin):
    """Is the candidate no worse than the baseline by more than ``margin``?

    "Worse" means a higher rate of the behaviour. The candidate is non-inferior when the
    one-sided ``1 - alpha`` upper bound of ``candidate - baseline`` is below ``margin``.

    Attributes:
        margin: Largest increase in the rate that is still acceptable (e.g. 0.01).
        alpha: One-sided error level.
        upper_bound: One-sided upper confidence bound of the difference.
        p_value: p-value of "the candidate is worse by ``margin`` or more".
        non_inferior: ``upper_bound < margin``.
        difference: The paired difference the decision rests on (its interval is two-sided
            at ``1 - 2 * alpha``).
    """

    margin: float
    alpha: float
    upper_bound: float
    p_value: float
    non_inferior: bool
    difference: PairedDifference


def _paired_counts(k_baseline: ArrayLike, n_baseline: ArrayLike, k_candidate: ArrayLike,
                   n_candidate: ArrayLike) -> tuple[Counts, int]:
    kb, nb = check_per_prompt(k_baseline, n_baseline)
    kc, nc = check_per_prompt(k_candidate, n_candidate)
    if kb.size != kc.size:
        raise ValueError(f"baseline and candidate need one entry per prompt, in the same order "
                         f"(got {kb.size} and {kc.size} prompts)")
    both = (nb > 0) & (nc > 0)
    if int(both.sum()) < 2:
        raise ValueError(f"a paired comparison needs at least 2 prompts with judged samples on "
                         f"both sides (got {int(both.sum())})")
    return (kb[both], nb[both], kc[both], nc[both]), int((~both).sum())


def _robust_se(counts: Counts) -> tuple[float, float]:
    """Difference of the two rates and its cluster-robust standard error."""
    kb, nb, kc, nc = counts
    pb, pc = kb.sum() / nb.sum(), kc.sum() / nc.sum()
    # Linearised per-prompt contribution of the difference of two ratio estimators.
    u = (kc - pc * nc) / nc.sum() - (kb - pb * nb) / nb.sum()
    prompts = kb.size
    return float(pc - pb), math.sqrt(prompts / (prompts - 1) * float(u @ u))


def _marginal_ends(counts: Counts, confidence: float) -> tuple[float, float]:
    """Conservative interval from exact intervals of each side at ``1 - (1 - confidence) / 2``."""
    kb, nb, kc, nc = (int(a.sum()) for a in counts)
    tail = (1.0 - confidence) / 4.0  # two sides, each two-sided at half the error

    def ends(k: int, n: int) -> tuple[float, float]:
        low = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
        high = 1.0 if k == n else float(stats.beta.ppf(1.0 - tail, k + 1, n - k))
        return low, high

    (bl, bh), (cl, ch) = ends(kb, nb), ends(kc, nc)
    return cl - bh, ch - bl


def _marginal_p_value(counts: Counts, excluded: float, side: str) -> float:
    """Smallest error level at which the exact-marginals interval excludes ``excluded``.

    ``side`` is ``"two"`` (either end, interval at ``1 - alpha``) or ``"upper"`` (the upper end
    is below ``excluded``; one-sided, so the interval is at ``1 - 2 alpha``).
    """

    def gap(alpha: float) -> float:
        low, high = _marginal_ends(counts, 1.0 - (2.0 * alpha if side == "upper" else alpha))
        return excluded - high if side == "upper" else max(excluded - high, low - excluded)

    top = 1.0 if side == "two" else 0.5
    if gap(top - 1e-12) <= 0.0:
        return 1.0
    if gap(1e-15) > 0.0:
        return 0.0
    return float(optimize.brentq(gap, 1e-15, top - 1e-12, xtol=1e-12))


def paired_difference(k_baseline: ArrayLike, n_baseline: ArrayLike, k_candidate: ArrayLike,
                      n_candidate: ArrayLike, confidence: float = 0.95, *,
                      bootstrap_reps: int = 0, seed: int | np.random.Generator | None = None,
                      errors: int = 0, missing: int = 0) -> PairedDifference:
    """Difference in rates between two targets sampled on the same prompts.

    Per-prompt counts must be in the same prompt order on both sides (see
    :meth:`PromptCounts.aligned_with`). Assumes the prompts are a random sample of the probe's
    prompts; the samples need not be matched one to one within a prompt, and ``n`` may differ
    between the sides. Prompts with no judged sample on one side are left out and counted.

    Args:
        k_baseline: Bad replies of the baseline, per prompt.
        n_baseline: Judged samples of the baseline, per prompt.
        k_candidate: Bad replies of the candidate, per prompt.
        n_candidate: Judged samples of the candidate, per prompt.
        confidence: Two-sided confidence level.
        bootstrap_reps: When > 0, also a paired cluster bootstrap (prompts resampled with both
            sides together) with this many replicates.
        seed: Seed or numpy ``Generator`` for the bootstrap.
        errors: Errors on both sides, reported beside the result.
        missing: Missing verdicts on both sides, reported beside the result.

    Returns:
        A :class:`PairedDifference`.
    """
    confidence = check_confidence(confidence)
    counts, unpaired = _paired_counts(k_baseline, n_baseline, k_candidate, n_candidate)
    kb, nb, kc, nc = counts
    estimate, se = _robust_se(counts)
    prompts = kb.size
    if se > 0.0:
        quantile = float(stats.t.ppf(0.5 + confidence / 2.0, prompts - 1))
        interval = Interval(max(-1.0, estimate - quantile * se),
                            min(1.0, estimate + quantile * se), confidence, _ROBUST)
        p_value = float(2.0 * stats.t.sf(abs(estimate) / se, prompts - 1))
    else:
        # No spread at all (e.g. zero events on both sides): a t interval would have width 0.
        interval = Interval(*_marginal_ends(counts, confidence), confidence, _MARGINAL)
        p_value = _marginal_p_value(counts, 0.0, "two")
    bootstrap = None
    if bootstrap_reps:
        index = bootstrap_prompt_indices(prompts, check_reps(bootstrap_reps), seed)
        replicates = (kc[index].sum(axis=1) / nc[index].sum(axis=1)
                      - kb[index].sum(axis=1) / nb[index].sum(axis=1))
        bootstrap = percentile_interval(replicates, confidence, prompts,
                                        "paired cluster bootstrap (expanded percentile)")
    single = bool(np.all(nb == 1) and np.all(nc == 1))
    return PairedDifference(
        prompts=prompts, unpaired_prompts=unpaired, baseline_k=int(kb.sum()),
        baseline_n=int(nb.sum()), candidate_k=int(kc.sum()), candidate_n=int(nc.sum()),
        baseline_rate=float(kb.sum() / nb.sum()), candidate_rate=float(kc.sum() / nc.sum()),
        estimate=estimate, se=se, interval=interval, p_value=min(p_value, 1.0),
        bootstrap_interval=bootstrap, mcnemar=mcnemar_exact(kb, kc) if single else None,
        errors=check_count("errors", errors), missing=check_count("missing", missing))


def non_inferiority(k_baseline: ArrayLike, n_baseline: ArrayLike, k_candidate: ArrayLike,
                    n_candidate: ArrayLike, *, margin: float, alpha: float = 0.05,
                    errors: int = 0, missing: int = 0) -> NonInferiority:
    """Non-inferiority of the candidate against the baseline for a bad behaviour.

    Args:
        k_baseline: Bad replies of the baseline, per prompt.
        n_baseline: Judged samples of the baseline, per prompt.
        k_candidate: Bad replies of the candidate, per prompt.
        n_candidate: Judged samples of the candidate, per prompt.
        margin: Largest acceptable increase in the rate, > 0 (e.g. 0.01 for one point).
        alpha: One-sided error level.
        errors: Errors on both sides, reported beside the result.
        missing: Missing verdicts on both sides, reported beside the result.

    Returns:
        A :class:`NonInferiority`; its ``p_value`` can go into :func:`adjust_p_values` when many
        behaviours are gated at once.
    """
    if not (isinstance(margin, int | float) and 0.0 < margin < 1.0):
        raise ValueError(f"margin must be a rate difference between 0 and 1, e.g. 0.01 "
                         f"(got {margin!r})")
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 0.5):
        raise ValueError(f"alpha must be between 0 and 0.5, e.g. 0.05 (got {alpha!r})")
    difference = paired_difference(k_baseline, n_baseline, k_candidate, n_candidate,
                                   1.0 - 2.0 * alpha, errors=errors, missing=missing)
    upper = difference.interval.high
    if difference.se > 0.0:
        p_value = float(stats.t.cdf((difference.estimate - margin) / difference.se,
                                    difference.prompts - 1))
    else:
        counts, _ = _paired_counts(k_baseline, n_baseline, k_candidate, n_candidate)
        p_value = _marginal_p_value(counts, margin, "upper")
    return NonInferiority(float(margin), float(alpha), upper, p_value, upper < margin, difference)


def mcnemar_exact(baseline_bad: ArrayLike, candidate_bad: ArrayLike) -> McNemarTest:
    """Exact McNemar test for paired yes/no outcomes (``statsmodels`` ``mcnemar(exact=True)``).

    It fits when each pair is one baseline reply and one candidate reply that belong together:
    one sample per prompt on each side, or per-prompt "at least one bad reply in N" indicators
    for comparing tails. It does not fit several samples per prompt paired by sample index.

    Args:
        baseline_bad: 1 where the baseline reply was bad, 0 where good, per pair.
        candidate_bad: The same for the candidate, in the same order.

    Returns:
        A :class:`McNemarTest`.
    """
    base = as_float_vector("baseline_bad", baseline_bad)
    cand = as_float_vector("candidate_bad", candidate_bad)
    if base.size != cand.size or base.size == 0:
        raise ValueError(f"baseline_bad and candidate_bad need one entry per pair "
                         f"(got {base.size} and {cand.size})")
    if not np.all(np.isin(base, (0.0, 1.0)) & np.isin(cand, (0.0, 1.0))):
        raise ValueError("baseline_bad and candidate_bad must hold only 0 and 1 "
                         "(drop pairs with a missing verdict and count them as missing)")
    only_base = int(np.sum((base == 1) & (cand == 0)))
    only_cand = int(np.sum((base == 0) & (cand == 1)))
    both = int(np.sum((base == 1) & (cand == 1)))
    table = [[both, only_base], [only_cand, base.size - both - only_base - only_cand]]
    p_value = 1.0 if only_base + only_cand == 0 else float(mcnemar(table, exact=True).pvalue)
    return McNemarTest(int(base.size), only_base, only_cand, min(p_value, 1.0))
