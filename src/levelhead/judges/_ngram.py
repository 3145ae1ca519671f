"""A linear model over character and word n-grams: the learned half of the ``*.learned`` judges.

The features are what :func:`features` returns for a text: character n-grams of length 1 to 4
over its normalised form (NFKC, lower case, runs of white space as one space, a space at each
end), Latin word unigrams and bigrams (``w:`` prefixed) and, where the model file asks for it
(``opening`` in its header), the character 2- to 4-grams of the reply's first ``opening``
characters again, as features of their own (``o:`` prefixed: a refusal says so at the start,
and an answer's later "can't" or "sorry" is not one; leaving each of refusal rounds 9 to 12 out
in turn, development figures, mean F1 0.907 with them against 0.894 without); the reply alone,
not the user's message (rounds 7 and 12 tried a model that read the request too, and both were
withdrawn: see docs/judges.md). They are weighted as scikit-learn's
``TfidfVectorizer(sublinear_tf=True, norm="l2")`` weights them — ``(1 + ln count) × idf``,
scaled to unit length over the model's vocabulary — and scored by a logistic regression
(one class against the other, or multinomial over three or more classes).

The model file is gzipped JSON lines written by ``scripts/train_learned_judges.py``: a header
(``classes``, ``intercept``, the training sets, the digests of the training texts, the
combination defaults) then one line per feature, ``[feature, idf, [coefficient per class]]``.
Training needs scikit-learn; scoring needs numpy only (a core dependency), so the judges load in
a core install. Nothing is fetched: the files ship inside the package.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["NgramModel", "dump_model", "features", "load_model", "text_digest"]

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9']+")
#: Character n-gram lengths.
ORDERS = (1, 2, 3, 4)


#: Character n-gram lengths of the opening's features.
OPENING_ORDERS = (2, 3, 4)


def features(text: str, opening: int = 0) -> list[str]:
    """The n-grams the model reads in ``text`` (with repeats: a count is a feature's weight);
    with ``opening``, also those of its first ``opening`` characters, marked ``o:``."""
    t = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    out = _char_grams(f" {t} ", ORDERS)
    words = _WORD.findall(t)
    out.extend("w:" + w for w in words)
    out.extend(f"w:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    if opening > 0:
        out.extend("o:" + g for g in _char_grams(f" {t[:opening]}", OPENING_ORDERS))
    return out


def _char_grams(s: str, orders: Sequence[int]) -> list[str]:
    return [s[i:i + n] for n in orders for i in range(len(s) - n + 1)]


def text_digest(text: str) -> str:
    """How a model file names a training text (the first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class NgramModel:
    """A trained model: its classes, intercepts and, per feature, the idf and the coefficients.

    Attributes:
        name: the file's name (``refusal``, ``flattery``, ``abuse``).
        classes: the labels, in the order of the coefficients (for two classes, the one
            coefficient is the second class's log-odds).
        digest: the first 12 hex digits of the file's SHA-256 (part of the judge's version).
        header: the file's header (training sets, their digests, defaults).
        opening: how many leading characters have features of their own (0: none; the
            header's ``opening``).
    """

    name: str
    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    #: feature -> its row in ``idf`` and ``coef``
    vocabulary: dict[str, int]
    idf: np.ndarray
    #: one row per feature, one column per coefficient
    coef: np.ndarray
    digest: str
    header: dict[str, Any]
    opening: int = 0

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> NgramModel:
        """Parse a gzipped model file's bytes.

        Raises:
            ValueError: when they are not a model file (not gzip, cut short, not JSON lines, a
                header without classes or intercept, coefficients of the wrong width).
        """
        try:
            lines = gzip.decompress(data).decode("utf-8").split("\n")
            header = json.loads(lines[0])
            classes = tuple(str(c) for c in header["classes"])
            intercept = tuple(float(x) for x in header["intercept"])
            rows = [json.loads(line) for line in lines[1:] if line]
            vocabulary = {str(feature): i for i, (feature, _, _) in enumerate(rows)}
            idf = np.array([r[1] for r in rows], dtype=np.float64)
            coef = np.array([r[2] for r in rows], dtype=np.float64).reshape(len(rows), -1)
            opening = int(header.get("opening", 0))
        except (OSError, EOFError, UnicodeDecodeError, ValueError, KeyError, TypeError,
                IndexError) as exc:
            raise ValueError(f"not a model file ({type(exc).__name__}: {exc})") from exc
        width = 1 if len(classes) == 2 else len(classes)
        if len(classes) < 2 or len(intercept) != width or (rows and coef.shape[1] != width):
            raise ValueError(f"{len(classes)} classes need {width} intercept(s) and coefficient(s) "
                             f"per feature; the file has {len(intercept)} and "
                             f"{coef.shape[1] if rows else 0}")
        if opening < 0:
            raise ValueError(f"opening must be 0 or more, not {opening}")
        return cls(name, classes, intercept, vocabulary, idf, coef,
                   hashlib.sha256(data).hexdigest()[:12], header, opening)

    def trained_on(self, texts: Iterable[str]) -> int:
        """How many of ``texts`` the model was trained on (figures on them are in-sample)."""
        seen = frozenset(self.header.get("text_digests", ()))
        return sum(1 for t in texts if text_digest(t) in seen)

    def probabilities(self, text: str) -> dict[str, float]:
        """Each class's probability for the reply ``text``."""
        get = self.vocabulary.get
        rows: list[int] = []
        counts: list[int] = []
        for f, c in Counter(features(text, self.opening)).items():
            i = get(f)
            if i is not None:
                rows.append(i)
                counts.append(c)
        z = list(self.intercept)
        if rows:
            w = (1.0 + np.log(np.array(counts, dtype=np.float64))) * self.idf[rows]
            scores = (w @ self.coef[rows]) / math.sqrt(float(w @ w))
            z = [b + float(a) for b, a in zip(z, scores, strict=True)]
        if len(self.classes) == 2:
            p = _logistic(z[0])
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        top = max(z)
        exp = [math.exp(v - top) for v in z]
        total = sum(exp)
        return {c: e / total for c, e in zip(self.classes, exp, strict=True)}


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def dump_model(header: dict[str, Any],
               vocabulary: Iterable[tuple[str, float, Sequence[float]]]) -> bytes:
    """A model file's bytes: ``header`` (with ``classes`` and ``intercept``), then each
    ``(feature, idf, coefficients)``. Gzipped without a time stamp: the same model gives the
    same bytes."""
    # Rounded like the coefficients: the last digits of a fit differ between CPUs.
    header = {**header, "intercept": [round(float(x), 5) for x in header["intercept"]]}
    lines = [json.dumps(header, ensure_ascii=False, sort_keys=True)]
    lines.extend(json.dumps([f, round(float(idf), 5), [round(float(c), 5) for c in coefs]],
                            ensure_ascii=False) for f, idf, coefs in vocabulary)
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


_LOADED: dict[str, NgramModel] = {}
_LOCK = threading.Lock()


def load_model(name: str) -> NgramModel:
    """The packaged model ``data/learned_<name>.jsonl.gz``, read once per process.

    Raises:
        LevelheadError: when the file is missing or unreadable (a broken install).
    """
    from levelhead.errors import LevelheadError

    with _LOCK:
        model = _LOADED.get(name)
        if model is None:
            path = resources.files("levelhead.judges") / "data" / f"learned_{name}.jsonl.gz"
            try:
                model = NgramModel.from_bytes(name, path.read_bytes())
            except (OSError, ValueError) as exc:
                raise LevelheadError(
                    f"the {name} n-gram model at {path} cannot be read ({exc}); reinstall "
                    "levelhead, or in a source tree run scripts/train_learned_judges.py") from exc
            _LOADED[name] = model
        return model
