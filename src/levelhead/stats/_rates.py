"""Rates: k bad replies out of n judged samples, with Wilson, exact and Jeffreys intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from levelhead.stats._results import (
    Interval,
    ResultMixin,
    check_confidence,
    check_count,
    check_probability,
)

__all__ = ["BinomialTest", "Rate", "RateMethod", "binomial_test", "rate", "rate_interval",
           "rate_intervals"]

RateMethod = Literal["wilson", "exact", "jeffreys"]

# Our method names → statsmodels' names. "exact" is Clopper-Pearson ("beta" in statsmodels).
_STATSMODELS_METHOD = {"wilson": "wilson", "exact": "beta", "jeffreys": "jeffreys"}
_METHOD_LABEL = {"wilson": "wilson", "exact": "exact (Clopper-Pearson)", "jeffreys": "jeffreys"}


@dataclass(frozen=True, slots=True)
class Rate(ResultMixin):
    """A rate of bad replies with its interval.

    The arithmetic uses judged samples only: ``n`` excludes errors and missing verdicts, which are
    carried beside the rate so a report can show them; they are never counted as good replies.

    Attributes:
        k: Judged samples with the behaviour (bad replies).
        n: Judged samples.
        estimate: ``k / n``.
        interval: Confidence interval for the rate.
        errors: Samples that failed (target error), as passed in by the caller.
        missing: Samples without a usable verdict, as passed in by the caller.
    """

    k: int
    n: int
    estimate: float
    interval: Interval
    errors: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class BinomialTest(ResultMixin):
    """An exact two-sided binomial test of ``k`` of ``n`` against a null rate.

    Attributes:
        k: Successes (e.g. picks of one option).
        n: Trials.
        null_rate: The rate under the null hypothesis, 0.5 for "no preference".
        p_value: Exact two-sided p-value (``scipy.stats.binomtest``).
        rate: The observed rate with its interval.
    """

    k: int
    n: int
    null_rate: float
    p_value: float
    rate: Rate


def _check_k_n(k: int, n: int) -> tuple[int, int]:
    k = check_count("k", k)
    n = check_count("n", n)
    if k > n:
        raise ValueError(f"k must be between 0 and n (got k={k}, n={n})")
    if n == 0:
        raise ValueError("n must be at least 1: there are no judged samples to estimate from")
    return k, n


def _check_method(method: str) -> RateMethod:
    if method not in _STATSMODELS_METHOD:
        raise ValueError(f"method must be one of {sorted(_STATSMODELS_METHOD)} (got {method!r})")
    return cast(RateMethod, method)


def rate_intervals(k: ArrayLike, n: ArrayLike, confidence: float = 0.95,
                   method: RateMethod = "wilson") -> tuple[NDArray[np.float64],
                                                           NDArray[np.float64]]:
    """Vectorised interval ends for many rates at once (e.g. one per prompt, or per simulation).

    Args:
        k: Bad counts.
        n: Judged counts (same shape as ``k``, each at least 1).
        confidence: Two-sided confidence level.
        method: ``"wilson"``, ``"exact"`` (Clopper-Pearson) or ``"jeffreys"``.

    Returns:
        ``(low, high)`` arrays. Jeffreys uses the boundary fix of Brown, Cai & DasGupta (2001):
        low is 0 at ``k == 0`` and high is 1 at ``k == n``.
    """
    confidence = check_confidence(confidence)
    method = _check_method(method)
    k_arr = np.atleast_1d(np.asarray(k, dtype=float))
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    if k_arr.shape != n_arr.shape:
        raise ValueError(f"k and n must have the same shape (got {k_arr.shape} and {n_arr.shape})")
    if np.any(n_arr < 1) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError("every entry must have 0 <= k <= n and n >= 1")
    low, high = proportion_confint(k_arr, n_arr, alpha=1.0 - confidence,
                                   method=_STATSMODELS_METHOD[method])
    low = np.clip(np.asarray(low, dtype=float), 0.0, 1.0)
    high = np.clip(np.asarray(high, dtype=float), 0.0, 1.0)
    # Pin the ends that the data cannot move: nothing seen → low is 0; all seen → high is 1.
    # For Jeffreys this is the boundary fix of Brown, Cai & DasGupta (2001); for Wilson it only
    # removes floating-point dust such as 5e-17.
    low = np.where(k_arr == 0, 0.0, low)
    high = np.where(k_arr == n_arr, 1.0, high)
    return low, high


def rate_interval(k: int, n: int, confidence: float = 0.95,
                  method: RateMethod = "wilson") -> Interval:
    """Confidence interval for a rate of ``k`` in ``n``.

    Args:
        k: Bad replies among the judged samples.
        n: Judged samples (errors and missing verdicts excluded).
        confidence: Two-sided confidence level, e.g. 0.95.
        method: ``"wilson"`` (default; good coverage at every n), ``"exact"`` (Clopper-Pearson;
            never under-covers, wider) or ``"jeffreys"`` (Bayesian with a Jeffreys prior; close
            to nominal on average).

    Returns:
        The interval; at ``k == 0`` its low end is 0 and at ``k == n`` its high end is 1.

    Raises:
        ValueError: if ``k`` is not between 0 and ``n``, ``n`` is 0 or the method is unknown.
    """
    k, n = _check_k_n(k, n)
    low, high = rate_intervals([k], [n], confidence, method)
    return Interval(float(low[0]), float(high[0]), float(confidence), _METHOD_LABEL[method])


def rate(k: int, n: int, confidence: float = 0.95, method: RateMethod = "wilson", *,
         errors: int = 0, missing: int = 0) -> Rate:
    """The rate ``k / n`` with its interval, and the error and missing counts beside it.

    Args:
        k: Bad replies among the judged samples.
        n: Judged samples (errors and missing verdicts excluded).
        confidence: Two-sided confidence level.
        method: See :func:`rate_interval`.
        errors: Samples that ended in an error; reported, not used in the arithmetic.
        missing: Samples without a verdict; reported, not used in the arithmetic.

    Returns:
        A :class:`Rate`.
    """
    interval = rate_interval(k, n, confidence, method)
    return Rate(int(k), int(n), k / n, interval, check_count("errors", errors),
                check_count("missing", missing))


def binomial_test(k: int, n: int, null_rate: float = 0.5, confidence: float = 0.95,
                  method: RateMethod = "wilson") -> BinomialTest:
    """Exact two-sided test that ``k`` of ``n`` is compatible with ``null_rate``.

    With ``null_rate=0.5`` this asks "is 7 of 10 picks for one name evidence of a preference?"
    (p = 0.34: no).

    Args:
        k: Successes.
        n: Trials (at least 1).
        null_rate: Rate under the null hypothesis, strictly between 0 and 1.
        confidence: Level of the interval reported with the test.
        method: Interval method, see :func:`rate_interval`.

    Returns:
        A :class:`BinomialTest` (``scipy.stats.binomtest`` p-value plus the rate).
    """
    k, n = _check_k_n(k, n)
    null_rate = check_probability("null_rate", null_rate, open_low=True, open_high=True)
    p_value = float(stats.binomtest(k, n, null_rate).pvalue)
    return BinomialTest(k, n, null_rate, min(p_value, 1.0), rate(k, n, confidence, method))
