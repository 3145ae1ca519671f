"""Plans: how many samples are needed before running, for a bound, a difference or a width.

Each plan first finds the samples needed if every sample were independent, then, for a clustered
design (many samples per prompt), spreads them over the prompts with the design effect
``1 + (m - 1) * icc`` for ``m`` samples per prompt.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from levelhead.stats._clustered import wilson_ends
from levelhead.stats._results import ResultMixin, check_confidence, check_count, check_probability

__all__ = ["SamplePlan", "samples_for_interval_width", "samples_needed",
           "samples_to_detect_difference", "samples_to_show_below"]

_MAX_SAMPLES = 10_000_000


@dataclass(frozen=True, slots=True)
class SamplePlan(ResultMixin):
    """How many samples a goal needs.

    Attributes:
        goal: ``"rate_below"``, ``"detect_difference"`` or ``"interval_width"``.
        independent_samples: Samples needed if all were independent (per target when comparing
            two targets).
        total_samples: Samples needed in the planned design (per target when comparing); equals
            ``prompts * samples_per_prompt`` for a clustered design.
        prompts: Prompts in a clustered design, else ``None``.
        samples_per_prompt: Samples per prompt (per target) in a clustered design, else ``None``.
        design_effect: Variance inflation of the clustered design (1 when unclustered).
        icc: Intra-prompt correlation assumed, when given.
        allowed_events: For ``rate_below``: the most bad replies that can be observed in
            ``independent_samples`` while still proving the bound.
        rule_of_three: For ``rate_below`` with zero events: ``ceil(-ln(1 - confidence) / bound)``
            (``3 / bound`` at 95 %), the quick approximation.
        achieved_power: For ``rate_below`` with an expected rate: the probability of proving the
            bound at ``independent_samples`` if the rate is the expected one.
        settings: The inputs of the plan.
    """

    goal: str
    independent_samples: int
    total_samples: int
    prompts: int | None = None
    samples_per_prompt: int | None = None
    design_effect: float = 1.0
    icc: float | None = None
    allowed_events: int | None = None
    rule_of_three: int | None = None
    achieved_power: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _spread(samples: int, prompts: int | None, icc: float | None,
            design_effect: float | None) -> dict[str, Any]:
    """The clustered design (total, per prompt, design effect) worth ``samples`` independent."""
    if icc is not None and design_effect is not None:
        raise ValueError("give icc or design_effect, not both")
    if icc is not None and prompts is None:
        raise ValueError("icc needs prompts: say over how many prompts the samples are spread")
    if prompts is not None and icc is None and design_effect is None:
        raise ValueError("prompts needs icc or design_effect (icc=0 if samples of one prompt "
                         "are independent)")
    if prompts is not None and (check_count("prompts", prompts) < 1):
        raise ValueError("prompts must be at least 1")
    if design_effect is not None:
        if not (isinstance(design_effect, int | float) and design_effect >= 1.0):
            raise ValueError(f"design_effect must be a number >= 1 (got {design_effect!r})")
        total = math.ceil(samples * design_effect)
        if prompts is None:
            return {"total_samples": total, "design_effect": float(design_effect)}
        per_prompt = math.ceil(total / prompts)
        return {"total_samples": per_prompt * prompts, "prompts": prompts,
                "samples_per_prompt": per_prompt, "design_effect": float(design_effect)}
    if icc is None:
        return {"total_samples": samples}
    rho = check_probability("icc", icc, open_high=True)
    assert prompts is not None
    if prompts <= samples * rho:
        raise ValueError(f"with icc={rho:g} no number of samples per prompt over {prompts} "
                         f"prompts is enough; use at least {math.floor(samples * rho) + 1} "
                         f"prompts")
    # prompts * m / (1 + (m - 1) * rho) >= samples  <=>  m >= samples (1 - rho) / (prompts -
    # samples rho); the tolerance keeps an exact integer from being rounded up by float dust.
    per_prompt = max(1, math.ceil(samples * (1.0 - rho) / (prompts - samples * rho) - 1e-9))
    return {"total_samples": per_prompt * prompts, "prompts": prompts,
            "samples_per_prompt": per_prompt, "design_effect": 1.0 + (per_prompt - 1) * rho,
            "icc": rho}


def _largest_allowed_events(n: np.ndarray, bound: float, alpha: float) -> np.ndarray:
    """Per ``n``, the most events whose exact one-sided upper bound is still <= ``bound``.

    The exact upper bound for ``k`` events is <= ``bound`` exactly when
    ``P(Binomial(n, bound) <= k) <= alpha``; -1 when even zero events are too many.
    """
    first_too_many = stats.binom.ppf(alpha, n, bound).astype(np.int64)
    at_edge = stats.binom.cdf(first_too_many, n, bound) <= alpha
    allowed: np.ndarray = first_too_many - 1 + at_edge
    return allowed


def samples_to_show_below(bound: float, confidence: float = 0.95, *, events: int = 0,
                          expected_rate: float | None = None, power: float = 0.8,
                          prompts: int | None = None, icc: float | None = None,
                          design_effect: float | None = None) -> SamplePlan:
    """Samples needed to show, with ``confidence``, that a behaviour's rate is below ``bound``.

    Without ``expected_rate``: the smallest n whose exact upper bound is <= ``bound`` when at
    most ``events`` bad replies are seen (299 for 1 % at 95 % with zero events; the rule of
    three says 300). With ``expected_rate``: the smallest n that proves the bound with
    probability ``power`` if the true rate is ``expected_rate`` (a few events are then allowed).

    Args:
        bound: The rate to prove the behaviour is below, e.g. 0.01.
        confidence: One-sided confidence level.
        events: Bad replies you expect to see (ignored with ``expected_rate``).
        expected_rate: The rate you believe the target has, below ``bound``.
        power: Wanted probability of proving the bound (with ``expected_rate``).
        prompts: Prompts in a clustered design.
        icc: Intra-prompt correlation, for a clustered design.
        design_effect: Design effect, instead of ``icc``.

    Returns:
        A :class:`SamplePlan` with goal ``"rate_below"``.
    """
    bound = check_probability("bound", bound, open_low=True, open_high=True)
    confidence = check_confidence(confidence)
    alpha = 1.0 - confidence
    events = check_count("events", events)
    rule = None
    achieved = None
    if expected_rate is None:
        if events == 0:
            n = math.ceil(math.log(alpha) / math.log1p(-bound) - 1e-9)
            rule = math.ceil(-math.log(alpha) / bound - 1e-9)
        else:
            low, high = events + 1, 2 * (events + 1)
            while stats.binom.cdf(events, high, bound) > alpha:
                low, high = high, 2 * high
            while low < high:  # the bound shrinks as n grows: bisect for the first n that works
                middle = (low + high) // 2
                low, high = ((middle + 1, high) if stats.binom.cdf(events, middle, bound) > alpha
                             else (low, middle))
            n = low
        allowed = events
    else:
        if events:
            raise ValueError("give events or expected_rate, not both")
        expected = check_probability("expected_rate", expected_rate)
        if expected >= bound:
            raise ValueError(f"expected_rate must be below the bound to prove "
                             f"(got {expected:g} >= {bound:g})")
        power = check_probability("power", power, open_low=True, open_high=True)
        guess = ((stats.norm.ppf(confidence) * math.sqrt(bound * (1 - bound))
                  + stats.norm.ppf(power) * math.sqrt(expected * (1 - expected)))
                 / (bound - expected)) ** 2
        if guess > _MAX_SAMPLES:
            raise ValueError(f"this needs more than {_MAX_SAMPLES:,} samples; the expected rate "
                             f"is too close to the bound")
        candidates = np.arange(1, int(3 * guess) + 200)
        allowed_all = _largest_allowed_events(candidates, bound, alpha)
        powers = np.where(allowed_all >= 0,
                          stats.binom.cdf(allowed_all, candidates, expected), 0.0)
        first = int(np.argmax(powers >= power))
        n, allowed, achieved = int(candidates[first]), int(allowed_all[first]), float(
            powers[first])
    design = _spread(n, prompts, icc, design_effect)
    return SamplePlan("rate_below", n, allowed_events=allowed, rule_of_three=rule,
                      achieved_power=achieved,
                      settings={"bound": bound, "confidence": confidence, "events": events,
                                "expected_rate": expected_rate, "power": power}, **design)


def samples_to_detect_difference(difference: float, baseline_rate: float, *, power: float = 0.8,
                                 alpha: float = 0.05, paired: bool = False,
                                 discordant_rate: float | None = None,
                                 prompts: int | None = None, icc: float | None = None,
                                 design_effect: float | None = None) -> SamplePlan:
    """Samples per target to detect a change of ``difference`` from ``baseline_rate``.

    Unpaired: the two-sided test of two proportions with Cohen's arcsine effect size
    (``statsmodels`` ``NormalIndPower``). Paired (same prompts on both targets): Connor's (1987)
    McNemar formula ``n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2``, where ``psi`` is the
    share of discordant pairs; without ``discordant_rate`` it assumes independent outcomes within
    a pair, which gives about the unpaired number.

    Args:
        difference: Change in the rate to detect (negative for a drop), not 0.
        baseline_rate: Rate of the baseline target.
        power: Wanted probability of detecting the change.
        alpha: Two-sided error level.
        paired: Both targets run on the same prompts and are compared pair by pair.
        discordant_rate: Share of pairs where exactly one side is bad, from a pilot (paired).
        prompts: Prompts in a clustered design.
        icc: Intra-prompt correlation, for a clustered design.
        design_effect: Design effect, instead of ``icc``.

    Returns:
        A :class:`SamplePlan` with goal ``"detect_difference"``; counts are per target.
    """
    baseline = check_probability("baseline_rate", baseline_rate)
    candidate = baseline + difference if isinstance(difference, int | float) else math.nan
    if not (difference != 0 and 0.0 <= candidate <= 1.0 and candidate != baseline):
        raise ValueError(f"difference must be non-zero and keep baseline_rate + difference within "
                         f"[0, 1] (got {difference!r} from {baseline:g})")
    power = check_probability("power", power, open_low=True, open_high=True)
    alpha = check_probability("alpha", alpha, open_low=True, open_high=True)
    if paired:
        psi = (baseline * (1 - candidate) + candidate * (1 - baseline)
               if discordant_rate is None else check_probability("discordant_rate",
                                                                   discordant_rate))
        if psi < abs(difference):
            raise ValueError(f"discordant_rate must be at least |difference|, since the "
                             f"difference comes from discordant pairs (got {psi:g})")
        z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
        exact = (z_a * math.sqrt(psi) + z_b * math.sqrt(psi - difference ** 2)) ** 2
        n = math.ceil(exact / difference ** 2 - 1e-9)
    else:
        if discordant_rate is not None:
            raise ValueError("discordant_rate applies to paired designs only; add paired=True")
        effect = abs(float(proportion_effectsize(candidate, baseline)))
        n = math.ceil(NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power,
                                                   ratio=1.0) - 1e-9)
    design = _spread(n, prompts, icc, design_effect)
    return SamplePlan("detect_difference", n,
                      settings={"difference": difference, "baseline_rate": baseline,
                                "power": power, "alpha": alpha, "paired": paired,
                                "discordant_rate": discordant_rate}, **design)


def _wilson_width(rate: float, n: int, quantile: float) -> float:
    low, high = wilson_ends(rate, float(n), quantile)
    return high - low


def samples_for_interval_width(width: float, rate: float = 0.5, confidence: float = 0.95, *,
                               prompts: int | None = None, icc: float | None = None,
                               design_effect: float | None = None) -> SamplePlan:
    """Samples needed for a Wilson interval no wider than ``width`` around an expected rate.

    Args:
        width: Full width of the interval (``high - low``), e.g. 0.1 for +-5 points.
        rate: The rate you expect; 0.5 is the worst case.
        confidence: Two-sided confidence level.
        prompts: Prompts in a clustered design.
        icc: Intra-prompt correlation, for a clustered design.
        design_effect: Design effect, instead of ``icc``.

    Returns:
        A :class:`SamplePlan` with goal ``"interval_width"``.
    """
    width = check_probability("width", width, open_low=True, open_high=True)
    rate = check_probability("rate", rate)
    confidence = check_confidence(confidence)
    quantile = float(stats.norm.ppf(0.5 + confidence / 2.0))
    low, high = 1, 1
    while _wilson_width(rate, high, quantile) > width:
        low, high = high + 1, 2 * high
    while low < high:  # the width shrinks as n grows: bisect for the first n that is narrow enough
        middle = (low + high) // 2
        low, high = ((middle + 1, high) if _wilson_width(rate, middle, quantile) > width
                     else (low, middle))
    design = _spread(low, prompts, icc, design_effect)
    return SamplePlan("interval_width", low,
                      settings={"width": width, "rate": rate, "confidence": confidence}, **design)


def samples_needed(*, rate_below: float | None = None, detect_difference: float | None = None,
                   interval_width: float | None = None, **options: Any) -> SamplePlan:
    """One entry point for the three plans; exactly one goal must be given.

    Args:
        rate_below: Goal (a): prove the rate is below this; see :func:`samples_to_show_below`.
        detect_difference: Goal (b): detect this change between two targets; see
            :func:`samples_to_detect_difference` (needs ``baseline_rate``).
        interval_width: Goal (c): an interval this wide; see :func:`samples_for_interval_width`.
        **options: Passed on to the chosen function (``confidence``, ``power``, ``prompts``,
            ``icc``, ...).

    Returns:
        The :class:`SamplePlan`.

    Raises:
        ValueError: when not exactly one goal is given, or an option does not fit the goal.
    """
    goals = {"rate_below": rate_below, "detect_difference": detect_difference,
             "interval_width": interval_width}
    chosen = [name for name, value in goals.items() if value is not None]
    if len(chosen) != 1:
        raise ValueError("give exactly one goal: rate_below, detect_difference or interval_width "
                         f"(got {chosen or 'none'})")
    functions: dict[str, Callable[..., SamplePlan]] = {
        "rate_below": samples_to_show_below,
        "detect_difference": samples_to_detect_difference,
        "interval_width": samples_for_interval_width}
    function = functions[chosen[0]]
    accepted = set(list(inspect.signature(function).parameters)[1:])  # all but the goal
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"{', '.join(unknown)} does not apply to {chosen[0]} "
                         f"(it takes {', '.join(sorted(accepted))})")
    return function(goals[chosen[0]], **options)
