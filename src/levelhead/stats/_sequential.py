"""Watching a rate over time: has a behaviour's rate in live traffic risen above its baseline?

A test checked after every batch of live records must not alarm more often just because it is
checked often (a 5 % fixed-sample z-test read after each of 100 batches alarmed on a steady rate
in one stream of five, in the simulation of docs/statistics.md). The mixture sequential
probability ratio test (mSPRT; Johari, Pekelis & Walsh 2017, "Always valid inference") is built
for that: its p-value may be read after every record and the chance that it *ever* falls to
``alpha`` on a steady rate stays at most ``alpha``.

The statistic is the difference ``D = k/n - k0/n0`` between the live rate (``k`` of ``n``
records since monitoring began) and the baseline rate (``k0`` of ``n0`` records). Its variance
``V = p(1 - p)(1/n + 1/n0)`` counts the baseline's own sampling error, which does not shrink as
live records arrive (integrating the common rate out with a flat prior leaves exactly this
normal likelihood for the difference, so the mixture below is a martingale when the rate holds).
With a normal prior ``N(0, tau^2)`` on the difference (half-normal for ``"greater"``) the
mixture likelihood ratio has a closed form, and the always-valid p-value is the running minimum
of its inverse. It compares the whole monitored period with the baseline, so a rise after a long
steady stretch is diluted: ``_cusum`` gives the quick alarm. See docs/statistics.md, "Watching
a rate over time (always-valid)".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from levelhead.stats._results import Interval, ResultMixin, check_count

__all__ = ["Alternative", "RateWatch", "RateWatchStream", "watch_rate", "watch_rate_stream"]

Alternative = Literal["greater", "two-sided"]
Floats = NDArray[np.float64]

# tau defaults to ``rise`` times the baseline rate, the baseline floored at 1 %: a mixture sized
# for a rise of 0.005 points when the baseline is 1e-5 would need millions of records to alarm
# on a rise to 5 %, and it stays valid whatever tau is (tau trades power between effect sizes).
_TAU_FLOOR_RATE = 0.01


def _check_alpha(name: str, value: float) -> float:
    if isinstance(value, bool) or not (isinstance(value, int | float) and 0.0 < value < 1.0):
        raise ValueError(f"{name} must be between 0 and 1, e.g. 0.05 (got {value!r})")
    return float(value)


def _check_positive(name: str, value: float, *, zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value < math.inf
    if not (ok and (value >= 0.0 if zero else value > 0.0)):
        raise ValueError(f"{name} must be a number {'>=' if zero else '>'} 0 (got {value!r})")
    return float(value)


def _check_alternative(alternative: str) -> Alternative:
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided' (got {alternative!r})")
    return "greater" if alternative == "greater" else "two-sided"


def _log_mixture_lr(d: Floats, v: Floats, tau2: Floats, alternative: str) -> Floats:
    """log of the normal-mixture likelihood ratio of difference ``d`` with variance ``v``."""
    rho = tau2 / v
    log_lr = -0.5 * np.log1p(rho) + 0.5 * rho / (1.0 + rho) * d * d / v
    if alternative == "greater":
        # Half-normal prior on d > 0: 2 * Phi(...) times the two-sided form. log_ndtr keeps the
        # cancellation exact when d is far below 0 (both terms grow like d^2).
        log_lr = log_lr + math.log(2.0) + special.log_ndtr(d * np.sqrt(rho / ((1.0 + rho) * v)))
    return np.asarray(log_lr, dtype=float)


def _bounds(d: Floats, v: Floats, tau2: Floats, alpha: float,
            alternative: str) -> tuple[Floats, Floats]:
    """The confidence sequence for the difference: every value the mixture does not reject."""
    rho = tau2 / v
    # Two-sided: |d - theta| / sqrt(v) <= u_two, in closed form.
    u_two = np.sqrt((1.0 + rho) / rho * (2.0 * math.log(1.0 / alpha) + np.log1p(rho)))
    if alternative == "two-sided":
        half = u_two * np.sqrt(v)
        return np.maximum(d - half, -1.0), np.minimum(d + half, 1.0)
    # One-sided: the half-normal mixture is increasing in u = (d - theta) / sqrt(v) and at u_two
    # already exceeds 1/alpha (its Phi factor is >= 1/2 there), so bisect on [0, u_two].
    low, high = np.zeros_like(u_two), u_two.copy()
    target = math.log(1.0 / alpha)
    for _ in range(60):
        mid = 0.5 * (low + high)
        above = _log_mixture_lr(mid * np.sqrt(v), v, tau2, "greater") >= target
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return np.maximum(d - high * np.sqrt(v), -1.0), np.ones_like(d)


def _default_tau(baseline_k: Floats, baseline_n: Floats, rise: float) -> Floats:
    smoothed = (baseline_k + 0.5) / (baseline_n + 1.0)
    return np.asarray(rise * np.maximum(smoothed, _TAU_FLOOR_RATE), dtype=float)


def _evaluate(k: Floats, n: Floats, k0: Floats, n0: Floats, tau: Floats, alpha: float,
              alternative: str, min_n: int, min_expected: float) -> dict[str, Any]:
    """Per-check statistics (broadcast over any shape): no running minimum yet."""
    live = np.where(n > 0, k / np.maximum(n, 1.0), np.nan)
    d = live - k0 / n0
    # Null variance from the pooled rate (score-test style: it does not shrink when the
    # live count happens to be low); a Jeffreys-like half event keeps it above 0 when no
    # event was seen anywhere, e.g. a baseline of 0 of 10,000.
    pooled = (k + k0 + 0.5) / (n + n0 + 1.0)
    v_null = pooled * (1.0 - pooled) * (1.0 / np.maximum(n, 1.0) + 1.0 / n0)
    # The interval needs the variance where the rates really are: each side's own.
    p1, p0 = (k + 0.5) / (n + 1.0), (k0 + 0.5) / (n0 + 1.0)
    v_wald = p1 * (1.0 - p1) / np.maximum(n, 1.0) + p0 * (1.0 - p0) / n0
    ready = (n >= min_n) & (np.minimum(n, n0) * np.minimum(pooled, 1.0 - pooled) >= min_expected)
    log_lr = _log_mixture_lr(np.nan_to_num(d), v_null, tau * tau, alternative)
    low, high = _bounds(np.nan_to_num(d), v_wald, tau * tau, alpha, alternative)
    low, high = np.where(n > 0, low, -1.0), np.where(n > 0, high, 1.0)
    p_check = np.where(ready, np.exp(-np.maximum(log_lr, 0.0)), 1.0)
    return {"estimate": live, "difference": d, "log_lr": log_lr, "p_check": p_check,
            "ready": ready, "low": low, "high": high}


def _cs_method(alternative: str, tau: float) -> str:
    side = "lower bound" if alternative == "greater" else "two-sided"
    return f"mSPRT confidence sequence ({side}, normal mixture, tau={tau:.4g})"


@dataclass(frozen=True, slots=True)
class RateWatch(ResultMixin):
    """One behaviour's live rate against its baseline, as of the latest check.

    Immutable: :meth:`update` returns the next state, so a monitor can store the state (it is
    JSON via ``to_dict()``) and carry on later. Start one with :func:`watch_rate`.

    Attributes:
        baseline_k: Records of the baseline with the behaviour.
        baseline_n: Records in the baseline.
        k: Live records with the behaviour since monitoring began.
        n: Live records since monitoring began.
        estimate: The live rate ``k / n`` (NaN before the first record).
        baseline: The baseline rate ``baseline_k / baseline_n``.
        difference: ``estimate - baseline`` (NaN before the first record).
        p_value: Always-valid p-value: the smallest ``1 / likelihood ratio`` over the checks so
            far at which the minimum counts were met (1 before). Valid whenever it is read.
        interval: Confidence sequence for the difference at ``1 - alpha``, as of this check
            (a lower bound, with high = 1, for ``"greater"``); it holds the true difference at
            every check at once with probability ``1 - alpha`` while the live rate is steady.
        ready: Whether this check met ``min_n`` and ``min_expected`` (before that, no alarm).
        alarm: ``p_value <= alpha``; once raised it stays raised.
        first_alarm_n: Live records ``n`` at the first check that alarmed; None until then.
        checks: Number of updates so far.
        alternative: ``"greater"`` (a rise) or ``"two-sided"`` (a move either way).
        alpha: False-alarm level over unbounded monitoring.
        tau: Standard deviation of the mixture over the difference.
        min_n: Live records needed before an alarm.
        min_expected: Expected events (and non-events), at the pooled rate, needed on each
            side (live and baseline) before an alarm.
        method: ``"mSPRT (normal mixture)"``.
    """

    baseline_k: int
    baseline_n: int
    k: int
    n: int
    estimate: float
    baseline: float
    difference: float
    p_value: float
    interval: Interval
    ready: bool
    alarm: bool
    first_alarm_n: int | None
    checks: int
    alternative: str
    alpha: float
    tau: float
    min_n: int
    min_expected: float
    method: str = "mSPRT (normal mixture)"

    def update(self, k_new: int, n_new: int) -> RateWatch:
        """The state after ``n_new`` more live records, ``k_new`` of them with the behaviour.

        Args:
            k_new: New records with the behaviour.
            n_new: New records judged (0 is allowed: nothing changes but ``checks``).

        Returns:
            The next :class:`RateWatch`; this one is left as it was.

        Raises:
            ValueError: negative or non-whole counts, or ``k_new > n_new``.
        """
        k_new, n_new = check_count("k_new", k_new), check_count("n_new", n_new)
        if k_new > n_new:
            raise ValueError(f"k_new must be between 0 and n_new (got k_new={k_new}, n_new={n_new})")
        k, n = self.k + k_new, self.n + n_new
        at = _evaluate(np.array(float(k)), np.array(float(n)), np.array(float(self.baseline_k)),
                       np.array(float(self.baseline_n)), np.array(self.tau), self.alpha,
                       self.alternative, self.min_n, self.min_expected)
        p_value = min(self.p_value, float(at["p_check"]))
        alarm = p_value <= self.alpha
        first = self.first_alarm_n if self.first_alarm_n is not None else (n if alarm else None)
        interval = Interval(float(at["low"]), float(at["high"]), 1.0 - self.alpha,
                            _cs_method(self.alternative, self.tau))
        return dataclasses.replace(
            self, k=k, n=n, estimate=float(at["estimate"]), difference=float(at["difference"]),
            p_value=p_value, interval=interval, ready=bool(at["ready"]), alarm=alarm,
            first_alarm_n=first, checks=self.checks + 1)


def watch_rate(baseline_k: int, baseline_n: int, *, alternative: Alternative = "greater",
               alpha: float = 0.05, tau: float | None = None, rise: float = 0.5,
               min_n: int = 500, min_expected: float = 10.0) -> RateWatch:
    """Start watching a behaviour's live rate against a baseline (e.g. the first 10,000 records).

    Feed it with :meth:`RateWatch.update` after every batch, as often as you like: the chance of
    ever alarming while the rate stays at the baseline is at most ``alpha``, however long it is
    watched (asymptotically: the test rests on the normal approximation, hence ``min_n`` and
    ``min_expected``).

    Args:
        baseline_k: Baseline records with the behaviour (0 is allowed).
        baseline_n: Baseline records (at least 1).
        alternative: ``"greater"`` (default: alarm on a rise) or ``"two-sided"`` (either way).
        alpha: False-alarm level.
        tau: Standard deviation of the normal mixture over the difference (rate points, e.g.
            0.01). Default: ``rise`` times the baseline rate, the baseline floored at 1 %.
        rise: Relative rise of interest that sizes the default ``tau`` (0.5: a rise by half).
        min_n: Live records needed before any alarm.
        min_expected: Expected events and non-events at the pooled rate needed on the live side
            and on the baseline before any alarm (the normal approximation's rule of thumb).

    Returns:
        A :class:`RateWatch` with no live records yet.

    Raises:
        ValueError: an invalid count, level or setting, with what to pass instead.
    """
    baseline_k, baseline_n = check_count("baseline_k", baseline_k), check_count("baseline_n", baseline_n)
    if baseline_n == 0:
        raise ValueError("baseline_n must be at least 1: a baseline needs records to measure a rate")
    if baseline_k > baseline_n:
        raise ValueError(f"baseline_k must be between 0 and baseline_n "
                         f"(got baseline_k={baseline_k}, baseline_n={baseline_n})")
    alternative = _check_alternative(alternative)
    alpha = _check_alpha("alpha", alpha)
    rise = _check_positive("rise", rise)
    tau = (float(_default_tau(np.array(float(baseline_k)), np.array(float(baseline_n)), rise))
           if tau is None else _check_positive("tau", tau))
    min_n = check_count("min_n", min_n)
    min_expected = _check_positive("min_expected", min_expected, zero=True)
    return RateWatch(
        baseline_k=baseline_k, baseline_n=baseline_n, k=0, n=0, estimate=math.nan,
        baseline=baseline_k / baseline_n, difference=math.nan, p_value=1.0,
        interval=Interval(-1.0, 1.0, 1.0 - alpha, _cs_method(alternative, tau)), ready=False,
        alarm=False, first_alarm_n=None, checks=0, alternative=alternative, alpha=alpha, tau=tau,
        min_n=min_n, min_expected=min_expected)


@dataclass(frozen=True, slots=True)
class RateWatchStream(ResultMixin):
    """Every check of one or many streams at once (:func:`watch_rate_stream`), for simulations.

    Arrays have the shape of the cumulative counts passed in: ``(checks,)`` or
    ``(streams, checks)``; per-stream fields drop the last axis.

    Attributes:
        n: Live records at each check.
        estimate: Live rate at each check.
        difference: Live rate minus the baseline rate.
        log_lr: log of the mixture likelihood ratio at each check.
        p_value: Always-valid p-value (running minimum over the ready checks).
        low: Confidence-sequence lower end for the difference.
        high: Confidence-sequence upper end (1 for ``"greater"``).
        ready: Whether each check met the minimum counts.
        alarm: ``p_value <= alpha`` at each check.
        first_alarm: Index of the first alarming check per stream, -1 where none alarmed.
        first_alarm_n: Live records at the first alarm per stream, -1 where none alarmed.
        alternative: As passed.
        alpha: As passed.
        tau: The mixture's standard deviation per stream.
    """

    n: NDArray[np.int64]
    estimate: Floats
    difference: Floats
    log_lr: Floats
    p_value: Floats
    low: Floats
    high: Floats
    ready: NDArray[np.bool_]
    alarm: NDArray[np.bool_]
    first_alarm: NDArray[np.int64]
    first_alarm_n: NDArray[np.int64]
    alternative: str
    alpha: float
    tau: Floats

    def to_dict(self) -> dict[str, Any]:
        """The arrays as nested lists, ready for ``json.dumps``."""
        return {f.name: (value.tolist() if isinstance(value, np.ndarray) else value)
                for f in dataclasses.fields(self) for value in [getattr(self, f.name)]}


def _cumulative(name: str, values: ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise ValueError(f"{name} must be cumulative counts, shaped (checks,) or (streams, checks)")
    if array.dtype.kind not in "iuf" or np.any(array != np.round(array)) or np.any(array < 0):
        raise ValueError(f"{name} must hold whole numbers >= 0")
    if np.any(np.diff(array, axis=-1) < 0):
        raise ValueError(f"{name} must be cumulative: it never decreases from one check to the next")
    return array.astype(np.int64)


def watch_rate_stream(k: ArrayLike, n: ArrayLike, baseline_k: ArrayLike, baseline_n: ArrayLike, *,
                      alternative: Alternative = "greater", alpha: float = 0.05,
                      tau: float | None = None, rise: float = 0.5, min_n: int = 500,
                      min_expected: float = 10.0) -> RateWatchStream:
    """Run :func:`watch_rate` over whole streams at once: the same numbers, vectorised.

    Args:
        k: Cumulative live records with the behaviour at each check, ``(checks,)`` or
            ``(streams, checks)``.
        n: Cumulative live records at each check, the same shape.
        baseline_k: Baseline records with the behaviour: one number, or one per stream.
        baseline_n: Baseline records: one number, or one per stream.
        alternative: ``"greater"`` or ``"two-sided"``.
        alpha: False-alarm level.
        tau: Mixture standard deviation; default as in :func:`watch_rate`, per stream.
        rise: Relative rise that sizes the default ``tau``.
        min_n: Live records needed before an alarm.
        min_expected: Expected events and non-events needed on each side before an alarm.

    Returns:
        A :class:`RateWatchStream`.

    Raises:
        ValueError: shapes that do not match, counts that decrease or exceed ``n``, or an
            invalid setting.
    """
    k_arr, n_arr = _cumulative("k", k), _cumulative("n", n)
    if k_arr.shape != n_arr.shape:
        raise ValueError(f"k and n must have the same shape (got {k_arr.shape} and {n_arr.shape})")
    if np.any(k_arr > n_arr):
        raise ValueError("k must be between 0 and n at every check")
    k0 = np.asarray(baseline_k, dtype=float)
    n0 = np.asarray(baseline_n, dtype=float)
    if k0.shape not in ((), k_arr.shape[:-1]) or n0.shape not in ((), k_arr.shape[:-1]):
        raise ValueError("baseline_k and baseline_n must be one number or one per stream")
    if np.any(n0 < 1) or np.any(k0 < 0) or np.any(k0 > n0):
        raise ValueError("every baseline needs baseline_n >= 1 and 0 <= baseline_k <= baseline_n")
    alternative = _check_alternative(alternative)
    alpha = _check_alpha("alpha", alpha)
    rise = _check_positive("rise", rise)
    tau_arr = (_default_tau(k0, n0, rise) if tau is None
               else np.full(k0.shape, _check_positive("tau", tau)))
    min_n = check_count("min_n", min_n)
    min_expected = _check_positive("min_expected", min_expected, zero=True)
    at = _evaluate(k_arr.astype(float), n_arr.astype(float), k0[..., None], n0[..., None],
                   tau_arr[..., None], alpha, alternative, min_n, min_expected)
    p_value = np.minimum.accumulate(at["p_check"], axis=-1)
    alarm = p_value <= alpha
    fired = alarm.any(axis=-1)
    first = np.where(fired, alarm.argmax(axis=-1), -1)
    first_n = np.where(fired, np.take_along_axis(n_arr, np.maximum(first, 0)[..., None],
                                                 axis=-1)[..., 0], -1)
    return RateWatchStream(
        n=n_arr, estimate=at["estimate"], difference=at["difference"], log_lr=at["log_lr"],
        p_value=p_value, low=at["low"], high=at["high"], ready=at["ready"], alarm=alarm,
        first_alarm=first.astype(np.int64), first_alarm_n=first_n.astype(np.int64),
        alternative=alternative, alpha=alpha, tau=tau_arr)
