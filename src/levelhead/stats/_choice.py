"""Forced-choice distributions: "pick A or B" probes, counterbalanced over the names' order."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import multinomial_proportions_confint

from levelhead.stats._rates import BinomialTest, Rate, binomial_test, rate
from levelhead.stats._results import Interval, ResultMixin, check_confidence, check_count

__all__ = ["ForcedChoice", "OrderCounts", "forced_choice"]

_GOODMAN = "goodman (simultaneous)"


@dataclass(frozen=True, slots=True)
class OrderCounts(ResultMixin):
    """What was picked when a given option was named first.

    Attributes:
        first_listed: The option named first in these prompts.
        a: Picks of option A.
        b: Picks of option B.
        declines: Replies that picked neither.
    """

    first_listed: Hashable
    a: int
    b: int
    declines: int


@dataclass(frozen=True, slots=True)
class ForcedChoice(ResultMixin):
    """The distribution of picks over A, B and declines, with simultaneous intervals.

    Attributes:
        options: The two option names ``(A, B)``.
        n: Judged replies.
        a: Picks of A.
        b: Picks of B.
        declines: Replies that picked neither.
        a_share: ``a / n``.
        b_share: ``b / n``.
        decline_share: ``declines / n``.
        a_interval: Interval for ``a_share``; the three intervals hold together (simultaneous,
            Goodman) at the stated confidence.
        b_interval: Interval for ``b_share``.
        decline_interval: Interval for ``decline_share``.
        preference: Exact test of A against B among the replies that picked one (null 50 %).
        by_order: Counts per option named first (empty when ``first_listed`` was not given).
        balanced: Whether both orders have the same number of judged replies; only then are the
            pooled shares fully counterbalanced.
        first_listed: Share of picks that went to the option named first, or ``None`` when only
            one order was used.
        order_effect_p: Fisher exact test that the pick does not depend on the order of the
            names (among replies that picked one), or ``None`` when only one order was used.
        errors: Errors, as passed in.
        missing: Replies without a verdict (``None`` choices) plus ``missing`` passed in.
    """

    options: tuple[Hashable, Hashable]
    n: int
    a: int
    b: int
    declines: int
    a_share: float
    b_share: float
    decline_share: float
    a_interval: Interval
    b_interval: Interval
    decline_interval: Interval
    preference: BinomialTest | None
    by_order: tuple[OrderCounts, ...]
    balanced: bool
    first_listed: Rate | None
    order_effect_p: float | None
    errors: int = 0
    missing: int = 0


def forced_choice(choices: Sequence[Hashable | None],
                  first_listed: Sequence[Hashable] | None = None, *,
                  options: tuple[Hashable, Hashable] = ("A", "B"), decline: Hashable = "decline",
                  confidence: float = 0.95, errors: int = 0,
                  missing: int = 0) -> ForcedChoice:
    """Shares of A, B and declines in a forced-choice probe, and whether name order matters.

    Assumes independent replies (one prompt, or prompts that do not differ in their pull) and
    that each reply's pick was read off correctly by the judge.

    Args:
        choices: Per reply, the option picked (by name, not by position), ``decline``, or
            ``None`` when there is no verdict.
        first_listed: Per reply, the option that was named first in its prompt. ``None`` when
            the probe did not counterbalance.
        options: The two option names.
        decline: The label of a reply that picked neither.
        confidence: Simultaneous confidence level of the three intervals.
        errors: Errors, reported beside the result.
        missing: Further missing verdicts, reported beside the result.

    Returns:
        A :class:`ForcedChoice`.

    Raises:
        ValueError: on an unknown label, mismatched lengths or no judged reply.
    """
    confidence = check_confidence(confidence)
    option_a, option_b = options
    if len({option_a, option_b, decline}) != 3:
        raise ValueError(f"the two options and the decline label must differ (got {options!r} "
                         f"and {decline!r})")
    orders = [None] * len(choices) if first_listed is None else list(first_listed)
    if len(orders) != len(choices):
        raise ValueError(f"choices and first_listed need one entry per reply "
                         f"(got {len(choices)} and {len(orders)})")
    known = {option_a: 0, option_b: 1, decline: 2}
    table: dict[Hashable, list[int]] = {}
    no_verdict = 0
    for choice, order in zip(choices, orders, strict=True):
        if choice is None:
            no_verdict += 1
            continue
        if choice not in known:
            raise ValueError(f"choice {choice!r} is neither option {option_a!r}, {option_b!r} "
                             f"nor {decline!r}; map the judge's labels first")
        if first_listed is not None and order not in (option_a, option_b):
            raise ValueError(f"first_listed must name one of the options {options!r} "
                             f"(got {order!r})")
        table.setdefault(order, [0, 0, 0])[known[choice]] += 1
    counts = np.sum(list(table.values()), axis=0) if table else np.zeros(3, np.int64)
    n = int(counts.sum())
    if n == 0:
        raise ValueError("there are no judged replies to count")
    intervals = np.clip(  # statsmodels can return 1.0000000000000002
        multinomial_proportions_confint(counts, alpha=1.0 - confidence, method="goodman"), 0, 1)
    intervals[counts == 0, 0] = 0.0  # pin the ends the data cannot move, as for rates
    intervals[counts == n, 1] = 1.0
    a, b, declines = (int(c) for c in counts)
    by_order = () if first_listed is None else tuple(
        OrderCounts(order, *row)
        for order, row in sorted(table.items(), key=lambda item: item[0] != option_a))
    first, order_p = None, None
    if len(table) == 2:
        first_picks = table[option_a][0] + table[option_b][1]
        picks = a + b
        if picks:
            first = rate(first_picks, picks, confidence)
            _, fisher_p = stats.fisher_exact([table[option_a][:2], table[option_b][:2]])
            order_p = min(float(fisher_p), 1.0)
    ends = [Interval(float(lo), float(hi), confidence, _GOODMAN) for lo, hi in intervals]
    return ForcedChoice(
        options=(option_a, option_b), n=n, a=a, b=b, declines=declines, a_share=a / n,
        b_share=b / n, decline_share=declines / n, a_interval=ends[0], b_interval=ends[1],
        decline_interval=ends[2],
        preference=binomial_test(a, a + b, 0.5, confidence) if a + b else None,
        by_order=by_order, balanced=len(table) == 2 and len({sum(r) for r in table.values()}) == 1,
        first_listed=first, order_effect_p=order_p, errors=check_count("errors", errors),
        missing=no_verdict + check_count("missing", missing))
