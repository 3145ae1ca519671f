"""The reader's language: English or Chinese, for the report page, its plain-word sentences and
the gate summary.

Every string a reader sees is a key in one catalogue per language (``_catalogue_en``,
``_catalogue_zh``: plain dicts of ``str.format`` templates, no gettext); :func:`say` looks a key
up and fills it in. A test checks that both catalogues have the same keys and, for each key, the
same placeholders. :func:`default_language` reads the locale (``LC_ALL``, ``LC_MESSAGES``,
``LANG``: Chinese when the first one set starts with ``zh``).
"""

from __future__ import annotations

import math
import os
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal, get_args

from levelhead.analysis._catalogue_en import EN
from levelhead.analysis._catalogue_zh import ZH

__all__ = ["CATALOGUES", "LANGUAGES", "Language", "default_language", "language", "pct",
           "pct_range", "say", "say_note"]

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
CATALOGUES: Mapping[Language, Mapping[str, str]] = {"en": EN, "zh": ZH}


def default_language(environ: Mapping[str, str] | None = None) -> Language:
    """The locale's language: ``"zh"`` when the first of ``LC_ALL``, ``LC_MESSAGES`` and
    ``LANG`` that is set starts with ``zh`` (``zh_CN.UTF-8``, ``zh_TW``...), else ``"en"``."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def language(value: str | None) -> Language:
    """``value`` as a language (``"zh"``, ``"en"``, or a locale such as ``"zh_CN"``); the
    locale's (:func:`default_language`) when None.

    Raises:
        ValueError: a language levelhead has no catalogue for.
    """
    if value is None:
        return default_language()
    short = value.lower().replace("-", "_").split("_", 1)[0]
    if short not in LANGUAGES:
        raise ValueError(f"no catalogue for language {value!r}; use one of: {', '.join(LANGUAGES)}")
    return "zh" if short == "zh" else "en"


def say(lang: Language, key: str, /, **values: Any) -> str:
    """The catalogue's text for ``key`` in ``lang``, with ``values`` filled in.

    Raises:
        KeyError: an unknown key (a test keeps both catalogues complete).
    """
    template = CATALOGUES[lang][key]
    return template.format(**values) if values else template


@lru_cache(maxsize=1)
def _note_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each ``note.*`` key with its English template as a pattern (a placeholder matches any
    text)."""
    out = []
    for key, template in EN.items():
        if key.startswith("note."):
            parts = [re.escape(literal) + ("" if name is None else f"(?P<{name}>.+?)")
                     for literal, name, _, _ in string.Formatter().parse(template)]
            out.append((key, re.compile("".join(parts), re.DOTALL)))
    return tuple(out)


def say_note(lang: Language, note: str) -> str:
    """A note a finding carries (written in English, as the findings JSON keeps it) in
    ``lang``: the ``note.*`` key whose English template it matches, filled in; the note as it
    is when no key matches (a probe's own note, say)."""
    if lang == "en" or not note:
        return note
    for key, pattern in _note_patterns():
        if (match := pattern.fullmatch(note)) is not None:
            return say(lang, key, **match.groupdict())
    return note


def pct(x: float | None, lang: Language = "en") -> str:
    """A share as a percentage with sensible digits (``"7.5 %"``; ``"7.5%"`` in Chinese)."""
    if x is None or not math.isfinite(x):
        return "–"
    value = 100 * x
    if value == 0 or value >= 1 or value <= -1:
        text = f"{value:.1f} %".replace(".0 %", " %")
    else:
        text = f"{value:.2g} %"
    return text.replace(" %", "%") if lang == "zh" else text


def pct_range(low: float | None, high: float | None, lang: Language = "en") -> str:
    """Two shares as one range, the unit written once: ``"61–83 %"``."""
    suffix = "%" if lang == "zh" else " %"
    return f"{pct(low, lang).removesuffix(suffix)}–{pct(high, lang)}"
