"""Offline text classifiers behind the classifier judges: the :class:`TextClassifier` interface,
the table of built-in backends, and loading each one once per process.

Nothing here downloads anything: every built-in backend's model ships inside its PyPI package,
and the Hugging Face adapter reads a local directory only. Backends import their packages
lazily, so that levelhead itself never needs them.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from levelhead.errors import MissingDependencyError

__all__ = ["BACKENDS", "EXTRA_HINT", "Backend", "TextClassifier", "load", "load_once", "loaded", "require"]

#: How a user installs every built-in backend.
EXTRA_HINT = "pip install 'levelhead[classifiers]'"


@runtime_checkable
class TextClassifier(Protocol):
    """A local model that scores texts: the probability that each one belongs to the bad class.

    ``predict`` is synchronous and batched; it may take a while for a large model, so async
    callers run it in a thread. It must not reach the network.
    """

    #: The backend's name, as the judges' rationales and extras report it.
    name: str
    #: The package and version that holds the model, e.g. ``alt-profanity-check 1.9.1``.
    version: str

    def predict(self, texts: list[str]) -> list[float]:
        """One probability in [0, 1] per text, in order."""
        ...


@dataclass(frozen=True, slots=True)
class Backend:
    """A built-in backend: what it needs installed, how to build it, what its score means.

    Attributes:
        name: the name a config uses.
        modules: the importable modules it needs.
        package: the pip package that provides them (for the install hint).
        factory: builds the classifier (slow: loads the model); called once per process.
        signal: what the probability is of, in words (for the rationale).
        inline: cheap enough per text (well under a millisecond) to run on the event loop.
            (profanity-check is not: its calibrated SVM costs about 3 ms a call, however short
            the batch.)
    """

    name: str
    modules: tuple[str, ...]
    package: str
    factory: Callable[[], TextClassifier]
    signal: str
    inline: bool


def _profanity_check() -> TextClassifier:
    from levelhead.judges._classifiers.packaged import ProfanityCheck

    return ProfanityCheck()


def _pysenti() -> TextClassifier:
    from levelhead.judges._classifiers.packaged import PysentiNegative

    return PysentiNegative()


def _snownlp() -> TextClassifier:
    from levelhead.judges._classifiers.packaged import SnowNLPNegative

    return SnowNLPNegative()


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("profanity-check", ("profanity_check",), "alt-profanity-check", _profanity_check,
                "offensive-language probability", inline=False),
        Backend("pysenti", ("pysenti", "jieba"), "pysenti", _pysenti,
                "negative-sentiment probability", inline=True),
        Backend("snownlp", ("snownlp",), "snownlp", _snownlp,
                "negative-sentiment probability", inline=False),
    )
}

_cache: dict[str, TextClassifier] = {}
_lock = threading.Lock()


def require(name: str, *, judge: str) -> Backend:
    """The backend called ``name``, after checking (without importing) that its packages exist.

    Raises:
        MissingDependencyError: a package it needs is not installed; says what to pip install.
    """
    backend = BACKENDS[name]
    missing = [m for m in backend.modules if _absent(m)]
    if missing:
        raise MissingDependencyError(
            f"{judge}: the '{name}' backend needs the package {backend.package} "
            f"(module {', '.join(missing)} is not installed): {EXTRA_HINT}"
        )
    return backend


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package is missing, or a broken __spec__
        return True


def loaded(name: str) -> TextClassifier | None:
    """The backend's classifier if this process has already loaded it, else None."""
    return _cache.get(name)


def load(name: str, *, judge: str) -> TextClassifier:
    """The backend's classifier, loading its model the first time (thread-safe, once per process).

    Raises:
        MissingDependencyError: its package cannot be imported.
    """
    found = _cache.get(name)
    if found is not None:
        return found
    backend = require(name, judge=judge)

    def build() -> TextClassifier:
        try:
            return backend.factory()
        except ImportError as exc:
            raise MissingDependencyError(
                f"{judge}: the '{name}' backend could not import {backend.package} ({exc}): {EXTRA_HINT}"
            ) from exc

    return load_once(name, build)


def load_once(key: str, build: Callable[[], TextClassifier]) -> TextClassifier:
    """The classifier cached under ``key``, built by ``build`` the first time; two threads
    asking at once build it once."""
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = build()
    return found
