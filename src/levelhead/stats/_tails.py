"""The tail: how likely is at least one bad reply, how rare could a behaviour still be, and which
replies were the worst."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from levelhead.stats._rates import rate_intervals
from levelhead.stats._results import (
    Interval,
    ResultMixin,
    as_float_vector,
    check_confidence,
    check_count,
    check_per_prompt,
)

__all__ = ["PromptTail", "RateBound", "WorstSample", "p_at_least_one", "prompt_tail",
           "tail_by_prompt", "upper_bound", "worst_of_n"]


@dataclass(frozen=True, slots=True)
class RateBound(ResultMixin):
    """A one-sided upper confidence bound on a rate: "it is at most this common".

    Attributes:
        k: Bad replies observed.
        n: Judged samples.
        confidence: One-sided confidence level.
        bound: Exact (Clopper-Pearson) one-sided upper bound; ``1 - (1 - confidence) ** (1 / n)``
            when ``k == 0``.
        rule_of_three: ``-ln(1 - confidence) / n`` (``3 / n`` at 95 %) when ``k == 0``, else
            ``None``; a quick approximation, slightly above the exact bound.
        errors: Errors as passed in by the caller.
        missing: Missing verdicts as passed in by the caller.
    """

    k: int
    n: int
    confidence: float
    bound: float
    rule_of_three: float | None
    errors: int = 0
    missing: int = 0

    def statement(self, behaviour: str, unit: str = "replies") -> str:
        """The bound as a sentence, rounded up so it never understates.

        Example: ``"insults <= 0.3 % of replies, 95 % confidence"``.
        """
        return (f"{behaviour} <= {_percent_rounded_up(self.bound)} % of {unit}, "
                f"{_percent_plain(self.confidence)} % confidence")


def _percent_rounded_up(rate: float) -> str:
    """``rate`` (> 0: an upper bound always is) as a percentage, two significant digits, rounded
    up."""
    percent = rate * 100.0
    if percent >= 100.0:
        return "100"
    digits = 1 - math.floor(math.log10(percent))
    scale = 10.0 ** digits
    # The small tolerance keeps 0.3 (stored as 0.30000000000000004) from becoming 0.31.
    return f"{math.ceil(percent * scale - 1e-9) / scale:g}"


def _percent_plain(rate: float) -> str:
    return f"{rate * 100.0:g}"


def upper_bound(k: int, n: int, confidence: float = 0.95, *, errors: int = 0,
                missing: int = 0) -> RateBound:
    """How common could the behaviour still be? The exact one-sided upper bound on its rate.

    Args:
        k: Bad replies among the judged samples (often 0).
        n: Judged samples (errors and missing verdicts excluded).
        confidence: One-sided confidence level.
        errors: Errors, reported beside the bound.
        missing: Missing verdicts, reported beside the bound.

    Returns:
        A :class:`RateBound`; ``.statement("insults")`` gives the sentence for a report.

    Raises:
        ValueError: if ``k`` is not between 0 and ``n`` or ``n`` is 0.
    """
    confidence = check_confidence(confidence)
    k, n = check_count("k", k), check_count("n", n)
    if n == 0 or k > n:
        raise ValueError(f"k must be between 0 and n, and n at least 1 (got k={k}, n={n})")
    bound = 1.0 if k == n else float(stats.beta.ppf(confidence, k + 1, n - k))
    rule = -math.log(1.0 - confidence) / n if k == 0 else None
    return RateBound(k, n, confidence, bound, rule, check_count("errors", errors),
                     check_count("missing", missing))


def p_at_least_one(rate: ArrayLike, draws: int) -> NDArray[np.float64]:
    """Probability of at least one bad reply in ``draws`` independent draws at ``rate``.

    ``1 - (1 - rate) ** draws``, computed as ``-expm1(draws * log1p(-rate))`` so that tiny rates
    keep their precision. Vectorised over ``rate``.
    """
    rates = np.asarray(rate, dtype=float)
    if np.any((rates < 0) | (rates > 1)) or np.any(np.isnan(rates)):
        raise ValueError("rate must be between 0 and 1")
    draws = check_count("draws", draws)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf is the right answer at rate 1
        result: NDArray[np.float64] = -np.expm1(draws * np.log1p(-rates))
    return result


@dataclass(frozen=True, slots=True)
class PromptTail(ResultMixin):
    """The tail for one prompt: how likely is at least one bad reply in N (and M future) draws.

    The estimate plugs ``k / n`` into ``1 - (1 - p) ** N``; the interval maps the two ends of
    the exact interval for ``p`` through the same (increasing) function, so it keeps its coverage.

    Attributes:
        prompt_id: The prompt, when given.
        k: Bad replies observed.
        n: Judged samples.
        rate_interval: Exact two-sided interval for the prompt's rate.
        upper_bound: Exact one-sided upper bound for the rate (use it when ``k == 0``).
        rule_of_three: ``-ln(1 - confidence) / n`` when ``k == 0``, else ``None``.
        draws: N, the draws the first probability is about (defaults to ``n``).
        p_any: Estimated P(at least one bad reply in N draws).
        p_any_interval: Its two-sided interval.
        p_any_upper: One-sided upper bound on P(at least one bad reply in N draws).
        future_draws: M, when asked for.
        p_any_future: Estimated P(at least one bad reply in M future draws), or ``None``.
        p_any_future_interval: Its two-sided interval, or ``None``.
        p_any_future_upper: Its one-sided upper bound, or ``None``.
        errors: Errors for this prompt, as passed in.
        missing: Missing verdicts for this prompt, as passed in.
    """

    prompt_id: Hashable | None
    k: int
    n: int
    rate_interval: Interval
    upper_bound: float
    rule_of_three: float | None
    draws: int
    p_any: float
    p_any_interval: Interval
    p_any_upper: float
    future_draws: int | None = None
    p_any_future: float | None = None
    p_any_future_interval: Interval | None = None
    p_any_future_upper: float | None = None
    errors: int = 0
    missing: int = 0


def _tail_arrays(k: NDArray[np.int64], n: NDArray[np.int64], confidence: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Two-sided exact ends and one-sided exact upper bound, per prompt."""
    low, high = rate_intervals(k, n, confidence, "exact")
    one_sided = np.where(k == n, 1.0, stats.beta.ppf(confidence, k + 1, np.maximum(n - k, 1)))
    return low, high, one_sided


def tail_by_prompt(k_per_prompt: ArrayLike, n_per_prompt: ArrayLike, *,
                   prompt_ids: Sequence[Hashable] | None = None, draws: int | None = None,
                   future_draws: int | None = None, confidence: float = 0.95,
                   errors_per_prompt: ArrayLike | None = None,
                   missing_per_prompt: ArrayLike | None = None) -> tuple[PromptTail, ...]:
    """The tail of every prompt of a probe.

    Assumes the samples of one prompt are independent draws at that prompt's own rate.

    Args:
        k_per_prompt: Bad replies per prompt.
        n_per_prompt: Judged samples per prompt (each at least 1).
        prompt_ids: Names to carry into the results.
        draws: N for ``p_any``; defaults to each prompt's ``n`` ("in N samples like these").
        future_draws: M for the ``p_any_future`` fields ("in the next M replies").
        confidence: Confidence level (two-sided for intervals, one-sided for upper bounds).
        errors_per_prompt: Errors per prompt, reported beside each.
        missing_per_prompt: Missing verdicts per prompt, reported beside each.

    Returns:
        One :class:`PromptTail` per prompt, in input order.
    """
    confidence = check_confidence(confidence)
    k, n = check_per_prompt(k_per_prompt, n_per_prompt)
    if np.any(n == 0):
        raise ValueError("every prompt needs at least one judged sample for its tail "
                         f"(prompt {int(np.flatnonzero(n == 0)[0])} has none)")
    ids: list[Hashable | None] = list(prompt_ids) if prompt_ids is not None else [None] * k.size
    errs = np.zeros(k.size, np.int64) if errors_per_prompt is None else np.asarray(
        errors_per_prompt, np.int64)
    miss = np.zeros(k.size, np.int64) if missing_per_prompt is None else np.asarray(
        missing_per_prompt, np.int64)
    if not (len(ids) == errs.size == miss.size == k.size):
        raise ValueError("prompt_ids, errors_per_prompt and missing_per_prompt need one entry "
                         f"per prompt ({k.size})")
    low, high, one_sided = _tail_arrays(k, n, confidence)
    rate = k / n
    rule = -math.log(1.0 - confidence) / n
    tails = []
    for i in range(k.size):
        n_draws = int(n[i]) if draws is None else check_count("draws", draws)
        ends = p_at_least_one([rate[i], low[i], high[i], one_sided[i]], n_draws)
        future: tuple[float | None, Interval | None, float | None] = (None, None, None)
        if future_draws is not None:
            f = p_at_least_one([rate[i], low[i], high[i], one_sided[i]], future_draws)
            future = (float(f[0]), Interval(float(f[1]), float(f[2]), confidence, "exact, mapped"),
                      float(f[3]))
        tails.append(PromptTail(
            prompt_id=ids[i], k=int(k[i]), n=int(n[i]),
            rate_interval=Interval(float(low[i]), float(high[i]), confidence,
                                   "exact (Clopper-Pearson)"),
            upper_bound=float(one_sided[i]),
            rule_of_three=float(rule[i]) if k[i] == 0 else None,
            draws=n_draws, p_any=float(ends[0]),
            p_any_interval=Interval(float(ends[1]), float(ends[2]), confidence, "exact, mapped"),
            p_any_upper=float(ends[3]), future_draws=future_draws, p_any_future=future[0],
            p_any_future_interval=future[1], p_any_future_upper=future[2],
            errors=check_count("errors", int(errs[i])),
            missing=check_count("missing", int(miss[i]))))
    return tuple(tails)


def prompt_tail(k: int, n: int, *, draws: int | None = None, future_draws: int | None = None,
                confidence: float = 0.95, prompt_id: Hashable | None = None, errors: int = 0,
                missing: int = 0) -> PromptTail:
    """The tail of one prompt; see :func:`tail_by_prompt` for the arguments."""
    return tail_by_prompt([k], [n], prompt_ids=[prompt_id], draws=draws,
                          future_draws=future_draws, confidence=confidence,
                          errors_per_prompt=[errors], missing_per_prompt=[missing])[0]


@dataclass(frozen=True, slots=True)
class WorstSample(ResultMixin):
    """One of the worst replies of a prompt, for a report to show.

    Attributes:
        prompt_id: The prompt.
        row: Position of the sample in the input sequences (to fetch its transcript).
        score: Its severity score (higher is worse).
        rank: 1 for the worst reply of the prompt, 2 for the next, and so on.
    """

    prompt_id: Hashable
    row: int
    score: float
    rank: int


def worst_of_n(prompt_ids: Sequence[Hashable], scores: ArrayLike, *,
               top: int = 1) -> tuple[WorstSample, ...]:
    """The ``top`` worst samples of each prompt, by severity score (higher is worse).

    Samples without a score (NaN) are never picked. Ties go to the earlier row, so the choice is
    stable across runs.

    Args:
        prompt_ids: Prompt of each sample.
        scores: Severity score of each sample (e.g. a judge's score; 0/1 labels work too).
        top: How many samples to keep per prompt (at least 1).

    Returns:
        The worst samples, grouped by prompt in first-seen order, worst first.
    """
    values = as_float_vector("scores", scores)
    if len(prompt_ids) != values.size:
        raise ValueError(f"prompt_ids and scores must have one entry per sample "
                         f"(got {len(prompt_ids)} and {values.size})")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number >= 1 (got {top!r})")
    rows_by_prompt: dict[Hashable, list[int]] = {}
    for row, prompt in enumerate(prompt_ids):
        if not np.isnan(values[row]):
            rows_by_prompt.setdefault(prompt, []).append(row)
    worst: list[WorstSample] = []
    for prompt, rows in rows_by_prompt.items():
        ranked = sorted(rows, key=lambda r: (-values[r], r))[:top]
        worst.extend(WorstSample(prompt, r, float(values[r]), rank)
                     for rank, r in enumerate(ranked, start=1))
    return tuple(worst)
