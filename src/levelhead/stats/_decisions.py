"""One-sided decisions, as a release gate makes them: is a rate shown below (or above) a bound,
how strong is the evidence that a rule is broken, and about how many samples would decide it.

A gate check has three outcomes (pass, fail, cannot decide); these functions give the numbers
each rests on. One-sided bounds are the ends of an equal-tailed interval (each end of a
two-sided interval at ``2c - 1`` is a one-sided bound at ``c``), clustered by prompt when there
are two prompts or more, exact when every sample or none has the label.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scipy import stats

from levelhead.stats._clustered import clustered_rate
from levelhead.stats._plans import SamplePlan, samples_to_show_below
from levelhead.stats._rates import rate
from levelhead.stats._results import ResultMixin
from levelhead.stats._tails import upper_bound

__all__ = ["OneSidedBounds", "interval_violation_p", "one_sided_bounds", "samples_to_decide_bound",
           "samples_to_resolve", "samples_without_events", "violation_p_value"]


@dataclass(frozen=True, slots=True)
class OneSidedBounds(ResultMixin):
    """One-sided lower and upper bounds of a rate, each at ``confidence``.

    Attributes:
        low: The lower bound.
        high: The upper bound.
        confidence: One-sided level of each bound.
        method: How they were computed.
        design_effect: The clustered rate's design effect, or None where no clustered rate was
            computed (exact bounds, one prompt).
    """

    low: float
    high: float
    confidence: float
    method: str
    design_effect: float | None = None


def one_sided_bounds(k_per_prompt: Sequence[int], n_per_prompt: Sequence[int],
                     confidence: float = 0.95) -> OneSidedBounds:
    """One-sided lower and upper bounds of a rate at ``confidence``: clustered by prompt when
    there are two prompts or more; exact (Clopper-Pearson) when every sample or none has the
    label, or with one prompt.

    Args:
        k_per_prompt: Samples with the label, per prompt.
        n_per_prompt: Judged samples, per prompt.
        confidence: One-sided level of each bound.
    """
    k, n = list(k_per_prompt), list(n_per_prompt)
    total_k, total_n = sum(k), sum(n)
    two_sided = 2.0 * confidence - 1.0  # each end of an equal-tailed interval is one-sided
    if total_k == 0:
        return OneSidedBounds(0.0, upper_bound(0, total_n, confidence).bound, confidence,
                              "exact (Clopper-Pearson)")
    if total_k == total_n:
        return OneSidedBounds(1.0 - upper_bound(0, total_n, confidence).bound, 1.0, confidence,
                              "exact (Clopper-Pearson)")
    if sum(1 for x in n if x) >= 2:
        r = clustered_rate(k, n, two_sided)
        return OneSidedBounds(r.interval.low, r.interval.high, confidence,
                              "clustered by prompt (" + r.interval.method + ")", r.design_effect)
    single = rate(total_k, total_n, two_sided, "exact")
    return OneSidedBounds(single.interval.low, single.interval.high, confidence,
                          "exact (one prompt)")


def violation_p_value(shows_violation: Callable[[float], bool]) -> float:
    """The smallest one-sided error level at which the evidence shows a rule broken.

    Found by bisection on the level (the bounds move monotonically with it); 1 when not even
    at 0.5.

    Args:
        shows_violation: Whether, at one-sided error level ``a``, the bound facing the rule lies
            beyond it.
    """
    low, high = 1e-15, 0.5 - 1e-9
    if not shows_violation(high):
        return 1.0
    if shows_violation(low):
        return low
    for _ in range(60):
        middle = (low + high) / 2.0
        low, high = (low, middle) if shows_violation(middle) else (middle, high)
    return high


def samples_to_decide_bound(bound: float, observed: float, confidence: float = 0.95, *,
                            power: float = 0.8, prompts: int = 0,
                            design_effect: float | None = None) -> SamplePlan:
    """Judged samples in all that would most likely show a rate on its side of ``bound``, if
    the rate is ``observed``: below it when ``observed`` is below (see
    :func:`samples_to_show_below`), above it when above (its complement below ``1 - bound``).

    Args:
        bound: The bound of the rule.
        observed: The rate seen so far.
        confidence: One-sided level of the bound to show.
        power: Wanted chance of showing it.
        prompts: Prompts in the design (0: unclustered; ``design_effect`` is then ignored).
        design_effect: The clustered design effect.

    Raises:
        ValueError: the observed rate sits on the bound (no number of samples is likely to
            decide), or as :func:`samples_to_show_below`.
    """
    if observed == bound:
        raise ValueError("the observed rate sits on the bound: no number of samples is likely "
                         "to decide")
    below = observed < bound
    return samples_to_show_below(bound if below else 1.0 - bound, confidence,
                                 expected_rate=observed if below else 1.0 - observed,
                                 power=power, prompts=prompts or None,
                                 design_effect=design_effect if prompts else None)


def samples_to_resolve(n: int, half_width: float, gap: float, confidence: float, *,
                       power: float = 0.8) -> int:
    """About how many samples would shrink an interval enough to resolve ``gap``, with chance
    ``power``: approximate, taking the width to shrink as ``1 / sqrt(n)``.

    Args:
        n: Samples behind the interval now.
        half_width: The interval's one-sided half-width at ``confidence`` (estimate to the
            bound facing the rule).
        gap: The bound minus the estimate.
        confidence: One-sided level of the interval.
        power: Wanted chance of resolving it.

    Raises:
        ValueError: the estimate sits on the bound, the interval has no width, or more than a
            billion samples would be needed.
    """
    z = float(stats.norm.ppf(confidence))
    se = half_width / z if z else 0.0
    if gap == 0:
        raise ValueError("the estimate sits on the bound: no number of samples is likely to decide")
    if se <= 0 or n <= 0:
        raise ValueError("no spread to scale from")
    needed = n * (se * (z + float(stats.norm.ppf(power))) / abs(gap)) ** 2
    if needed > 1e9:
        raise ValueError("more than a billion samples: the estimate is too close to the bound")
    return math.ceil(needed)


def samples_without_events(n: int, upper: float, margin: float) -> int:
    """Samples that would bring an exact upper bound ``upper`` (on ``n`` samples, no event seen)
    down to ``margin``, if no event is seen in the new samples either: with no event the bound
    shrinks as ``1 / n``, not ``1 / sqrt(n)``."""
    return math.ceil(n * upper / margin)


def interval_violation_p(estimate: float, half_width: float, bound: float, confidence: float,
                         *, upper: bool) -> float:
    """One-sided p-value of "the value is beyond ``bound``" (above it when ``upper``, below it
    otherwise), read off an interval by the normal approximation.

    Args:
        estimate: The estimate.
        half_width: The interval's half-width facing the bound, at one-sided ``confidence``.
        bound: The bound of the rule.
        confidence: One-sided level of the interval's ends.
        upper: True when the rule is a maximum.
    """
    z = float(stats.norm.ppf(confidence))
    se = half_width / z if z else 0.0
    gap = bound - estimate
    if se > 0:
        return float(stats.norm.sf(-gap / se)) if upper else float(stats.norm.sf(gap / se))
    beyond = estimate > bound if upper else estimate < bound
    return 0.0 if beyond else 1.0
