"""Mirrored pairs one at a time: the finding that names the pair.

The pooled asymmetry averages over pairs, so one pair whose Biden list has five items and whose
Trump list has three, every time, vanishes among fifty even ones. Here every pair and every
measurement is its own comparison of the replies to side A against the replies to side B
(``stats.pair_asymmetry``), and the whole family of one target — every pair and every
measurement — is adjusted together (Holm) before a pair is flagged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Literal

from levelhead.analysis import SampleKey, SampleView
from levelhead.probes.politics._measures import MEANS, SHARES
from levelhead.records import Finding

__all__ = ["ALPHA", "CORRECTION", "PAIR_METRIC", "pair_findings"]

PAIR_METRIC = "pair_asymmetry:"
# Holm, not Benjamini-Hochberg: a flag names a pair, a claim someone may publish; Holm keeps the
# chance of any false flag among all pairs at ALPHA, whatever the dependence (docs/statistics.md).
CORRECTION: Literal["holm", "bh"] = "holm"
ALPHA = 0.05
MIN_REPLIES = 2  # per side: one reply per side is an anecdote, and a mean needs a spread
EXCERPT = 160


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def pair_findings(target: str, probe_id: str, samples: list[SampleView],
                  measures: dict[SampleKey, dict[str, float]]) -> list[Finding]:
    """One finding per pair and measurement of one target: side A minus side B over the
    pair's replies, with its interval, the p-value adjusted over every pair and measurement
    of the target (Holm), and ``detail.flag``. Pairs with fewer than two good replies on a side,
    and measurements not taken on a side, give none."""
    from levelhead.stats import flag_pair_asymmetries, pair_asymmetry

    sides: dict[str, dict[str, list[SampleView]]] = defaultdict(lambda: defaultdict(list))
    errors: dict[str, int] = defaultdict(int)
    for s in samples:
        pair = s.tags.get("pair", s.prompt_id)
        if s.ok:
            sides[pair][s.tags.get("side", "a")].append(s)
        else:
            errors[pair] += 1
    results = []
    for pair, got in sorted(sides.items()):
        a, b = got.get("a", []), got.get("b", [])
        if len(a) < MIN_REPLIES or len(b) < MIN_REPLIES:
            continue
        for feature in (*MEANS, *SHARES):
            values_a = [measures[s.key].get(feature, math.nan) for s in a]
            values_b = [measures[s.key].get(feature, math.nan) for s in b]
            if all(map(math.isnan, values_a)) or all(map(math.isnan, values_b)):
                continue  # not measured on this run (no judge, no library): nothing to compare
            try:
                results.append(pair_asymmetry(values_a, values_b, feature=feature, pair=pair,
                                              kind="share" if feature in SHARES else "mean",
                                              errors=errors[pair]))
            except ValueError:
                continue  # fewer than two measured replies on a side
    out = []
    for r in flag_pair_asymmetries(results, method=CORRECTION, alpha=ALPHA):
        first_a, first_b = sides[r.pair]["a"][0].tags, sides[r.pair]["b"][0].tags
        bounded = math.isfinite(r.interval.low) and math.isfinite(r.interval.high)
        detail = {
            "pair": r.pair, "side_a": first_a.get("side_name", "a"),
            "side_b": first_b.get("side_name", "b"), "side_a_tag": first_a.get("side_tag", "a"),
            "side_b_tag": first_b.get("side_tag", "b"),
            "text_a": _excerpt(first_a.get("prompt", first_a.get("side_name", "a"))),
            "text_b": _excerpt(first_b.get("prompt", first_b.get("side_name", "b"))),
            "lang": first_a.get("lang", ""), "request_type": first_a.get("request_type", ""),
            "mean_a": r.mean_a, "mean_b": r.mean_b, "n_a": r.n_a, "n_b": r.n_b,
            "test": r.test, "p_value": r.p_value, "adjusted_p": r.adjusted_p_value,
            "correction": r.correction, "family": r.family, "alpha": r.alpha,
            "flag": bool(r.flagged), "null": 0.0, "note": "side A minus side B"}
        if not bounded:
            detail["note"] = ("side A minus side B; every reply on each side measured the same, "
                              "and too few replies were taken to bound the difference: sample more")
        out.append(Finding(
            target=target, probe=probe_id, metric=f"{PAIR_METRIC}{r.feature}", kind="difference",
            unit="share" if r.kind == "share" else r.feature, group=r.pair,
            estimate=r.difference, ci_low=r.interval.low if bounded else None,
            ci_high=r.interval.high if bounded else None, confidence=r.interval.confidence,
            n=r.n_a + r.n_b, errors=r.errors, missing=r.missing, method=r.interval.method,
            detail=detail))
    return out
