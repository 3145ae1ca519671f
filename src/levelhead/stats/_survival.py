"""Multi-turn hazard: in conversations that may turn bad at some turn, how long do they stay civil?

Each conversation contributes the turn at which it turned bad, or, if it never did, the last turn
that was observed (it is then "censored": we know it was civil up to there, not what came next).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from levelhead.stats._rates import rate_intervals
from levelhead.stats._results import (
    Interval,
    ResultMixin,
    check_confidence,
    check_count,
)

__all__ = ["CivilityCurve", "TurnRow", "still_civil_curve"]

_LOGLOG = "kaplan-meier, greenwood, log-log"


@dataclass(frozen=True, slots=True)
class TurnRow(ResultMixin):
    """One turn of a :class:`CivilityCurve`.

    Attributes:
        turn: Turn number, from 1.
        at_risk: Conversations still civil and still observed when this turn began.
        events: Conversations that turned bad at this turn.
        censored: Conversations whose last observed turn was this one and stayed civil.
        still_civil: Kaplan-Meier estimate of P(still civil after this turn).
        interval: Pointwise interval for ``still_civil``.
        hazard: ``events / at_risk``: P(turns bad at this turn | civil until now).
        hazard_interval: Wilson interval for the hazard.
    """

    turn: int
    at_risk: int
    events: int
    censored: int
    still_civil: float
    interval: Interval
    hazard: float
    hazard_interval: Interval


@dataclass(frozen=True, slots=True)
class CivilityCurve(ResultMixin):
    """The Kaplan-Meier curve of "still civil after turn t", with the hazard per turn.

    Attributes:
        conversations: Conversations in the analysis.
        turned_bad: Conversations that turned bad at some observed turn.
        confidence: Pointwise confidence level of the intervals.
        rows: One :class:`TurnRow` per turn, from turn 1 to the last observed turn.
        errors: Errors, as passed in (not in the arithmetic).
        missing: Missing verdicts, as passed in (not in the arithmetic).
    """

    conversations: int
    turned_bad: int
    confidence: float
    rows: tuple[TurnRow, ...]
    errors: int = 0
    missing: int = 0


def conversations_checked(turns: ArrayLike, turned_bad: ArrayLike
                          ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Per conversation, its turn (whole, from 1) and whether it turned bad there, checked."""
    turn_arr = np.asarray(turns)
    bad = np.asarray(turned_bad)
    if turn_arr.ndim != 1 or turn_arr.shape != bad.shape:
        raise ValueError(f"turns and turned_bad need one entry per conversation "
                         f"(got shapes {turn_arr.shape} and {bad.shape})")
    if turn_arr.size == 0:
        raise ValueError("there are no conversations to analyse")
    if turn_arr.dtype.kind not in "iu" or np.any(turn_arr < 1):
        raise ValueError("turns must be whole turn numbers starting at 1")
    if bad.dtype != bool and not np.all(np.isin(bad, (0, 1))):
        raise ValueError("turned_bad must hold True/False (or 1/0) per conversation")
    return turn_arr.astype(np.int64), bad.astype(bool)


def turn_table(turn_arr: NDArray[np.int64], bad: NDArray[np.bool_]) -> tuple[
        NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per turn 1..last: conversations at risk, turning bad, and censored there."""
    last = int(turn_arr.max())
    ending = np.bincount(turn_arr, minlength=last + 1)[1:]
    at_risk = np.cumsum(ending[::-1])[::-1]
    events = np.bincount(turn_arr[bad], minlength=last + 1)[1:]
    return at_risk.astype(np.int64), events.astype(np.int64), (ending - events).astype(np.int64)


def still_civil_curve(turns: ArrayLike, turned_bad: ArrayLike, confidence: float = 0.95, *,
                      errors: int = 0, missing: int = 0) -> CivilityCurve:
    """Kaplan-Meier curve of "still civil after turn t", with intervals and per-turn hazards.

    Assumes conversations are independent and that the end of a conversation (censoring) says
    nothing about whether it was about to turn bad. The curve and the Greenwood standard errors
    come from ``statsmodels.duration.survfunc.SurvfuncRight``; the pointwise interval uses the
    log-log transform, which stays inside [0, 1].

    Args:
        turns: Per conversation, the turn (from 1) at which it turned bad, or its last observed
            turn when it stayed civil.
        turned_bad: Per conversation, True when it turned bad at ``turns``.
        confidence: Pointwise two-sided confidence level.
        errors: Conversations that failed, reported beside the curve.
        missing: Conversations without a verdict, reported beside the curve.

    Returns:
        A :class:`CivilityCurve`.

    Raises:
        ValueError: on mismatched lengths, a turn below 1, or no conversation.
    """
    confidence = check_confidence(confidence)
    turn_arr, bad = conversations_checked(turns, turned_bad)
    at_risk, events, censored = turn_table(turn_arr, bad)
    last = int(turn_arr.max())
    steps = np.arange(1, last + 1)

    # statsmodels reports the curve at event turns only; carry it forward to every turn.
    survival = np.ones(last)
    se = np.zeros(last)
    if bad.any():
        fit = SurvfuncRight(turn_arr, bad.astype(int))
        position = np.searchsorted(fit.surv_times, steps, side="right") - 1
        seen = position >= 0
        survival[seen] = fit.surv_prob[position[seen]]
        se[seen] = fit.surv_prob_se[position[seen]]

    quantile = float(stats.norm.ppf(0.5 + confidence / 2.0))
    hazard_low, hazard_high = rate_intervals(events, at_risk, confidence, "wilson")
    rows = []
    previous_high = 1.0
    for i, turn in enumerate(steps):
        s = float(survival[i])
        if s == 1.0:
            # No event yet: the at-risk conversations were all civil so far; an exact binomial
            # bound (all of n civil) stands in for the undefined log-log interval.
            low, high = ((1.0 - confidence) / 2.0) ** (1.0 / int(at_risk[i])), 1.0
            method = "exact, no event yet"
        elif s == 0.0:
            low, high, method = 0.0, previous_high, "kaplan-meier reached 0; bounded by last turn"
        else:
            spread = quantile * float(se[i]) / (s * abs(math.log(s)))
            low, high, method = s ** math.exp(spread), s ** math.exp(-spread), _LOGLOG
        previous_high = high
        rows.append(TurnRow(
            turn=int(turn), at_risk=int(at_risk[i]), events=int(events[i]),
            censored=int(censored[i]), still_civil=s,
            interval=Interval(low, high, confidence, method),
            hazard=float(events[i] / at_risk[i]),
            hazard_interval=Interval(float(hazard_low[i]), float(hazard_high[i]), confidence,
                                     "wilson")))
    return CivilityCurve(int(turn_arr.size), int(bad.sum()), confidence, tuple(rows),
                         check_count("errors", errors), check_count("missing", missing))
