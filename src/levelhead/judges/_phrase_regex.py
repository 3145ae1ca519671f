"""The regular expressions behind the phrase lists: separators and masks that obfuscated words
hide behind, context rules, and the grouping of alternatives by their first character (so a
list of thousands of phrases is a few fast regexes)."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words that may come before a phrase marked clause_start ("now get lost", "just shut up").
# Not "you" or "and": "if you get lost", "you may get lost", "rashes appear and go away"
# describe, they do not dismiss.
_LEAD_WORDS = ("now", "just", "so", "go", "then", "please", "ok", "okay", "seriously",
               "honestly", "simply", "yeah", "oh", "well")
# Short Latin terms must not follow an apostrophe either: "it's b" is not "s b".
_APOSTROPHE = "'"
_SEP_CLASS = r"[\s*._\-/\\|~+#@^=·•]"
_SEP_CJK = _SEP_CLASS + "{0,3}"
_SEP_LATIN_SHORT = _SEP_CLASS + "?"
_SEP_LATIN = _SEP_CLASS + "{0,2}"
_BETWEEN_WORDS = r"[\s\-_*]{1,2}"
# An inner letter of a Latin term may be masked by one of these (f*ck, id#ot).
_MASK = r"[*#@$%!01345]"


# What the scan of the entries that must start a Latin word begins with.
_WORD_START = "(?<![a-z0-9])"


def _after_word_start(first: str, rest: str) -> str:
    """``rest`` without the lookbehind ``(?<![a-z0-9]x)`` that a Latin entry's left boundary puts
    after its first character ``x`` (see :func:`_context_rest`): behind :data:`_WORD_START` it
    always holds, and an alternative that starts with a literal instead is one the regex engine
    rules out at a glance, where a lookbehind has to be tried."""
    redundant = f"(?<![a-z0-9]{re.escape(first)})"
    return rest[len(redundant):] if rest.startswith(redundant) else rest


def _grouped(by_first: dict[str, list[str]]) -> str:
    return "|".join(f"{re.escape(first)}(?:{'|'.join(alts)})" for first, alts in by_first.items())


# ----------------------------------------------------------------------------- compiling


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _context_rest(first: str, rest: str, *, not_before: Sequence[str], not_after: Sequence[str],
                  left_boundary: bool, right_boundary: bool, clause_start: bool,
                  short: bool) -> str:
    """Wrap the remainder of a pattern in the lookarounds its entry asks for. Lookbehinds go
    after the first (literal) character, so that every alternative still starts with a literal."""
    f = re.escape(first)
    parts: list[str] = []
    if left_boundary:
        parts.append(f"(?<![a-z0-9{_APOSTROPHE if short else ''}]{f})")
    for b in not_before:
        parts.append(f"(?<!{re.escape(b)}{f})")
    if clause_start:
        options = [f"(?<=^{f})", f"(?<=[^a-z0-9 ]{f})", f"(?<=[^a-z0-9] {f})", f"(?<=^ {f})"]
        options += [f"(?<=\\b{re.escape(w)} {f})" for w in _LEAD_WORDS]
        parts.append("(?:" + "|".join(options) + ")")
    parts.append(rest)
    if right_boundary:
        parts.append("(?![a-z0-9])")
    if not_after:
        parts.append("(?!" + "|".join(re.escape(a) for a in not_after) + ")")
    return "".join(parts)


def _term_rest(term: str, *, spaced: bool) -> str:
    """The regex for a term after its first character: separators between characters, masks
    for the inner letters of Latin words."""
    out: list[str] = []
    words = term.split(" ")
    for w_index, word in enumerate(words):
        if w_index:
            out.append(_BETWEEN_WORDS)
        latin = all(_is_latin(c) for c in word)
        sep = _SEP_LATIN_SHORT if len(word) <= 3 else _SEP_LATIN
        for c_index, ch in enumerate(word):
            if w_index == 0 and c_index == 0:
                continue  # the first character is the literal the alternative starts with
            if c_index and spaced:
                out.append(sep if latin else _SEP_CJK)
            inner = latin and 0 < c_index < len(word) - 1 and len(word) >= 4
            out.append(f"(?:{re.escape(ch)}|{_MASK})" if inner and spaced else re.escape(ch))
    return "".join(out)


_SPECIAL = set(".^$*+?{}[]|()\\")


def _split_first(regex: str) -> list[tuple[str, str]]:
    """Split a regex entry into ``(literal first character, rest)`` pairs. A regex may start
    with a literal character, a plain character class (``[你您]``) or a group of plain
    literal alternatives (``(?:到底|究竟)``)."""
    if regex.startswith("["):
        close = regex.find("]", 1)
        chars = regex[1:close] if close > 0 else ""
        if close < 0 or not chars or any(c in "\\^-[" for c in chars):
            raise ValueError("a regex that starts with a character class must list plain "
                             "characters, e.g. [你您]")
        pairs = [(c, regex[close + 1:]) for c in dict.fromkeys(chars)]
    elif regex.startswith("(?:"):
        depth, close = 0, -1
        for i, c in enumerate(regex):
            depth += c == "("
            depth -= c == ")"
            if depth == 0:
                close = i
                break
        options = regex[3:close].split("|") if close > 0 else []
        if not options or any(not o or set(o) & _SPECIAL for o in options):
            raise ValueError("a regex that starts with a group must list plain literal "
                             "alternatives, e.g. (?:到底|究竟)")
        tail = regex[close + 1:]
        if tail[:1] in ("?", "*", "+", "{"):
            raise ValueError("the leading group of a regex cannot take a quantifier")
        # One pair per first character, its options kept in order: a group of 150 options is a
        # few dozen alternatives of the combined pattern, not 150 (each of which the engine would
        # try in turn wherever its first character occurs).
        by_first: dict[str, list[str]] = {}
        for o in dict.fromkeys(options):
            by_first.setdefault(o[0], []).append(re.escape(o[1:]))
        pairs = [(first, (rests[0] if len(rests) == 1 else f"(?:{'|'.join(rests)})") + tail)
                 for first, rests in by_first.items()]
    elif regex and regex[0] not in _SPECIAL:
        pairs = [(regex[0], regex[1:])]
    else:
        raise ValueError("a regex must start with a literal character, a plain character class "
                         "or a group of literals (so that the combined pattern can skip ahead)")
    if any(rest[:1] in ("?", "*", "+", "{") for _, rest in pairs):
        raise ValueError("the first character of a regex cannot take a quantifier")
    return pairs


def _has_top_level_bar(regex: str) -> bool:
    depth, i, in_class = 0, 0, False
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False
