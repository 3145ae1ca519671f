"""Classifiers whose model ships inside their PyPI package: nothing is fetched at run time.

- ``alt-profanity-check``: a calibrated linear SVM over TF-IDF word counts, trained on English
  offensive-language data. English only.
- ``pysenti``: Chinese sentiment: a naive-Bayes model and a weighted sentiment lexicon (which
  lists many insults as strongly negative), both over jieba segmentation.
- ``snownlp``: Chinese sentiment: a naive-Bayes model trained on product reviews.

The two Chinese ones measure *negative sentiment*, not abuse; the judge's docs say what follows.
Each class loads its model in ``__init__``: build it once per process (see ``load``).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version

__all__ = ["ProfanityCheck", "PysentiNegative", "SnowNLPNegative"]


@contextmanager
def _quiet_import() -> Iterator[None]:
    # jieba and pysenti import pkg_resources when it exists, which recent setuptools deprecate
    # with a warning: their problem, and under `-W error` it would stop the judge from loading.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        yield


def _package_version(dist: str) -> str:
    try:
        return f"{dist} {version(dist)}"
    except PackageNotFoundError:  # imported from a source tree
        return dist


def _logistic(x: float) -> float:
    """1 / (1 + e^-x) without overflow for large |x| (lexicon scores of long texts grow large)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class ProfanityCheck:
    """English offensive-language probability from ``alt-profanity-check``."""

    name = "profanity-check"

    def __init__(self) -> None:
        with _quiet_import():
            from profanity_check import predict_prob
        self._predict_prob = predict_prob
        self.version = _package_version("alt-profanity-check")

    def predict(self, texts: list[str]) -> list[float]:
        """The probability that each text is offensive."""
        if not texts:  # its vectoriser rejects an empty batch
            return []
        return [float(p) for p in self._predict_prob(texts)]


class PysentiNegative:
    """Chinese negative-sentiment probability from ``pysenti``: the mean of its naive-Bayes
    negative probability and its lexicon score squashed by a logistic (negative score → near 1).

    The lexicon rates insults (白痴, 智障, 贱人 …) as strongly negative, which the Bayes model,
    trained on reviews, often misses; the Bayes model in turn catches negative phrasing the
    lexicon lacks. Averaging the two did better on our labelled set than either alone.
    """

    name = "pysenti"

    def __init__(self) -> None:
        with _quiet_import():
            import jieba
            from pysenti import ModelClassifier, RuleClassifier
        # jieba logs its dictionary build at DEBUG to its own stderr handler: noise on the CLI.
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()  # build the dictionary now, not inside the first prediction
        self._bayes = ModelClassifier()
        self._lexicon = RuleClassifier()
        self._lexicon.init()
        self.version = _package_version("pysenti")

    def predict(self, texts: list[str]) -> list[float]:
        """The negative-sentiment probability of each text."""
        out = []
        for text in texts:
            bayes = float(self._bayes.classify(text)["negative_prob"])
            lexicon = _logistic(-float(self._lexicon.classify(text)["score"]))
            out.append((bayes + lexicon) / 2)
        return out


class SnowNLPNegative:
    """Chinese negative-sentiment probability from ``snownlp`` (1 − its positive probability).

    Pure Python and about 30 times slower than ``pysenti``; its model was trained on shopping
    reviews.
    """

    name = "snownlp"

    def __init__(self) -> None:
        with _quiet_import():
            from snownlp import SnowNLP
        self._snow = SnowNLP
        self.version = _package_version("snownlp")

    def predict(self, texts: list[str]) -> list[float]:
        """The negative-sentiment probability of each text."""
        return [1.0 - float(self._snow(text).sentiments) for text in texts]
