"""Onset of the hazard: from which turn does a conversation become likelier to turn bad?

Inputs are those of :func:`still_civil_curve`: per conversation, the turn at which it turned bad,
or its last observed turn when it stayed civil. Both functions work on the discrete-time hazard,
whose likelihood is a product over turns of binomials, ``events_t`` of ``at_risk_t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from levelhead.stats._rates import Rate, rate, rate_intervals
from levelhead.stats._results import Interval, ResultMixin, check_confidence, check_count
from levelhead.stats._survival import conversations_checked, turn_table

__all__ = ["EarlyLate", "HazardOnset", "early_late_hazard", "hazard_onset"]

Seed = int | np.random.Generator | None

_NULL_BOOTSTRAP = ("parametric bootstrap under one constant hazard (censoring kept as observed), "
                   "likelihood ratio maximised over the onset in every replicate")


@dataclass(frozen=True, slots=True)
class HazardOnset(ResultMixin):
    """A change-point fit: hazard ``before`` until turn ``onset - 1``, hazard ``after`` from it.

    Attributes:
        conversations: Conversations in the analysis.
        turned_bad: Conversations that turned bad at some observed turn.
        confidence: Level of the intervals; the test is at ``1 - confidence``.
        min_turn: Earliest onset considered.
        onset: Turn from which the hazard is ``after`` (maximum likelihood); None when there is
            nothing to fit (no event, or no candidate turn).
        onset_interval: Bootstrap percentile interval for ``onset`` (conversations resampled).
        before: Pooled hazard over turns ``< onset``: events of at-risk turn-steps, Wilson
            interval. The intervals of ``before`` and ``after`` take ``onset`` as given.
        after: Pooled hazard over turns ``>= onset``.
        constant: Pooled hazard over all turns (the no-change model), Wilson interval.
        constant_upper: Exact one-sided upper bound (at ``confidence``) for ``constant``; with
            no event it is the finding: "at most this much per turn".
        lr_statistic: ``2 (log L(change at onset) - log L(constant))``.
        p_value: P-value of "one constant hazard" against a change at any candidate turn.
        method: How ``p_value`` was obtained, or why there is nothing to test.
        rises: ``p_value < 1 - confidence`` and ``after`` above ``before``.
        bootstrap: Replicates of each bootstrap.
        errors: Errors, as passed in (not in the arithmetic).
        missing: Missing verdicts, as passed in (not in the arithmetic).
    """

    conversations: int
    turned_bad: int
    confidence: float
    min_turn: int
    onset: int | None
    onset_interval: Interval | None
    before: Rate | None
    after: Rate | None
    constant: Rate
    constant_upper: float
    lr_statistic: float
    p_value: float
    method: str
    rises: bool
    bootstrap: int
    errors: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class EarlyLate(ResultMixin):
    """Pooled hazard of early turns (``< split``) against late turns (``>= split``).

    Attributes:
        split: First late turn.
        conversations: Conversations in the analysis.
        turned_bad: Conversations that turned bad at some observed turn.
        confidence: Level of the intervals.
        early: Events of at-risk turn-steps before ``split``, Wilson interval.
        late: Events of at-risk turn-steps from ``split`` on, Wilson interval.
        difference: ``late - early`` hazard per turn.
        difference_interval: Newcombe hybrid score interval for ``difference``.
        p_value: Two-sided p-value of "same hazard early and late".
        test: ``"score z-test (pooled)"`` or ``"fisher exact"`` (an expected count below 5).
        ratio: ``late / early``; None when the early hazard is 0.
        grows: The lower end of ``difference_interval`` is above 0.
        errors: Errors, as passed in (not in the arithmetic).
        missing: Missing verdicts, as passed in (not in the arithmetic).
    """

    split: int
    conversations: int
    turned_bad: int
    confidence: float
    early: Rate
    late: Rate
    difference: float
    difference_interval: Interval
    p_value: float
    test: str
    ratio: float | None
    grows: bool
    errors: int = 0
    missing: int = 0


def _turn_counts(turns: ArrayLike, turned_bad: ArrayLike) -> tuple[
        NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per turn 1..last: at risk, events, censored; with the checks of still_civil_curve."""
    return turn_table(*conversations_checked(turns, turned_bad))


def _check_turn(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be a whole turn number >= {low} (got {value!r})")
    return int(value)


def _binomial_loglik(events: NDArray[np.float64], trials: NDArray[np.float64]) -> NDArray[
        np.float64]:
    """Maximised binomial log-likelihood ``E ln(E/N) + (N-E) ln(1-E/N)`` (0 when N is 0)."""
    share = events / np.where(trials > 0, trials, 1.0)
    loglik: NDArray[np.float64] = special.xlogy(events, share) + special.xlogy(trials - events, 1.0 - share)
    return loglik


def _profile(events: NDArray[np.float64], at_risk: NDArray[np.float64], lo: int,
             hi: int) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Per row: log-likelihood of the constant model, of the best change, and the best onset.

    ``events`` and ``at_risk`` have turns 1..last on their last axis; onsets ``lo..hi`` (from 2).
    The first onset within rounding of the maximum wins, so ties go to the earlier turn.
    """
    cum_e = np.cumsum(events, axis=-1)
    cum_n = np.cumsum(at_risk, axis=-1)
    total_e, total_n = cum_e[..., -1:], cum_n[..., -1:]
    before_e, before_n = cum_e[..., lo - 2:hi - 1], cum_n[..., lo - 2:hi - 1]
    loglik = (_binomial_loglik(before_e, before_n)
              + _binomial_loglik(total_e - before_e, total_n - before_n))
    best = loglik.max(axis=-1, keepdims=True)
    near = loglik >= best - 1e-9 * np.maximum(1.0, np.abs(best))
    return _binomial_loglik(total_e, total_n)[..., 0], best[..., 0], lo + np.argmax(near, axis=-1)


def _null_replicates(at_risk: NDArray[np.int64], events: NDArray[np.int64],
                     censored: NDArray[np.int64], reps: int,
                     rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Events and at-risk counts of ``reps`` data sets drawn under one constant hazard.

    Each turn: the at-risk conversations turn bad with the pooled hazard, and the civil ones end
    with the observed censoring hazard of that turn (censored / (at risk - events); 1 at the
    last turn), so the replicates keep the observed pattern of conversation lengths.
    """
    hazard = events.sum() / at_risk.sum()
    survivors = at_risk - events
    ends = np.divide(censored, survivors, out=np.zeros(survivors.size), where=survivors > 0)
    sim_e = np.zeros((reps, at_risk.size))
    sim_n = np.zeros((reps, at_risk.size))
    current = np.full(reps, at_risk[0])
    for t in range(at_risk.size):
        sim_n[:, t] = current
        bad = rng.binomial(current, hazard)
        sim_e[:, t] = bad
        current = current - bad
        current = current - rng.binomial(current, ends[t])
    return sim_e, sim_n


def _conversation_replicates(at_risk: NDArray[np.int64], events: NDArray[np.int64],
                             censored: NDArray[np.int64], reps: int,
                             rng: np.random.Generator) -> tuple[NDArray[np.float64],
                                                                NDArray[np.float64]]:
    """Events and at-risk counts of ``reps`` resamples of the conversations (with replacement).

    A conversation is fully described by its (last turn, turned bad) cell, so resampling
    conversations is one multinomial draw over those cells.
    """
    cells = np.concatenate([events, censored]).astype(float)
    draws = rng.multinomial(int(at_risk[0]), cells / cells.sum(), size=reps).astype(float)
    sim_e = draws[:, :events.size]
    ending = sim_e + draws[:, events.size:]
    return sim_e, np.cumsum(ending[:, ::-1], axis=1)[:, ::-1]


def hazard_onset(turns: ArrayLike, turned_bad: ArrayLike, confidence: float = 0.95, *,
                 min_turn: int = 2, bootstrap: int = 1000, seed: Seed = 0, errors: int = 0,
                 missing: int = 0) -> HazardOnset:
    """Estimate the turn from which the hazard changes, and test whether it changes at all.

    Model: the discrete-time hazard (P(turns bad at turn t | civil until t)) is ``h_before`` for
    turns ``< onset`` and ``h_after`` from ``onset`` on. Its likelihood is a product of binomials
    of events in at-risk conversations per turn, so for a given onset the estimates are pooled
    events over pooled at-risk turn-steps on each side; the onset maximises the profile
    likelihood over ``min_turn .. last observed turn`` (ties go to the earlier turn).

    The test compares one constant hazard with the best change point by the likelihood ratio.
    Because the onset is chosen to maximise that ratio, the chi-square(1) reference would give
    p-values far too small; instead the p-value is a parametric bootstrap under the null: data
    sets are drawn with the pooled constant hazard and the observed censoring pattern, the onset
    is searched again in each, and ``p = (1 + #{LR* >= LR}) / (bootstrap + 1)``. The onset's
    interval is a percentile bootstrap over conversations; replicates with no event count at
    both ends of the range (conservative). ``before`` and ``after`` use Wilson intervals that take
    the onset as known, so they are a little too narrow.

    Assumes independent conversations, one hazard shared by all conversations at a given turn,
    and non-informative censoring (see :func:`still_civil_curve`). A mix of easy and touchy
    conversations makes the pooled hazard fall over turns (the touchy ones leave early), so a
    rise found here is not an artefact of that mix.

    Args:
        turns: Per conversation, the turn (from 1) at which it turned bad, or its last observed
            turn when it stayed civil.
        turned_bad: Per conversation, True when it turned bad at ``turns``.
        confidence: Level of the intervals; the test is at ``1 - confidence``.
        min_turn: Earliest onset considered (at least 2, so the early side has turns).
        bootstrap: Replicates for the onset interval and for the null distribution (>= 100).
        seed: Seed or numpy ``Generator``; the same seed gives the same result.
        errors: Conversations that failed, reported beside the finding.
        missing: Conversations without a verdict, reported beside the finding.

    Returns:
        A :class:`HazardOnset`. With no event, or no candidate turn (every conversation ended
        before ``min_turn``), ``onset`` is None, ``p_value`` 1 and ``rises`` False.

    Raises:
        ValueError: on mismatched lengths, a turn below 1, no conversation, a ``min_turn``
            below 2 or fewer than 100 bootstrap replicates.
    """
    confidence = check_confidence(confidence)
    at_risk, events, censored = _turn_counts(turns, turned_bad)
    min_turn = _check_turn("min_turn", min_turn, 2)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer) or bootstrap < 100:
        raise ValueError(f"bootstrap must be a whole number >= 100 replicates (got {bootstrap!r})")
    errors, missing = check_count("errors", errors), check_count("missing", missing)
    total_e, total_n = int(events.sum()), int(at_risk.sum())
    last = at_risk.size
    constant = rate(total_e, total_n, confidence)
    upper = float(stats.beta.ppf(confidence, total_e + 1, total_n - total_e)) if total_e < total_n \
        else 1.0
    common: dict[str, Any] = {
        "conversations": int(at_risk[0]), "turned_bad": total_e, "confidence": confidence,
        "min_turn": min_turn, "constant": constant, "constant_upper": upper,
        "bootstrap": int(bootstrap), "errors": errors, "missing": missing}
    if total_e == 0 or last < min_turn:
        why = "no event: nothing to locate" if total_e == 0 else \
            f"no conversation reached turn {min_turn}: no onset to test"
        return HazardOnset(onset=None, onset_interval=None, before=None, after=None,
                           lr_statistic=0.0, p_value=1.0, method=why, rises=False, **common)

    ll0, ll1, onset_arr = _profile(events.astype(float), at_risk.astype(float), min_turn, last)
    onset = int(onset_arr)
    statistic = max(0.0, 2.0 * float(ll1 - ll0))
    before = rate(int(events[:onset - 1].sum()), int(at_risk[:onset - 1].sum()), confidence)
    after = rate(int(events[onset - 1:].sum()), int(at_risk[onset - 1:].sum()), confidence)

    rng = np.random.default_rng(seed)
    null_e, null_n = _null_replicates(at_risk, events, censored, bootstrap, rng)
    null0, null1, _ = _profile(null_e, null_n, min_turn, last)
    null_stats = 2.0 * (null1 - null0)
    p_value = float((1 + np.sum(null_stats >= statistic - 1e-9 * max(1.0, statistic)))
                    / (bootstrap + 1))

    boot_e, boot_n = _conversation_replicates(at_risk, events, censored, bootstrap, rng)
    _, _, boot_onsets = _profile(boot_e, boot_n, min_turn, last)
    empty = boot_e.sum(axis=1) == 0
    alpha = 1.0 - confidence
    low = np.quantile(np.where(empty, min_turn, boot_onsets), alpha / 2, method="inverted_cdf")
    high = np.quantile(np.where(empty, last, boot_onsets), 1 - alpha / 2, method="inverted_cdf")
    interval = Interval(int(low), int(high), confidence,
                        f"bootstrap over conversations (percentile), {bootstrap} replicates")
    return HazardOnset(onset=onset, onset_interval=interval, before=before, after=after,
                       lr_statistic=statistic, p_value=min(p_value, 1.0), method=_NULL_BOOTSTRAP,
                       rises=bool(p_value < alpha and after.estimate > before.estimate), **common)


def early_late_hazard(turns: ArrayLike, turned_bad: ArrayLike, split: int,
                      confidence: float = 0.95, *, errors: int = 0,
                      missing: int = 0) -> EarlyLate:
    """Does the risk grow with the length of the pressure? Pooled hazard early against late.

    Early is every at-risk turn-step before ``split`` (a conversation civil until turn t
    contributes one step per turn it was at risk), late is every step from ``split`` on. The
    pooled hazard of each side is events over steps. Pooling steps is valid for a discrete-time
    hazard: the likelihood of a conversation is the product of its conditional trials
    ("turns bad at t, given civil until t"), so the likelihood of all conversations is exactly
    that of independent Bernoulli steps, and with one hazard on each side the pooled share is its
    maximum-likelihood estimate, with the usual binomial score and Wilson inference (asymptotically;
    the number of steps is itself random). The steps of one conversation are not independent
    draws, but a sequence of conditional trials, which is what makes this work.

    The difference ``late - early`` gets the Newcombe (1998) hybrid score interval, built from
    the two Wilson intervals. The p-value is the pooled score z-test for two proportions, or
    Fisher's exact test when an expected count of the 2 x 2 table (bad / civil steps by early /
    late) is below 5 (it treats the step counts as fixed: a small-sample approximation here).

    Assumes independent conversations, one hazard shared by all conversations at a given turn
    (a mix of easy and touchy conversations makes the late hazard look lower, since the touchy
    ones turn bad early), and non-informative censoring.

    Args:
        turns: Per conversation, the turn (from 1) at which it turned bad, or its last observed
            turn when it stayed civil.
        turned_bad: Per conversation, True when it turned bad at ``turns``.
        split: First late turn, between 2 and the last observed turn.
        confidence: Two-sided level of the intervals.
        errors: Conversations that failed, reported beside the finding.
        missing: Conversations without a verdict, reported beside the finding.

    Returns:
        An :class:`EarlyLate`.

    Raises:
        ValueError: on mismatched lengths, a turn below 1, no conversation, or a ``split``
            outside 2 .. last observed turn.
    """
    confidence = check_confidence(confidence)
    at_risk, events, _ = _turn_counts(turns, turned_bad)
    split = _check_turn("split", split, 2)
    if split > at_risk.size:
        raise ValueError(f"split must be a turn between 2 and the last observed turn "
                         f"{at_risk.size} (got {split})")
    errors, missing = check_count("errors", errors), check_count("missing", missing)
    early = rate(int(events[:split - 1].sum()), int(at_risk[:split - 1].sum()), confidence)
    late = rate(int(events[split - 1:].sum()), int(at_risk[split - 1:].sum()), confidence)
    low, high = rate_intervals([late.k, early.k], [late.n, early.n], confidence, "wilson")
    difference = late.estimate - early.estimate
    interval = Interval(
        difference - float(np.hypot(late.estimate - low[0], high[1] - early.estimate)),
        difference + float(np.hypot(high[0] - late.estimate, early.estimate - low[1])),
        confidence, "newcombe hybrid score")

    table = np.array([[late.k, late.n - late.k], [early.k, early.n - early.k]])
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if expected.min() < 5:
        test, p_value = "fisher exact", float(stats.fisher_exact(table).pvalue)
    else:
        pooled = (late.k + early.k) / (late.n + early.n)
        se = np.sqrt(pooled * (1 - pooled) * (1 / late.n + 1 / early.n))
        test, p_value = "score z-test (pooled)", float(2 * stats.norm.sf(abs(difference) / se))
    return EarlyLate(split, int(at_risk[0]), int(events.sum()), confidence, early, late,
                     difference, interval, min(p_value, 1.0), test,
                     late.estimate / early.estimate if early.k else None,
                     bool(interval.low > 0), errors, missing)
