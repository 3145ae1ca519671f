"""How far a behaviour moves across conditions (small edits of a system message, say), with the
prompt as the unit: the spread of the pooled rate, and how unstable each prompt is on its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from levelhead.stats._clustered import Seed, bootstrap_prompt_indices, percentile_interval
from levelhead.stats._results import Interval, ResultMixin, check_confidence, check_reps

__all__ = ["ConditionSpread", "condition_spread"]


@dataclass(frozen=True, slots=True)
class ConditionSpread(ResultMixin):
    """Spread of a behaviour's rate across conditions run on the same prompts.

    Attributes:
        rates: The pooled rate under each condition, in input order.
        spread: ``max(rates) - min(rates)``.
        spread_interval: Paired cluster-bootstrap interval (prompts resampled, all conditions
            together). Biased upwards when the true spread is 0 (a range of noisy rates is never
            negative): read it as "at most", and compare with the per-condition intervals.
        instability: Mean over prompts of the range of that prompt's own rates across conditions:
            how much a single prompt's answer moves when only the condition changes.
        instability_interval: Its bootstrap interval.
        prompts: Prompts with judged samples under every condition.
        p_value: Of "the conditions make no difference": the share of re-deals of each prompt's
            judged replies across its conditions (sizes kept, hypergeometric) whose spread is at
            least the observed one.
        null_spread: Mean spread over those re-deals: what noise alone gives.
        null_instability: Mean instability over those re-deals.
        instability_excess: ``instability - null_instability``: the per-prompt movement beyond
            what sampling noise alone produces (about 0 when the conditions do not matter).
    """

    rates: tuple[float, ...]
    spread: float
    spread_interval: Interval
    instability: float
    instability_interval: Interval
    prompts: int
    p_value: float
    null_spread: float
    null_instability: float
    instability_excess: float


def condition_spread(k: ArrayLike, n: ArrayLike, confidence: float = 0.95, *, reps: int = 2000,
                     seed: Seed = 0) -> ConditionSpread:
    """The spread of a rate across conditions, paired by prompt.

    Args:
        k: Bad replies, shape ``(conditions, prompts)``.
        n: Judged samples, same shape; prompts with no judged sample under some condition are
            left out.
        confidence: Two-sided confidence level of the intervals.
        reps: Bootstrap replicates.
        seed: Seed or numpy ``Generator`` (the same seed gives the same intervals).

    Returns:
        A :class:`ConditionSpread`.

    Raises:
        ValueError: on a shape mismatch, fewer than 2 conditions, or fewer than 2 usable prompts.
    """
    confidence = check_confidence(confidence)
    reps = check_reps(reps)
    kk, nn = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if kk.ndim != 2 or kk.shape != nn.shape:
        raise ValueError(f"k and n need the same shape (conditions, prompts) (got {kk.shape} and "
                         f"{nn.shape})")
    if kk.shape[0] < 2:
        raise ValueError(f"a spread needs at least 2 conditions (got {kk.shape[0]})")
    if np.any(kk < 0) or np.any(kk > nn):
        raise ValueError("every k must be between 0 and its n")
    usable = np.all(nn > 0, axis=0)
    kk, nn = kk[:, usable], nn[:, usable]
    prompts = kk.shape[1]
    if prompts < 2:
        raise ValueError(f"a spread needs at least 2 prompts judged under every condition "
                         f"(got {prompts})")

    def measures(kx: np.ndarray, nx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # kx, nx: (..., conditions, prompts)
        rates = kx.sum(axis=-1) / nx.sum(axis=-1)
        per_prompt = kx / nx
        spread = rates.max(axis=-1) - rates.min(axis=-1)
        instability = (per_prompt.max(axis=-2) - per_prompt.min(axis=-2)).mean(axis=-1)
        return spread, instability

    rates = kk.sum(axis=1) / nn.sum(axis=1)
    spread, instability = measures(kk, nn)
    index = bootstrap_prompt_indices(prompts, reps, seed)  # (reps, prompts)
    kb = np.moveaxis(kk[:, index], 0, 1)  # (reps, conditions, prompts)
    nb = np.moveaxis(nn[:, index], 0, 1)
    spreads, instabilities = measures(kb, nb)
    method = "paired cluster bootstrap (expanded percentile)"
    # No difference between conditions: each prompt's bad replies dealt afresh among its
    # conditions, each keeping its number of judged replies.
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(
        None if seed is None else [seed, 1])
    bad = np.broadcast_to(kk.sum(axis=0), (reps, prompts)).astype(np.int64)
    good = np.broadcast_to((nn - kk).sum(axis=0), (reps, prompts)).astype(np.int64)
    dealt = np.empty((reps, kk.shape[0], prompts))
    for c in range(kk.shape[0]):
        draw: NDArray[np.int64] = np.broadcast_to(nn[c].astype(np.int64), (reps, prompts))
        got = rng.hypergeometric(bad, good, draw) if c < kk.shape[0] - 1 else bad
        dealt[:, c, :] = got
        bad, good = bad - got, good - (draw - got)
    null_spreads, null_instabilities = measures(dealt, np.broadcast_to(nn, dealt.shape))
    p_value = float((1 + np.sum(null_spreads >= spread - 1e-12)) / (reps + 1))
    return ConditionSpread(tuple(float(r) for r in rates), float(spread),
                           percentile_interval(spreads, confidence, prompts, method),
                           float(instability),
                           percentile_interval(instabilities, confidence, prompts, method), prompts,
                           p_value, float(null_spreads.mean()), float(null_instabilities.mean()),
                           float(instability - null_instabilities.mean()))
