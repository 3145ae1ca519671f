"""Many slices watched at once (behaviour x model version x language): which ones alarm.

Each slice has its own always-valid p-value (:class:`RateWatch`); with dozens of slices, some
would cross ``alpha`` by luck alone. At each check, Benjamini-Hochberg over every slice watched
(:func:`adjust_p_values`) holds the expected share of steady slices among the alarming ones at
``q``. Disjoint slices of traffic are independent, and behaviours judged on the same replies are
usually positively dependent, the two cases where Benjamini-Hochberg holds.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from levelhead.stats._multiplicity import adjust_p_values
from levelhead.stats._results import ResultMixin, check_probability
from levelhead.stats._sequential import RateWatch

__all__ = ["SliceAlarm", "flag_slices"]


def _check_q(q: float) -> float:
    if isinstance(q, bool) or not (isinstance(q, int | float) and 0.0 < q < 1.0):
        raise ValueError(f"q must be between 0 and 1, e.g. 0.05 (got {q!r})")
    return float(q)


@dataclass(frozen=True, slots=True)
class SliceAlarm(ResultMixin):
    """One slice (behaviour x model version x language...) at a check, after Benjamini-Hochberg.

    Attributes:
        slice: The slice's label, as passed.
        p_value: Its always-valid p-value.
        adjusted_p_value: Benjamini-Hochberg adjusted p-value over all slices of the check.
        alarm: ``adjusted_p_value <= q``.
        q: The false discovery rate.
        slices: Number of slices adjusted together.
        method: ``"bh"``.
    """

    slice: Hashable
    p_value: float
    adjusted_p_value: float
    alarm: bool
    q: float
    slices: int
    method: str = "bh"


def flag_slices(p_values: Mapping[Hashable, float | RateWatch] | Sequence[float | RateWatch], *,
                q: float = 0.05) -> tuple[SliceAlarm, ...]:
    """Which slices alarm at this check, with the false discovery rate held at ``q``.

    Args:
        p_values: ``{slice: always-valid p-value}`` (or the slice's :class:`RateWatch`), or a
            sequence of them (slices are then 0, 1, ...). Every slice watched counts, alarming
            or not: leaving out the quiet ones would undo the adjustment.
        q: False discovery rate: the expected share of steady slices among those that alarm.

    Returns:
        One :class:`SliceAlarm` per slice, in input order (Benjamini-Hochberg through
        :func:`adjust_p_values`, which assumes independent or positively dependent slices).

    Raises:
        ValueError: no slices, a p-value outside [0, 1], or ``q`` outside (0, 1).
    """
    q = _check_q(q)
    values = p_values if isinstance(p_values, Mapping) else dict(enumerate(p_values))
    plain = {name: (value.p_value if isinstance(value, RateWatch)
                    else check_probability(f"the p-value of slice {name!r}", value))
             for name, value in values.items()}
    if not plain:
        raise ValueError("p_values is empty: pass every slice watched at this check")
    findings = adjust_p_values(plain, method="bh", alpha=q)
    return tuple(SliceAlarm(f.behaviour, f.p_value, f.adjusted_p_value, f.significant, q,
                            len(findings)) for f in findings)
