"""Agreement between judges (or a judge and human spot checks): Cohen's and Fleiss' kappa."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss

from levelhead.stats._results import ResultMixin

__all__ = ["Agreement", "cohen_kappa", "fleiss_kappa"]


@dataclass(frozen=True, slots=True)
class Agreement(ResultMixin):
    """Chance-corrected agreement on the items both (or all) raters labelled.

    Attributes:
        kappa: Cohen's kappa (two raters) or Fleiss' kappa (several); 1 is perfect agreement,
            0 is what chance alone would give, below 0 is worse than chance. ``nan`` when
            chance agreement is already perfect (every rater used one and the same label).
        observed: share of items (or rater pairs) that agree.
        expected: agreement expected by chance from the raters' label shares.
        n: items compared.
        raters: how many raters.
        per_label: kappa of each label against all others ("abusive vs not").
        missing: items left out because a rater gave no label (None or ``judge_error``).
    """

    kappa: float
    observed: float
    expected: float
    n: int
    raters: int
    per_label: dict[str, float]
    missing: int = 0


_MISSING = (None, "", "judge_error")


def _kappa(observed: float, expected: float) -> float:
    return float("nan") if expected >= 1.0 else (observed - expected) / (1.0 - expected)


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> Agreement:
    """Cohen's kappa of two raters over the same items, with per-label kappas.

    Items where either rater has no label (None, "" or ``judge_error``) are left out and
    counted in ``missing``.

    Raises:
        ValueError: when the two sequences differ in length or no item has both labels.
    """
    if len(labels_a) != len(labels_b):
        raise ValueError(f"both raters must label the same items (got {len(labels_a)} and "
                         f"{len(labels_b)} labels)")
    pairs = [(a, b) for a, b in zip(labels_a, labels_b, strict=True)
             if a not in _MISSING and b not in _MISSING]
    if not pairs:
        raise ValueError("no item has a label from both raters")
    labels = sorted({str(x) for pair in pairs for x in pair})
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for a, b in pairs:
        table[index[str(a)], index[str(b)]] += 1
    n = len(pairs)
    observed = float(np.trace(table)) / n
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    per_label = {}
    for label in labels:
        i = index[label]
        both = table[i, i] / n
        neither = (n - table[i, :].sum() - table[:, i].sum() + table[i, i]) / n
        pa, pb = table[i, :].sum() / n, table[:, i].sum() / n
        per_label[label] = _kappa(both + neither, pa * pb + (1 - pa) * (1 - pb))
    return Agreement(_kappa(observed, expected), observed, expected, n, 2, per_label,
                     len(labels_a) - n)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> Agreement:
    """Fleiss' kappa for several raters: ``ratings[i]`` holds every rater's label of item i.

    Items with a missing label (None, "" or ``judge_error``) are left out, so every item
    kept has the same number of raters, as the method requires.

    Raises:
        ValueError: with fewer than two raters or no complete item.
    """
    complete = [list(map(str, r)) for r in ratings if r and all(x not in _MISSING for x in r)]
    if not complete:
        raise ValueError("no item has a label from every rater")
    raters = len(complete[0])
    if raters < 2 or any(len(r) != raters for r in complete):
        raise ValueError("every item needs the same number of raters, at least two")
    labels = sorted({x for r in complete for x in r})
    counts = np.array([[r.count(label) for label in labels] for r in complete], dtype=float)
    n = len(complete)
    shares = counts.sum(axis=0) / (n * raters)
    observed = float(((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean())
    expected = float((shares**2).sum())
    kappa = float(_fleiss(counts)) if expected < 1.0 else float("nan")
    per_label = {}
    for j, label in enumerate(labels):
        two = np.column_stack([counts[:, j], raters - counts[:, j]])
        p = shares[j]
        exp_j = p**2 + (1 - p) ** 2
        obs_j = float(((two * (two - 1)).sum(axis=1) / (raters * (raters - 1))).mean())
        per_label[label] = _kappa(obs_j, exp_j)
    return Agreement(kappa, observed, expected, n, raters, per_label, len(ratings) - n)
