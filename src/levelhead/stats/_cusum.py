"""The quickest alarm after a rise: a one-sided Bernoulli CUSUM with a simulated threshold.

The mSPRT (``_sequential``) compares the whole monitored period with the baseline, so a rise
after a long steady stretch is diluted. The CUSUM (Page 1954; for 0/1 records Reynolds &
Stoumbos 1999) forgets a steady past: after each batch of ``m`` records with ``k`` events

    S = max(0, S + k log(p1/p0) + (m - k) log((1 - p1)/(1 - p0)))

and it alarms when ``S >= h``. Its guarantee is of another kind: on a steady rate it *will*
alarm in the end, on average once every ``in_control_arl`` records (the in-control average run
length), and ``h`` is chosen for that by simulation (:func:`cusum_plan`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from levelhead.stats._results import ResultMixin, check_count, check_probability
from levelhead.stats._sequential import _cumulative

__all__ = ["CusumPlan", "CusumStream", "bernoulli_cusum", "cusum_plan"]


@dataclass(frozen=True, slots=True)
class CusumPlan(ResultMixin):
    """A CUSUM's rates and its threshold for a chosen in-control average run length.

    Attributes:
        baseline: The steady rate ``p0`` (the baseline's rate).
        rate_to_detect: The raised rate ``p1`` the CUSUM is tuned to catch fastest.
        batch: Records per check the threshold was simulated for.
        threshold: ``h``: alarm when the statistic reaches it.
        in_control_arl: The average run length asked for, in records.
        simulated_arl: The average run length at ``threshold`` in the simulation, in records
            (at least ``in_control_arl``; the steps of ``h`` are 0.01).
        paths: Simulated steady streams.
        seed: Seed of the simulation.
    """

    baseline: float
    rate_to_detect: float
    batch: int
    threshold: float
    in_control_arl: float
    simulated_arl: float
    paths: int
    seed: int

    @property
    def weights(self) -> tuple[float, float]:
        """Statistic added per event and per non-event: ``log(p1/p0)``, ``log((1-p1)/(1-p0))``."""
        return (math.log(self.rate_to_detect / self.baseline),
                math.log((1.0 - self.rate_to_detect) / (1.0 - self.baseline)))


def cusum_plan(baseline: float, rate_to_detect: float | None = None, *, batch: int = 1_000,
               in_control_arl: float = 1_000_000, paths: int = 400, seed: int = 0) -> CusumPlan:
    """Choose the CUSUM threshold by simulation, for an average of ``in_control_arl`` records
    between false alarms while the rate stays at ``baseline``.

    Steady streams restart at 0 after each alarm, so the run length is estimated as the records
    simulated over the alarms counted (renewal), for every threshold on a grid at once with the
    same draws; the smallest threshold whose estimate reaches ``in_control_arl`` is taken. About
    100 in-control run lengths are simulated, so the estimate is good to about 10 %.

    Args:
        baseline: Steady rate ``p0``, in (0, 1): e.g. the baseline's rate, floored at a half event
            (``(k0 + 0.5)/(n0 + 1)``) when it saw none.
        rate_to_detect: Raised rate ``p1`` to catch fastest; default twice the baseline (capped
            below 1).
        batch: Records per check.
        in_control_arl: Average records between false alarms on a steady rate (at least 10
            batches).
        paths: Steady streams to simulate (more: a steadier threshold, slower).
        seed: Seed of the simulation.

    Returns:
        A :class:`CusumPlan`.

    Raises:
        ValueError: rates outside (0, 1), ``rate_to_detect <= baseline``, or bad settings.
    """
    p0 = check_probability("baseline", baseline, open_low=True, open_high=True)
    p1 = (min(2.0 * p0, (1.0 + p0) / 2.0) if rate_to_detect is None
          else check_probability("rate_to_detect", rate_to_detect, open_low=True, open_high=True))
    if p1 <= p0:
        raise ValueError(f"rate_to_detect must be above the baseline (got {p1!r} <= {p0!r}): "
                         f"the CUSUM watches for a rise")
    batch = check_count("batch", batch)
    arl_ok = isinstance(in_control_arl, int | float) and not isinstance(in_control_arl, bool)
    if not (batch >= 1 and arl_ok and 10 * batch <= in_control_arl < math.inf):
        raise ValueError(f"batch must be at least 1 record and in_control_arl at least 10 batches "
                         f"(got batch={batch!r}, in_control_arl={in_control_arl!r})")
    checks = in_control_arl / batch
    paths, seed = check_count("paths", paths), check_count("seed", seed)
    if paths < 10:
        raise ValueError(f"paths must be at least 10 simulated streams (got {paths})")
    up, down = math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))
    rng = np.random.default_rng(seed)
    length = max(20, math.ceil(100.0 * checks / paths))
    step = rng.binomial(batch, p0, (length, paths)) * (up - down) + batch * down
    # The statistic is a log likelihood ratio, so the run length is at least e^h checks
    # (Lorden 1971): no threshold above log(checks) is ever needed.
    grid = np.arange(0.01, math.log(checks) + 0.01, 0.01)
    state = np.zeros((grid.size, paths))
    alarms = np.zeros(grid.size)
    for row in step:
        state = np.maximum(state + row, 0.0)
        fired = state >= grid[:, None]
        alarms += fired.sum(axis=1)
        state[fired] = 0.0
    arl = np.where(alarms > 0, length * paths / np.maximum(alarms, 1.0), math.inf) * batch
    # The first threshold that reaches the target (the largest, should noise keep all below).
    i = min(int(np.argmax(np.append(arl >= in_control_arl, True))), grid.size - 1)
    return CusumPlan(p0, p1, batch, round(float(grid[i]), 2), float(in_control_arl),
                     float(arl[i]), paths, seed)


@dataclass(frozen=True, slots=True)
class CusumStream(ResultMixin):
    """The CUSUM over one or many streams (:func:`bernoulli_cusum`).

    Attributes:
        statistic: ``S`` after each check, shaped like the counts passed in.
        alarm: ``S >= threshold`` at each check (``S`` is not reset: it stays high while the
            rate does).
        first_alarm: Index of the first alarming check per stream, -1 where none alarmed.
        first_alarm_n: Live records at the first alarm per stream, -1 where none alarmed.
        threshold: The threshold used.
    """

    statistic: NDArray[np.float64]
    alarm: NDArray[np.bool_]
    first_alarm: NDArray[np.int64]
    first_alarm_n: NDArray[np.int64]
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """The arrays as nested lists, ready for ``json.dumps``."""
        return {"statistic": self.statistic.tolist(), "alarm": self.alarm.tolist(),
                "first_alarm": self.first_alarm.tolist(),
                "first_alarm_n": self.first_alarm_n.tolist(), "threshold": self.threshold}


def bernoulli_cusum(k: ArrayLike, n: ArrayLike, plan: CusumPlan) -> CusumStream:
    """Run the CUSUM of ``plan`` over cumulative counts.

    Args:
        k: Cumulative live records with the behaviour at each check, ``(checks,)`` or
            ``(streams, checks)``.
        n: Cumulative live records at each check, the same shape. Batches may differ in size;
            the plan's run length assumed ``plan.batch`` records per check.
        plan: From :func:`cusum_plan`.

    Returns:
        A :class:`CusumStream`.

    Raises:
        ValueError: shapes that do not match, or counts that decrease or exceed ``n``.
    """
    k_arr, n_arr = _cumulative("k", k), _cumulative("n", n)
    if k_arr.shape != n_arr.shape or np.any(k_arr > n_arr):
        raise ValueError("k and n must have the same shape, with k between 0 and n at every check")
    up, down = plan.weights
    new_k = np.diff(k_arr, axis=-1, prepend=0)
    steps = new_k * up + (np.diff(n_arr, axis=-1, prepend=0) - new_k) * down
    statistic = np.empty(steps.shape)
    state = np.zeros(steps.shape[:-1])
    for check in range(steps.shape[-1]):
        state = np.maximum(state + steps[..., check], 0.0)
        statistic[..., check] = state
    alarm = statistic >= plan.threshold
    fired = alarm.any(axis=-1)
    first = np.where(fired, alarm.argmax(axis=-1), -1)
    first_n = np.where(fired, np.take_along_axis(n_arr, np.maximum(first, 0)[..., None],
                                                 axis=-1)[..., 0], -1)
    return CusumStream(statistic, alarm, first.astype(np.int64), first_n.astype(np.int64),
                       plan.threshold)
