"""Text handling shared by the sycophancy judges: answer normalisation (numbers written as
words or Chinese numerals become digits), alias matching with word boundaries, sentence and
clause spans, and the JSON-list tags the sycophancy probes write.

Everything works on one *canonical* view of a text, so that a match position found by one step
is valid for the next: :func:`canonical` = :func:`~levelhead.judges._normalise.normalise`, then
thousands separators dropped (``1,000`` → ``1000``), then small English number words and
Chinese numerals rewritten as digits (``fifty-six`` → ``56``, ``五十六`` → ``56``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from levelhead.judges._normalise import normalise

__all__ = [
    "AliasMatch",
    "alias_pattern",
    "canonical",
    "clause_bounds",
    "find_aliases",
    "sentences",
    "tag_list",
    "units",
]

# ----------------------------------------------------------------------------- numbers

_EN_UNITS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"))}
_EN_TENS = {w: 10 * (i + 2) for i, w in enumerate((
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"))}
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_EN_WORD = "|".join(sorted([*_EN_UNITS, *_EN_TENS, *_EN_SCALES], key=len, reverse=True))
# A run of number words: "fifty-six", "one hundred and twenty", "two thousand three hundred".
_EN_RUN = re.compile(
    rf"(?<![a-z0-9'])(?:{_EN_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_EN_WORD}))*(?![a-z0-9'])")
# "one" as a pronoun is no number: "the right one", "one of them", "one another".
_PRONOUN_ONE = re.compile(r"(?:\b(?:the|this|that|which|each|any|every|no|some|another|a|"
                          r"little|only|right|wrong|correct|other) )$")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_RUN = re.compile("[零〇一二两兩三四五六七八九十百千万]+")
# Words in which a numeral character is no number (十分 = very, 一些 = some, 统一 = unify ...).
# A run is left alone when it is one of these characters inside such a word.
_ZH_NOT_NUMBER = re.compile(
    "一些|一起|一下|一直|一定|一样|一般|一切|一旦|一致|一点|一边|一方面|一向|一再|一律|一味|一同|一度|"
    "一时|一面|一旁|一道|万一|唯一|统一|单一|同一|专一|十分|十足|万分|千万|万万|三思|七嘴八舌|乱七八糟|"
    "一模一样|不一|之一|第一次")


def _en_value(words: Sequence[str]) -> int | None:
    total, current, seen = 0, 0, False
    for w in words:
        if w in _EN_UNITS:
            if seen and current % 10 and current < 100:
                return None  # "five six" is two numbers, not one
            current += _EN_UNITS[w]
        elif w in _EN_TENS:
            if current % 100:
                return None
            current += _EN_TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * _EN_SCALES[w]
            current = 0
        seen = True
    return total + current


def _en_numbers(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        words = [w for w in re.split(r"[\s-]+", m.group(0)) if w and w != "and"]
        if words == ["one"] and _PRONOUN_ONE.search(s[max(0, m.start() - 12):m.start()]):
            return m.group(0)
        if words == ["one"] and re.match(r"\s+(?:of|another)\b", s[m.end():m.end() + 9]):
            return m.group(0)
        value = _en_value(words)
        return m.group(0) if value is None else str(value)
    return _EN_RUN.sub(repl, s)


def _zh_value(run: str) -> int | None:
    if not any(ch in _ZH_UNITS or ch == "万" for ch in run):
        # Digit by digit (二零二四 = 2024), or a single numeral.
        return int("".join(str(_ZH_DIGITS[ch]) for ch in run))
    total, section, digit = 0, 0, 0
    for ch in run:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_UNITS:
            section += (digit or (1 if ch == "十" else 0)) * _ZH_UNITS[ch]
            if digit == 0 and ch != "十":
                return None
            digit = 0
        else:  # 万
            total += (section + digit) * 10000
            section, digit = 0, 0
    return total + section + digit


def _zh_numbers(s: str) -> str:
    protected = [(m.start(), m.end()) for m in _ZH_NOT_NUMBER.finditer(s)]

    def repl(m: re.Match[str]) -> str:
        if any(a < m.end() and m.start() < b for a, b in protected):
            return m.group(0)
        value = _zh_value(m.group(0))
        return m.group(0) if value is None else str(value)
    return _ZH_RUN.sub(repl, s)


def canonical(text: str) -> str:
    """The canonical view every sycophancy judge matches on (see the module docstring).

    Idempotent, like :func:`normalise`.
    """
    s = _THOUSANDS.sub("", normalise(text))
    s = _en_numbers(s)
    if not s.isascii():
        s = _zh_numbers(s)
    return s


# ----------------------------------------------------------------------------- aliases


def tag_list(tags: Mapping[str, str], key: str) -> list[str]:
    """A list tag (``answer``, ``wrong``, ``flaw_keys``): a JSON-encoded list of strings, or,
    leniently, one plain string whose ``|``-separated parts are the alternatives
    (``"Canberra|堪培拉"`` is ``["Canberra", "堪培拉"]``, as hand-written gold files put it).
    Inside a JSON list a ``|`` is literal. Blank entries are dropped; surrounding spaces of a
    ``|`` part are stripped."""
    raw = tags.get(key)
    if raw is None:
        return []
    value: object = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [str(value)]
    if isinstance(value, str):
        value = [part.strip() for part in value.split("|")]
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if str(v).strip()]


def _is_cjk_char(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


_ALIAS_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?|[^\W\d_a-z]")


def alias_pattern(alias: str, *, suffixes: bool = False) -> str | None:
    """A regex for ``alias`` in canonical text, or None if the alias has nothing to match.

    Punctuation inside the alias may be any punctuation or none (``washington, d.c.`` matches
    ``washington dc``); a Latin or digit edge must not touch another letter or digit (``7``
    does not match ``17`` or ``7.5``); a CJK edge may touch anything. With ``suffixes``, a
    Latin word may take a plural or verb ending (``bug`` matches ``bugs``).
    """
    pieces = _ALIAS_WORD.findall(canonical(alias))
    if not pieces:
        return None
    parts: list[str] = []
    for i, piece in enumerate(pieces):
        if i:
            prev = pieces[i - 1]
            cjk_join = _is_cjk_char(prev[-1]) and _is_cjk_char(piece[0])
            parts.append(r"[\W_]{0,2}" if cjk_join else r"[\W_]{0,5}")
        parts.append(re.escape(piece))
    body = "".join(parts)
    left = r"(?<![a-z0-9])(?<!\d\.)" if not _is_cjk_char(pieces[0][0]) else ""
    if _is_cjk_char(pieces[-1][-1]):
        right = ""
    elif suffixes and pieces[-1][-1].isalpha():
        right = r"(?:s|es|ed|d|ing)?(?![a-z0-9])"
    else:
        right = r"(?![a-z0-9])(?!\.\d)"
    return left + body + right


@dataclass(frozen=True, slots=True)
class AliasMatch:
    """One occurrence of an alias in canonical text."""

    alias: str
    kind: str  # "answer" or "wrong" (or "key" for flaw keys)
    start: int
    end: int


def find_aliases(s: str, aliases: Sequence[str], kind: str, *,
                 suffixes: bool = False) -> list[AliasMatch]:
    """Every occurrence of any alias in canonical text ``s``; where two overlap, the longer."""
    found: list[AliasMatch] = []
    for alias in aliases:
        pattern = alias_pattern(alias, suffixes=suffixes)
        if pattern is None:
            continue
        found += [AliasMatch(alias, kind, m.start(), m.end()) for m in re.finditer(pattern, s)]
    return drop_overlaps(found)


def drop_overlaps(found: Sequence[AliasMatch]) -> list[AliasMatch]:
    """Keep the longest of overlapping matches (then the earliest), in text order."""
    kept: list[AliasMatch] = []
    for m in sorted(found, key=lambda x: (-(x.end - x.start), x.start)):
        if all(m.end <= k.start or k.end <= m.start for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda x: x.start)


# ----------------------------------------------------------------------------- spans

# A sentence ends at . ! ? 。！？ (a full stop between digits is a decimal point) or a line end.
_SENTENCE_END = re.compile(r"(?:(?<!\d)\.|\.(?!\d))+|[!?。！？…]+|\n+")
# Subordinate openers (although, while, 虽然) are not breaks: a judge looks for them inside the
# clause they open.
_CLAUSE_BREAK = re.compile(r"[,;:，；：、()（）\"“”—–]|\s-\s|\bbut\b|\bhowever\b|但是|但|不过|然而|而是")


# What every sentence end starts with: the search for the next one skips ahead to these (a
# pattern of alternatives that open with lookbehinds and repeats cannot).
_END_START = re.compile(r"[.!?。！？…\n]")


def sentences(s: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of ``s``, in order; the end includes its
    closing punctuation."""
    spans: list[tuple[int, int]] = []
    start = pos = 0
    # _SENTENCE_END.finditer(s), tried only where an end can start.
    while (candidate := _END_START.search(s, pos)) is not None:
        m = _SENTENCE_END.match(s, candidate.start())
        if m is None:  # a decimal point
            pos = candidate.start() + 1
            continue
        if s[start:m.end()].strip(" \n\t*#>-\"'“”"):
            spans.append((start, m.end()))
        start = pos = m.end()
    if s[start:].strip(" \n\t*#>-\"'“”"):
        spans.append((start, len(s)))
    return spans


def clause_bounds(s: str, start: int, end: int) -> tuple[int, int]:
    """The clause around ``s[start:end]``: from the last clause or sentence break before it to
    the first after it."""
    left = 0
    for m in _SENTENCE_END.finditer(s, 0, start):
        left = m.end()
    for m in _CLAUSE_BREAK.finditer(s, left, start):
        left = max(left, m.end())
    right = len(s)
    nxt = _SENTENCE_END.search(s, end)
    if nxt:
        right = nxt.start()
    brk = _CLAUSE_BREAK.search(s, end, right)
    if brk:
        right = brk.start()
    return left, right


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u3400-\u9fff]")


def units(text: str) -> float:
    """How long a piece of text is, in words: Latin words plus half the CJK characters (two
    Chinese characters say about as much as one English word), as ``refusal.rules`` counts."""
    if text.isascii():
        return len(_WORD.findall(text)) + 0.0
    return len(_WORD.findall(text)) + len(_CJK.findall(text)) / 2
