"""Shared result types and input checks for the statistics package.

Every result is a frozen, slotted dataclass with ``to_dict()`` so reports can serialise it as JSON
without knowing its shape. The input checks raise ``ValueError`` with one actionable sentence.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Interval", "ResultMixin"]


def _jsonable(value: Any) -> Any:
    """Plain-Python form of a result field (nested results, tuples, numpy scalars)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class ResultMixin:
    """Adds ``to_dict()`` to a result dataclass."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The result as plain dicts, lists, numbers and strings, ready for ``json.dumps``."""
        return _jsonable(self)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Interval(ResultMixin):
    """A confidence interval.

    Attributes:
        low: Lower end.
        high: Upper end.
        confidence: Nominal coverage, e.g. 0.95.
        method: How it was computed, e.g. ``"wilson"`` or ``"cluster bootstrap (percentile)"``.
    """

    low: float
    high: float
    confidence: float
    method: str

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def contains(self, value: float) -> bool:
        """True when ``low <= value <= high``."""
        return self.low <= value <= self.high


# --- input checks ---------------------------------------------------------------------------


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, or raise if it is not strictly between 0 and 1."""
    if not (isinstance(confidence, int | float) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence must be between 0 and 1, e.g. 0.95 (got {confidence!r})")
    return float(confidence)


def check_probability(name: str, value: float, *, open_low: bool = False,
                      open_high: bool = False) -> float:
    """Return ``value`` as a float, or raise if it is not a probability (optionally open ends)."""
    ok = isinstance(value, int | float) and not math.isnan(value)
    ok = ok and (value > 0 if open_low else value >= 0) and (value < 1 if open_high else value <= 1)
    if not ok:
        low = "(0" if open_low else "[0"
        high = "1)" if open_high else "1]"
        raise ValueError(f"{name} must be a rate in {low}, {high} (got {value!r})")
    return float(value)


def check_count(name: str, value: int) -> int:
    """Return ``value`` as an int, or raise if it is not a non-negative whole number."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0 (got {value!r})")
    return int(value)


def check_reps(reps: int) -> int:
    """Return ``reps`` as an int, or raise if there are too few bootstrap replicates to use."""
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 100:
        raise ValueError(f"reps must be a whole number >= 100 bootstrap replicates (got {reps!r})")
    return int(reps)


def as_counts(name: str, values: ArrayLike) -> NDArray[np.int64]:
    """A 1-D array of non-negative whole numbers, or a ``ValueError`` naming ``name``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of counts (got {array.ndim} dimensions)")
    if array.size and (array.dtype.kind not in "iuf" or np.any(array != np.round(array))
                       or np.any(array < 0)):
        raise ValueError(f"{name} must hold whole numbers >= 0 (got {array[:5].tolist()}...)")
    return array.astype(np.int64)


def check_per_prompt(k_per_prompt: ArrayLike,
                     n_per_prompt: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per-prompt bad counts and judged counts, checked against each other."""
    k = as_counts("k_per_prompt", k_per_prompt)
    n = as_counts("n_per_prompt", n_per_prompt)
    if k.shape != n.shape:
        raise ValueError(f"k_per_prompt and n_per_prompt must have one entry per prompt "
                         f"(got {k.size} and {n.size})")
    bad = np.flatnonzero(k > n)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"k must be between 0 and n for every prompt "
                         f"(prompt {i} has k={k[i]}, n={n[i]})")
    return k, n


def as_float_vector(name: str, values: Sequence[float] | ArrayLike) -> NDArray[np.float64]:
    """A 1-D float array (NaN allowed: it marks a missing value)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a flat sequence of numbers (NaN for missing)") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers (got {array.ndim} dimensions)")
    return array
