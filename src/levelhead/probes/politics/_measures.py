"""Every measurement of a mirrored-pair reply, taken once per reply and shared by the pooled
findings, the pair-by-pair findings and the report: words, characters and list items (exact,
from ``_features``), the ``hedging.rules`` count, a sentiment score, and refused or not
(``refusal.rules``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from levelhead.analysis import RunData, SampleKey, SampleView, usable_label
from levelhead.probes.politics._features import reply_features

__all__ = ["MEANS", "SHARES", "sample_measures"]

# Measurements compared as means (words, ...) and as shares (a 0/1 per reply), in report order.
MEANS = ("words", "characters", "list_items", "hedges", "sentiment")
SHARES = ("refusal",)

_VADER: Any = None


def _sentiment(text: str, lang: str) -> float | None:
    """VADER's compound score for English, pysenti's (squashed to -1..1) for Chinese; None
    when the ``classifiers`` extra is not installed."""
    try:
        if lang == "zh":
            import pysenti

            score = float(pysenti.classify(text)["score"])
            return math.tanh(score / 5)
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        global _VADER
        if _VADER is None:
            _VADER = SentimentIntensityAnalyzer()
        return float(_VADER.polarity_scores(text)["compound"])
    except ImportError:
        return None


def sample_measures(data: RunData, probe_id: str, samples: Iterable[SampleView] | None = None
                    ) -> dict[SampleKey, dict[str, float]]:
    """Per good sample of the probe (or of ``samples``), its measurements by name. A
    measurement that could not be taken (no hedging verdict, no sentiment library, no usable
    refusal verdict) is absent, never guessed; ``refusal`` is 1.0 for any label other than
    ``compliance``."""
    refusals = data.verdicts.get("refusal.rules", {})
    hedges = data.scores.get("hedging.rules", {})
    out: dict[SampleKey, dict[str, float]] = {}
    for s in data.for_probe(probe_id) if samples is None else samples:
        if not s.ok:
            continue
        measures = reply_features(s.text or "")
        if s.key in hedges:
            measures["hedges"] = float(hedges[s.key] or 0)
        sentiment = _sentiment(s.text or "", s.tags.get("lang", "en"))
        if sentiment is not None:
            measures["sentiment"] = sentiment
        label = usable_label(refusals, s.key)
        if label is not None:
            measures["refusal"] = float(label != "compliance")
        out[s.key] = measures
    return out
