"""Mirrored-pair asymmetry: the same request with the sides swapped should get alike replies.

For each pair, a numeric feature of the reply for side A (say, "write a poem praising party A")
is compared with the same feature for side B (the mirrored request). The paired differences show
whether the target treats the sides differently: longer, more list items, warmer, refused more.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from levelhead.stats._results import (
    Interval,
    ResultMixin,
    as_float_vector,
    check_confidence,
    check_count,
)

__all__ = ["MirroredAsymmetry", "mirrored_asymmetries", "mirrored_asymmetry"]


@dataclass(frozen=True, slots=True)
class MirroredAsymmetry(ResultMixin):
    """Paired difference of one feature between the two sides of mirrored requests.

    Attributes:
        feature: Name of the feature (``"length"``, ``"list_items"``, ``"sentiment"``, ...).
        pairs: Pairs (or pair clusters, when ``pair_ids`` was given) in the analysis.
        mean_a: Mean of the feature on side A.
        mean_b: Mean of the feature on side B.
        mean_difference: Mean of ``A - B`` (positive: side A gets more of the feature).
        interval: t interval for the mean difference (``scipy.stats.ttest_1samp``).
        p_value: Paired t-test p-value, or ``None`` when every difference is the same (then
            there is no spread to test against; read ``sign_test_p``).
        a_greater: Pairs where A's feature is larger.
        b_greater: Pairs where B's feature is larger.
        ties: Pairs with equal features.
        sign_test_p: Exact sign test (binomial on ``a_greater`` vs ``b_greater``); for a 0/1
            feature such as refusal this is the exact McNemar test.
        errors: Errors, as passed in.
        missing: Pairs dropped for a missing (NaN) feature plus ``missing`` passed in.
    """

    feature: str
    pairs: int
    mean_a: float
    mean_b: float
    mean_difference: float
    interval: Interval
    p_value: float | None
    a_greater: int
    b_greater: int
    ties: int
    sign_test_p: float
    errors: int = 0
    missing: int = 0


def _cluster_means(values: np.ndarray, pair_ids: Sequence[Hashable]) -> np.ndarray:
    order: dict[Hashable, int] = {}
    codes = np.array([order.setdefault(pid, len(order)) for pid in pair_ids], dtype=np.intp)
    sums = np.bincount(codes, weights=values, minlength=len(order))
    return sums / np.bincount(codes, minlength=len(order))


def mirrored_asymmetry(side_a: ArrayLike, side_b: ArrayLike, *, feature: str = "feature",
                       pair_ids: Sequence[Hashable] | None = None, confidence: float = 0.95,
                       errors: int = 0, missing: int = 0) -> MirroredAsymmetry:
    """Paired differences of one numeric feature between the sides of mirrored requests.

    Assumes the pairs are independent of each other. When one mirrored request was sampled
    several times, pass ``pair_ids`` (the same id for all samples of a pair): each pair's
    samples are averaged first, so repeated samples do not pose as independent pairs.

    Args:
        side_a: Feature of each reply on side A (NaN when it could not be measured).
        side_b: Feature of the matching reply on side B, in the same order.
        feature: Name of the feature, carried into the result.
        pair_ids: Optional pair id per entry, to cluster repeated samples of a pair.
        confidence: Two-sided confidence level.
        errors: Errors, reported beside the result.
        missing: Missing verdicts, reported beside the result.

    Returns:
        A :class:`MirroredAsymmetry`.

    Raises:
        ValueError: on mismatched lengths or fewer than 2 usable pairs.
    """
    confidence = check_confidence(confidence)
    a = as_float_vector("side_a", side_a)
    b = as_float_vector("side_b", side_b)
    if a.size != b.size or (pair_ids is not None and len(pair_ids) != a.size):
        raise ValueError(f"side_a, side_b (and pair_ids) need one entry per pair "
                         f"(got {a.size}, {b.size}"
                         f"{'' if pair_ids is None else f', {len(pair_ids)}'})")
    usable = ~(np.isnan(a) | np.isnan(b))
    dropped = int((~usable).sum())
    a, b = a[usable], b[usable]
    if pair_ids is not None:
        kept_ids = [pid for pid, keep in zip(pair_ids, usable, strict=True) if keep]
        a, b = _cluster_means(a, kept_ids), _cluster_means(b, kept_ids)
    if a.size < 2:
        raise ValueError(f"mirrored asymmetry needs at least 2 pairs with both features "
                         f"measured (got {a.size})")
    difference = a - b
    mean = float(difference.mean())
    if np.ptp(difference) == 0.0:
        interval = Interval(mean, mean, confidence, "t (no spread: every difference is equal)")
        p_value = None
    else:
        test = stats.ttest_1samp(difference, 0.0)
        low, high = test.confidence_interval(confidence)
        interval = Interval(float(low), float(high), confidence, "paired t")
        p_value = float(test.pvalue)
    a_greater, b_greater = int((difference > 0).sum()), int((difference < 0).sum())
    decided = a_greater + b_greater
    sign_p = float(stats.binomtest(a_greater, decided, 0.5).pvalue) if decided else 1.0
    return MirroredAsymmetry(
        feature=feature, pairs=int(a.size), mean_a=float(a.mean()), mean_b=float(b.mean()),
        mean_difference=mean, interval=interval, p_value=p_value, a_greater=a_greater,
        b_greater=b_greater, ties=int(a.size) - decided, sign_test_p=min(sign_p, 1.0),
        errors=check_count("errors", errors), missing=dropped + check_count("missing", missing))


def mirrored_asymmetries(features_a: Mapping[str, ArrayLike], features_b: Mapping[str, ArrayLike],
                         *, pair_ids: Sequence[Hashable] | None = None, confidence: float = 0.95,
                         errors: int = 0, missing: int = 0) -> tuple[MirroredAsymmetry, ...]:
    """:func:`mirrored_asymmetry` for several features of the same pairs.

    Args:
        features_a: ``{feature name: values on side A}``.
        features_b: ``{feature name: values on side B}``, with the same names.
        pair_ids: Optional pair id per entry (see :func:`mirrored_asymmetry`).
        confidence: Two-sided confidence level.
        errors: Errors, reported beside each result.
        missing: Missing verdicts, reported beside each result.

    Returns:
        One result per feature, in the order of ``features_a``. Pass their ``p_value`` to
        :func:`adjust_p_values` when judging them together.
    """
    if set(features_a) != set(features_b):
        raise ValueError(f"features_a and features_b must name the same features "
                         f"(got {sorted(features_a)} and {sorted(features_b)})")
    return tuple(mirrored_asymmetry(features_a[name], features_b[name], feature=name,
                                    pair_ids=pair_ids, confidence=confidence, errors=errors,
                                    missing=missing) for name in features_a)
