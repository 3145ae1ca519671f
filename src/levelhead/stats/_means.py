"""The mean of a per-reply score (a positivity, a word count) when replies come in prompts.

Samples of one prompt are not independent evidence, so the interval is a t interval over the
prompts' own means (each prompt weighs the same), not over the replies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from levelhead.stats._results import Interval, ResultMixin, as_float_vector, check_confidence

__all__ = ["ClusteredMean", "clustered_mean"]


@dataclass(frozen=True, slots=True)
class ClusteredMean(ResultMixin):
    """Mean of a score over prompts, each prompt weighted equally.

    Attributes:
        estimate: Mean of the prompts' mean scores.
        interval: t interval over the prompt means (``"t over prompt means"``); when every
            prompt mean is equal, a zero-width interval that says so in its method.
        prompts: Prompts with at least one scored reply.
        n: Scored replies.
        missing: Replies without a score (NaN), left out.
    """

    estimate: float
    interval: Interval
    prompts: int
    n: int
    missing: int = 0


def clustered_mean(values: ArrayLike, prompt_ids: Sequence[Hashable],
                   confidence: float = 0.95) -> ClusteredMean:
    """The mean score over prompts, with a t interval over the prompt means.

    Args:
        values: One score per reply (NaN for a reply that could not be scored).
        prompt_ids: The prompt of each reply.
        confidence: Two-sided confidence level.

    Returns:
        A :class:`ClusteredMean`.

    Raises:
        ValueError: on mismatched lengths or fewer than 2 prompts with a score.
    """
    confidence = check_confidence(confidence)
    x = as_float_vector("values", values)
    if len(prompt_ids) != x.size:
        raise ValueError(f"values and prompt_ids need one entry per reply "
                         f"(got {x.size} and {len(prompt_ids)})")
    sums: dict[Hashable, list[float]] = defaultdict(lambda: [0.0, 0.0])
    missing = 0
    for pid, v in zip(prompt_ids, x, strict=True):
        if np.isnan(v):
            missing += 1
            continue
        sums[pid][0] += float(v)
        sums[pid][1] += 1.0
    means = np.array([s / c for s, c in sums.values()])
    if means.size < 2:
        raise ValueError(f"a clustered mean needs at least 2 prompts with a score (got {means.size})")
    estimate = float(means.mean())
    if np.ptp(means) == 0.0:
        interval = Interval(estimate, estimate, confidence, "t over prompt means (no spread)")
    else:
        se = float(means.std(ddof=1) / np.sqrt(means.size))
        q = float(stats.t.ppf(0.5 + confidence / 2.0, means.size - 1))
        interval = Interval(estimate - q * se, estimate + q * se, confidence, "t over prompt means")
    return ClusteredMean(estimate, interval, int(means.size), int(x.size - missing), missing)
