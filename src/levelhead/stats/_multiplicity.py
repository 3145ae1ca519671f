"""Many behaviours at once: adjust p-values so that some finding is not just luck of the draw."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from statsmodels.stats.multitest import multipletests

from levelhead.stats._results import ResultMixin, as_float_vector

__all__ = ["AdjustedFinding", "MultiplicityMethod", "adjust_p_values"]

MultiplicityMethod = Literal["holm", "bh"]

# Holm controls the family-wise error (the chance of any false alarm); Benjamini-Hochberg the
# false discovery rate (the expected share of false alarms among the alarms).
_STATSMODELS = {"holm": "holm", "bh": "fdr_bh"}


@dataclass(frozen=True, slots=True)
class AdjustedFinding(ResultMixin):
    """One behaviour's p-value before and after the multiplicity adjustment.

    Attributes:
        behaviour: The behaviour (or any label the caller used).
        p_value: The p-value as computed for this behaviour alone.
        adjusted_p_value: The adjusted p-value; compare it with ``alpha``.
        significant: ``adjusted_p_value <= alpha``.
        method: ``"holm"`` or ``"bh"``.
        alpha: The error level used.
    """

    behaviour: Hashable
    p_value: float
    adjusted_p_value: float
    significant: bool
    method: str
    alpha: float


def adjust_p_values(p_values: Mapping[Hashable, float] | Sequence[float], *,
                    method: MultiplicityMethod = "holm",
                    alpha: float = 0.05) -> tuple[AdjustedFinding, ...]:
    """Adjust the p-values of many behaviours compared at once.

    Args:
        p_values: ``{behaviour: p_value}``, or a plain sequence (behaviours are then 0, 1, ...).
            Use e.g. :attr:`PairedDifference.p_value` or :attr:`NonInferiority.p_value`.
        method: ``"holm"`` (default; family-wise error, valid under any dependence) or ``"bh"``
            (Benjamini-Hochberg false discovery rate; more findings, assumes independent or
            positively dependent tests).
        alpha: Family-wise error level or false discovery rate.

    Returns:
        One :class:`AdjustedFinding` per behaviour, in input order
        (``statsmodels.stats.multitest.multipletests``).
    """
    if method not in _STATSMODELS:
        raise ValueError(f"method must be 'holm' or 'bh' (got {method!r})")
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be between 0 and 1, e.g. 0.05 (got {alpha!r})")
    if isinstance(p_values, Mapping):
        names: list[Hashable] = list(p_values)
        values = as_float_vector("p_values", [p_values[name] for name in names])
    else:
        values = as_float_vector("p_values", p_values)
        names = list(range(values.size))
    if values.size == 0:
        raise ValueError("p_values is empty: there is nothing to adjust")
    if np.any(np.isnan(values)) or np.any((values < 0) | (values > 1)):
        raise ValueError("every p-value must be between 0 and 1")
    significant, adjusted, _, _ = multipletests(values, alpha=alpha, method=_STATSMODELS[method])
    return tuple(AdjustedFinding(name, float(p), float(a), bool(s), method, float(alpha))
                 for name, p, a, s in zip(names, values, adjusted, significant, strict=True))
