"""One mirrored pair at a time: does this pair's side A get other replies than its side B?

The pooled asymmetry (``_mirrored``) averages over pairs, so one badly unequal pair among fifty
even ones disappears in the mean. Here each pair is its own comparison: the N replies to side A
against the N replies to side B, two independent samples (the replies of one side are drawn
independently of the other's, so sample ``k`` of A has nothing to do with sample ``k`` of B).
With many pairs tested at once, :func:`flag_pair_asymmetries` adjusts the p-values (Holm by
default) before anything is flagged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from levelhead.stats._multiplicity import MultiplicityMethod
from levelhead.stats._results import (
    Interval,
    ResultMixin,
    as_float_vector,
    check_confidence,
    check_count,
)

__all__ = ["PairAsymmetry", "PairFeatureKind", "flag_pair_asymmetries", "pair_asymmetry"]

PairFeatureKind = Literal["mean", "share"]


@dataclass(frozen=True, slots=True)
class PairAsymmetry(ResultMixin):
    """Side A minus side B of one feature of one mirrored pair, over its replies per side.

    Attributes:
        pair: The pair's id, as passed in.
        feature: Name of the feature (``"words"``, ``"list_items"``, ``"refusal"``...).
        kind: ``"mean"`` (a measurement per reply) or ``"share"`` (a 0/1 per reply).
        n_a: Replies of side A measured.
        n_b: Replies of side B measured.
        mean_a: Mean (or share) on side A.
        mean_b: Mean (or share) on side B.
        difference: ``mean_a - mean_b`` (positive: side A gets more of the feature).
        interval: Interval for the difference: Welch t for a mean, Newcombe's hybrid score for
            a share. Ends are infinite when no spread was seen and too few replies were taken
            to bound the difference (see :func:`pair_asymmetry`).
        p_value: Two-sided p-value of "the side makes no difference", before adjustment.
        test: The test that gave ``p_value``.
        adjusted_p_value: ``p_value`` adjusted for every test of the family
            (:func:`flag_pair_asymmetries`); None until adjusted.
        flagged: ``adjusted_p_value <= alpha``; None until adjusted.
        correction: ``"holm"`` or ``"bh"``; None until adjusted.
        family: Number of tests adjusted together; None until adjusted.
        alpha: The error level of the flag; None until adjusted.
        errors: Errors, as passed in.
        missing: Replies dropped for a missing (NaN) feature plus ``missing`` passed in.
    """

    pair: str
    feature: str
    kind: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    difference: float
    interval: Interval
    p_value: float
    test: str
    adjusted_p_value: float | None = None
    flagged: bool | None = None
    correction: str | None = None
    family: int | None = None
    alpha: float | None = None
    errors: int = 0
    missing: int = 0


def _welch(a: NDArray[np.float64], b: NDArray[np.float64],
           confidence: float) -> tuple[Interval, float, str]:
    """Welch's t interval and test; where neither side varies, the exact permutation test."""
    difference = float(a.mean() - b.mean())
    # A side whose replies all measured the same has no spread, exactly: np.var of ten equal
    # floats can come out at 1e-33 from rounding, and a t-test on that would claim p = 1e-136.
    var_a = float(a.var(ddof=1)) if np.ptp(a) else 0.0
    var_b = float(b.var(ddof=1)) if np.ptp(b) else 0.0
    if var_a == 0.0 and var_b == 0.0:
        return _no_spread(difference, a.size, b.size, confidence)
    se2_a, se2_b = var_a / a.size, var_b / b.size
    se = math.sqrt(se2_a + se2_b)
    df = (se2_a + se2_b) ** 2 / (se2_a ** 2 / (a.size - 1) + se2_b ** 2 / (b.size - 1))
    # scipy.special's t distribution: the same numbers as scipy.stats.t, a hundred times faster
    # (findings test every pair and feature of a run).
    p_value = float(2.0 * special.stdtr(df, -abs(difference) / se))
    half = float(special.stdtrit(df, 0.5 + confidence / 2.0)) * se
    return (Interval(difference - half, difference + half, confidence, "welch t"),
            min(p_value, 1.0), "welch t")


def _no_spread(difference: float, n_a: int, n_b: int,
               confidence: float) -> tuple[Interval, float, str]:
    """Every reply of side A measured ``u`` and every reply of side B ``v``.

    Welch's test has no variance to work with, but the permutation test is exact: deal the
    ``n_a + n_b`` values afresh into groups of ``n_a`` and ``n_b``; the number ``j`` of A's
    values that stay in A is hypergeometric, and the difference of means is
    ``(u - v) * (j / n_a - (n_a - j) / n_b)``. The p-value is the chance of a difference at
    least as large as the observed (``j = n_a``). Inverting that test for a shift ``delta``
    (A's values moved by ``-delta``) rejects every ``delta`` other than the observed difference
    when the most extreme deal is itself rare enough, giving the point; otherwise nothing is
    rejected, and the interval is unbounded: the data cannot say how large the difference is.
    """
    j = np.arange(max(0, n_a - n_b), n_a + 1)
    shifts = j / n_a - (n_a - j) / n_b
    pmf = _hypergeom_pmf(j, n_a + n_b, n_a, n_a)
    extreme = float(pmf[np.abs(shifts) >= 1.0 - 1e-12].sum())  # as extreme as j = n_a
    p_value = 1.0 if difference == 0.0 else min(extreme, 1.0)
    method = "exact permutation (no spread on either side)"
    if extreme <= 1.0 - confidence:
        return Interval(difference, difference, confidence, method), p_value, method
    return Interval(-math.inf, math.inf, confidence, method), p_value, method


def _hypergeom_pmf(x: NDArray[np.int64], total: int, marked: int, drawn: int) -> NDArray[np.float64]:
    """P(``x`` marked among ``drawn`` taken from ``total`` of which ``marked`` are marked)."""
    def log_comb(n: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
        return np.asarray(special.gammaln(np.add(n, 1)) - special.gammaln(np.add(k, 1))
                          - special.gammaln(np.subtract(n, k) + 1), dtype=float)

    return np.exp(log_comb(marked, x) + log_comb(total - marked, drawn - x)
                  - log_comb(total, drawn))


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson's score interval (the closed form of ``rate_interval``'s default)."""
    centre = (k + z * z / 2.0) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4.0) / (n + z * z)
    return max(0.0, centre - half) if k else 0.0, min(1.0, centre + half) if k < n else 1.0


def _newcombe_fisher(a: NDArray[np.float64], b: NDArray[np.float64],
                     confidence: float) -> tuple[Interval, float, str]:
    """Newcombe's hybrid score interval (method 10, from the two Wilson intervals) and
    Fisher's exact test (two-sided: every table no more likely than the observed one)."""
    if np.any((a != 0.0) & (a != 1.0)) or np.any((b != 0.0) & (b != 1.0)):
        raise ValueError("a share feature must hold 0 or 1 per reply (NaN for missing)")
    k_a, k_b = int(a.sum()), int(b.sum())
    p_a, p_b = k_a / a.size, k_b / b.size
    z = float(special.ndtri(0.5 + confidence / 2.0))
    (low_a, high_a), (low_b, high_b) = _wilson(k_a, a.size, z), _wilson(k_b, b.size, z)
    difference = p_a - p_b
    interval = Interval(difference - math.hypot(p_a - low_a, high_b - p_b),
                        difference + math.hypot(high_a - p_a, p_b - low_b),
                        confidence, "newcombe hybrid score")
    refused = k_a + k_b
    x = np.arange(max(0, refused - b.size), min(refused, a.size) + 1)
    pmf = _hypergeom_pmf(x, a.size + b.size, refused, a.size)
    observed = pmf[k_a - x[0]]
    p_value = float(pmf[pmf <= observed * (1 + 1e-7)].sum())  # scipy's tolerance for ties
    return interval, min(p_value, 1.0), "fisher exact"


def pair_asymmetry(side_a: ArrayLike, side_b: ArrayLike, *, kind: PairFeatureKind = "mean",
                   feature: str = "feature", pair: str = "", confidence: float = 0.95,
                   errors: int = 0, missing: int = 0) -> PairAsymmetry:
    """Side A minus side B of one feature of one mirrored pair, from the replies of each side.

    The replies of the two sides are two independent samples (unpaired). For a measurement
    (``kind="mean"``: words, list items, a sentiment score) the difference of means gets
    Welch's t interval and test, which allow the sides different spreads; when neither side
    varies at all (every reply to A had 5 items, every reply to B 3), the p-value is the exact
    permutation test and the interval its inversion (see ``docs/statistics.md``). For a 0/1 per
    reply (``kind="share"``: refused or not) the difference of shares gets Newcombe's hybrid
    score interval and Fisher's exact test.

    Args:
        side_a: The feature of each reply to side A (NaN where it could not be measured).
        side_b: The feature of each reply to side B.
        kind: ``"mean"`` or ``"share"``.
        feature: Name of the feature, carried into the result.
        pair: The pair's id, carried into the result.
        confidence: Two-sided confidence level.
        errors: Errors, reported beside the result.
        missing: Missing verdicts, reported beside the result.

    Returns:
        A :class:`PairAsymmetry`, not yet adjusted: pass all of a family's results to
        :func:`flag_pair_asymmetries`.

    Raises:
        ValueError: an unknown kind, a share that is not 0/1, or too few replies (a mean needs
            2 per side, a share 1).
    """
    confidence = check_confidence(confidence)
    if kind not in ("mean", "share"):
        raise ValueError(f"kind must be 'mean' or 'share' (got {kind!r})")
    a = as_float_vector("side_a", side_a)
    b = as_float_vector("side_b", side_b)
    dropped = int(np.isnan(a).sum() + np.isnan(b).sum())
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    need = 2 if kind == "mean" else 1
    if a.size < need or b.size < need:
        raise ValueError(f"a pair's {kind} needs at least {need} measured replies per side "
                         f"(got {a.size} and {b.size})")
    interval, p_value, test = (_welch if kind == "mean" else _newcombe_fisher)(a, b, confidence)
    return PairAsymmetry(
        pair=str(pair), feature=feature, kind=kind, n_a=int(a.size), n_b=int(b.size),
        mean_a=float(a.mean()), mean_b=float(b.mean()), difference=float(a.mean() - b.mean()),
        interval=interval, p_value=p_value, test=test, errors=check_count("errors", errors),
        missing=dropped + check_count("missing", missing))


def flag_pair_asymmetries(results: Sequence[PairAsymmetry], *,
                          method: MultiplicityMethod = "holm",
                          alpha: float = 0.05) -> tuple[PairAsymmetry, ...]:
    """Adjust the p-values of many pairs (and features) tested together, and flag.

    Args:
        results: Every test of the family, e.g. every pair and feature of one target.
        method: ``"holm"`` (default: the chance that *any* even pair is flagged stays at or
            below ``alpha``, under any dependence between the tests) or ``"bh"``
            (Benjamini-Hochberg: the expected share of even pairs among the flagged ones).
        alpha: Family-wise error level (Holm) or false discovery rate (BH).

    Returns:
        The results in input order with ``adjusted_p_value``, ``flagged``, ``correction``,
        ``family`` and ``alpha`` set; an empty tuple for no results.
    """
    if method not in ("holm", "bh"):
        raise ValueError(f"method must be 'holm' or 'bh' (got {method!r})")
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be between 0 and 1, e.g. 0.05 (got {alpha!r})")
    if not results:
        return ()
    adjusted = _adjust(np.array([r.p_value for r in results], dtype=float), method)
    return tuple(dataclasses.replace(r, adjusted_p_value=float(a), flagged=bool(a <= alpha),
                                     correction=method, family=len(results), alpha=float(alpha))
                 for r, a in zip(results, adjusted, strict=True))


def _adjust(p: NDArray[np.float64], method: MultiplicityMethod) -> NDArray[np.float64]:
    """Holm's or Benjamini-Hochberg's adjusted p-values, as ``adjust_p_values`` gives them
    (statsmodels' ``multipletests``; a test checks it) without its full garbage collection on
    every Holm call, which costs 0.2 s in a busy process and a run tests a family per target."""
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        steps = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:
        steps = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(steps, 1.0)
    return out
