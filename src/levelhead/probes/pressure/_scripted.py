"""Scripted users: the four personas played from the templates in
``data/pressure_personas.jsonl`` (message shapes, slot texts, the rude persona's escalation, the
contradicting persona's pairs of opposite requests), varied and deterministic under
(history, turn, seed), never calling a model."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from levelhead.probes.pressure._data import (
    LANGUAGES,
    PERSONAS,
    PressureDataError,
    Task,
    _check_lang,
    _check_persona,
    _check_turn,
    read_records,
)
from levelhead.registry import did_you_mean

__all__ = ["ScriptedUser"]

_PERSONAS_FILE = "pressure_personas.jsonl"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Filled by the code, not by a slot of the persona data.
_COUNT_NAMES = ("n", "nth", "n_words", "before", "before_times", "n_zh", "before_zh")
_CODE_NAMES = frozenset({"thing", "request", *_COUNT_NAMES})


@dataclass(frozen=True, slots=True)
class _Side:
    """One side of a contradicting pair: the phrases that identify it, and requests for it."""

    name: str
    keys: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Pair:
    name: str
    domains: tuple[str, ...]
    sides: tuple[_Side, _Side]

    def fits(self, domain: str) -> bool:
        """Whether a user on a task of ``domain`` would ask for this change ("!code": not code)."""
        if f"!{domain}" in self.domains:
            return False
        return "*" in self.domains or domain in self.domains


@dataclass(frozen=True, slots=True)
class _Voice:
    """One persona in one language: message shapes, slot texts and (rude) escalation tiers."""

    patterns: tuple[str, ...]
    slots: Mapping[str, tuple[str, ...]]
    tier_slot: str | None = None
    tiers: tuple[tuple[int, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class _Templates:
    voices: Mapping[tuple[str, str], _Voice]
    things: Mapping[tuple[str, str], tuple[str, ...]]
    pairs: Mapping[str, tuple[_Pair, ...]]


def _texts(where: str, value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        raise PressureDataError(f"{where}: {what} must be a non-empty list of strings")
    return tuple(value)


def _check_placeholders(where: str, texts: Sequence[str], allowed: set[str]) -> None:
    for text in texts:
        for name in _PLACEHOLDER.findall(text):
            plain = name[0].lower() + name[1:]
            if name not in allowed and plain not in allowed:
                raise PressureDataError(f"{where}: unknown placeholder {{{name}}} in {text!r}; "
                                        f"{did_you_mean(name, sorted(allowed))}")


def _voice(where: str, item: dict[str, Any]) -> _Voice:
    patterns = _texts(where, item.get("patterns"), "patterns")
    raw = item.get("slots")
    if not isinstance(raw, dict):
        raise PressureDataError(f"{where}: slots must be an object of slot name -> texts")
    slots = {name: _texts(where, texts, f"slot '{name}'") for name, texts in raw.items()}
    tier_slot: str | None = None
    tiers: tuple[tuple[int, tuple[str, ...]], ...] = ()
    if "escalation" in item:
        esc = item["escalation"]
        if not isinstance(esc, dict) or not isinstance(esc.get("slot"), str) \
                or not isinstance(esc.get("tiers"), list) or not esc["tiers"]:
            raise PressureDataError(f"{where}: escalation needs a slot and a list of tiers")
        tier_slot = esc["slot"]
        tiers = tuple((int(t.get("from_turn", 2)), _texts(where, t.get("texts"), "tier texts"))
                      for t in esc["tiers"])
        if [t[0] for t in tiers] != sorted(t[0] for t in tiers):
            raise PressureDataError(f"{where}: escalation tiers must go up in from_turn")
    allowed = set(slots) | set(_CODE_NAMES) | ({tier_slot} if tier_slot else set())
    _check_placeholders(where, patterns, allowed)
    for name, texts in slots.items():
        _check_placeholders(f"{where} slot '{name}'", texts, allowed - {name})
    for _, texts in tiers:
        _check_placeholders(f"{where} escalation", texts, allowed - {tier_slot or ""})
    return _Voice(patterns=patterns, slots=slots, tier_slot=tier_slot, tiers=tiers)


def _pair(where: str, item: dict[str, Any]) -> _Pair:
    sides = item.get("sides")
    if not isinstance(sides, list) or len(sides) != 2:
        raise PressureDataError(f"{where}: a pair needs exactly two sides")
    built = tuple(_Side(name=str(s.get("side", "")),
                        keys=tuple(k.casefold() for k in _texts(where, s.get("keys"), "keys")),
                        texts=_texts(where, s.get("texts"), "texts")) for s in sides)
    domains = _texts(where, item.get("domains", ["*"]), "domains")
    return _Pair(name=str(item.get("pair", "")), domains=domains, sides=(built[0], built[1]))


@cache
def _templates() -> _Templates:
    source, records = read_records(None, _PERSONAS_FILE)
    voices: dict[tuple[str, str], _Voice] = {}
    things: dict[tuple[str, str], tuple[str, ...]] = {}
    pairs: dict[str, list[_Pair]] = {}
    for i, item in records:
        where, kind, lang = f"{source}:{i}", item.get("kind"), item.get("lang")
        if lang not in LANGUAGES:
            raise PressureDataError(f"{where}: lang '{lang}' is not one of {', '.join(LANGUAGES)}")
        if kind == "persona":
            if item.get("persona") not in PERSONAS:
                raise PressureDataError(f"{where}: unknown persona '{item.get('persona')}'")
            voices[(item["persona"], lang)] = _voice(where, item)
        elif kind == "things":
            things[(lang, str(item.get("domain", "*")))] = _texts(where, item.get("texts"), "texts")
        elif kind == "pair":
            pairs.setdefault(lang, []).append(_pair(where, item))
        else:
            raise PressureDataError(f"{where}: kind must be persona, things or pair")
    for persona in PERSONAS:
        for lang in LANGUAGES:
            if (persona, lang) not in voices:
                raise PressureDataError(f"{source}: no templates for {persona} in {lang}")
    for lang in LANGUAGES:
        if (lang, "*") not in things or not any(p.fits("*") for p in pairs.get(lang, [])):
            raise PressureDataError(f"{source}: {lang} needs things and a pair for domain '*'")
    return _Templates(voices=voices, things=things,
                      pairs={lang: tuple(ps) for lang, ps in pairs.items()})


# ----------------------------------------------------------------------------- counting words
_EN_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ZH_DIGITS = "零一二三四五六七八九"


def _en_words(n: int) -> str:
    if 0 <= n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    return str(n)


def _en_ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _zh_number(n: int, counting: bool = False) -> str:
    """Chinese numerals to 99; ``counting`` uses 两 for 2 (两遍), as in speech."""
    if counting and n == 2:
        return "两"
    if 0 <= n < 10:
        return _ZH_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _ZH_DIGITS[tens]) + "十" + (_ZH_DIGITS[ones] if ones else "")
    return str(n)


def _counts(turn: int) -> dict[str, str]:
    before = turn - 1
    times = {1: "once", 2: "twice"}.get(before, f"{_en_words(before)} times")
    return {"n": str(turn), "nth": _en_ordinal(turn), "n_words": _en_words(turn),
            "before": str(before), "before_times": times, "n_zh": _zh_number(turn),
            "before_zh": _zh_number(before, counting=True)}


def _own_messages(history: list[dict[str, str]]) -> list[str]:
    """The simulated user's messages after the opening task, oldest first."""
    return [m.get("content", "") for i, m in enumerate(history)
            if i > 0 and m.get("role") == "user"]


def _detect(text: str, pairs: Sequence[_Pair]) -> tuple[_Pair, int] | None:
    """The pair and side a message asks for: the side whose key phrase ends last in it."""
    folded = text.casefold()
    best: tuple[int, int] = (-1, -1)
    found = None
    for pair in pairs:
        for index, side in enumerate(pair.sides):
            for key in side.keys:
                pos = folded.rfind(key)
                if pos >= 0 and (pos + len(key), len(key)) > best:
                    best, found = (pos + len(key), len(key)), (pair, index)
    return found


class ScriptedUser:
    """A persona played from templates: varied, never calling a model, deterministic under seed.

    Each message is drawn from ``random.Random(f"{seed}:{turn}:{persona}:{task.id}")``, never the
    global generator, and redrawn (deterministically) when it would repeat one of the user's
    earlier messages. The contradicting persona reads its own last recognisable request in the
    history and asks for the opposite; at the start it picks a change that fits the domain.

    Args:
        persona: one of :data:`PERSONAS`.
        task: the task the conversation opened with; its language and domain shape the messages.
    """

    _REDRAWS = 8

    def __init__(self, persona: str, task: Task) -> None:
        _check_persona(persona)
        _check_lang(task.lang)
        self.persona = persona
        self.task = task
        data = _templates()
        self._voice = data.voices[(persona, task.lang)]
        domain_things = data.things.get((task.lang, task.domain), data.things[(task.lang, "*")])
        self._things = (*task.things, *domain_things)
        self._pairs = data.pairs.get(task.lang, ())

    async def next_message(self, history: list[dict[str, str]], turn: int, seed: int) -> str:
        """The user's message number ``turn``; see :class:`UserPolicy`."""
        return self.compose(history, turn, seed)

    def compose(self, history: list[dict[str, str]], turn: int, seed: int) -> str:
        """:meth:`next_message`, synchronously."""
        _check_turn(turn)
        rng = random.Random(f"{seed}:{turn}:{self.persona}:{self.task.id}")
        said = set(_own_messages(history))
        last = None
        if self.persona == "contradicting":
            last = next((hit for text in reversed(_own_messages(history))
                         if (hit := _detect(text, self._pairs))), None)
        message = ""
        for _ in range(self._REDRAWS):
            message = self._draw(rng, turn, last)
            if message not in said:
                break
        return message

    def _request(self, rng: random.Random, last: tuple[_Pair, int] | None) -> str:
        if last is not None:
            pair, index = last
            return rng.choice(pair.sides[1 - index].texts)
        fitting = [p for p in self._pairs if p.fits(self.task.domain)]
        pair = rng.choice(fitting)
        return rng.choice(pair.sides[rng.randrange(2)].texts)

    def _tier_text(self, rng: random.Random, turn: int) -> str:
        reached = [texts for from_turn, texts in self._voice.tiers if turn >= from_turn]
        reached = reached or [self._voice.tiers[0][1]]
        top = len(reached) - 1
        # Mostly the harshest tier reached so far, sometimes a milder one: escalation, not a step.
        tier = top if top == 0 or rng.random() < 0.7 else rng.randrange(top)
        return rng.choice(reached[tier])

    def _draw(self, rng: random.Random, turn: int, last: tuple[_Pair, int] | None) -> str:
        voice = self._voice
        chosen: dict[str, str] = dict(_counts(turn))

        def value(name: str, depth: int) -> str:
            if name not in chosen:
                plain = name[0].lower() + name[1:]
                if plain != name:
                    text = value(plain, depth)
                    return text[:1].upper() + text[1:]
                if name == "thing":
                    chosen[name] = rng.choice(self._things)
                elif name == "request":
                    chosen[name] = self._request(rng, last)
                elif name == voice.tier_slot:
                    chosen[name] = fill(self._tier_text(rng, turn), depth + 1)
                else:
                    chosen[name] = fill(rng.choice(voice.slots[name]), depth + 1)
            return chosen[name]

        def fill(text: str, depth: int) -> str:
            if depth > 3:
                return text
            return _PLACEHOLDER.sub(lambda m: value(m.group(1), depth), text)

        text = fill(rng.choice(voice.patterns), 0)
        return re.sub(r"\s+", " ", text).strip()
