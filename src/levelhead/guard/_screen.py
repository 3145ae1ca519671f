"""Screening a reply: run every rule's judge on the text, and decide what reaches the user.

The strongest action wins: ``block`` over ``redact`` over ``flag``. A judge that raises, times
out or gives :data:`~levelhead.judges.JUDGE_ERROR` is recorded as *not judged* (never as passed)
and follows the policy's ``on_error``.

Redaction masks each matched span with ``*``, one per character, so the text keeps its length
(a stream can then send the redacted slice of what it holds back). The spans come from the
verdict's ``extra['matches']`` (``abuse.lexicon`` gives them): their positions are in the
*normalised* text, which can differ in length from the reply, so each match's text is found
again in the reply, case-insensitively, rather than trusted by position. When the redacted text
still trips the rule (a spelling the search did not find) or the judge gives no matches, the
reply is blocked instead: a redact rule never lets a trigger through.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from levelhead.guard._policy import GuardPolicy, GuardRule
from levelhead.judges import JUDGE_ERROR, Judge, JudgeInput, PairJudge, build_judge
from levelhead.judges._normalise import detect_language
from levelhead.store import GuardFinding

__all__ = ["Decision", "Finding", "Screen"]

Action = Literal["pass", "flag", "redact", "block"]
_RANK = {"pass": 0, "flag": 1, "redact": 2, "block": 3}


#: What one rule's judge said: its label (None when it could not judge), the rule's action, and
#: why it could not judge; the very record the store keeps of it.
Finding = GuardFinding


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one reply: the action, the text to send, and every rule's finding."""

    action: Action
    text: str
    findings: tuple[Finding, ...]

    @property
    def judged(self) -> bool:
        """False when any judge could not give a verdict."""
        return all(f.label is not None for f in self.findings)


def _mask(text: str, terms: Sequence[str]) -> str:
    for term in sorted({t for t in terms if t.strip()}, key=len, reverse=True):
        text = re.sub(re.escape(term), lambda m: "*" * len(m.group(0)), text, flags=re.IGNORECASE)
    return text


class Screen:
    """The judges of a policy, built once and shared by every request."""

    def __init__(self, policy: GuardPolicy) -> None:
        self.policy = policy
        self._judges: list[tuple[GuardRule, Judge]] = []
        for rule in policy.rules:
            built = build_judge(rule.judge)
            if isinstance(built, PairJudge):
                raise TypeError(f"{rule.judge.name} judges pairs of samples; a guard judges one reply")
            self._judges.append((rule, built))

    async def close(self) -> None:
        """Release what the judges hold (an LLM judge's connections)."""
        for _, j in self._judges:
            await j.close()

    def language(self, reply: str, messages: Sequence[Mapping[str, str]]) -> str:
        """The user's language: of the last user message, else of the reply."""
        for m in reversed(messages):
            if m.get("role") == "user" and isinstance(m.get("content"), str) and m["content"].strip():
                return detect_language(m["content"])
        return detect_language(reply)

    async def _verdict(self, j: Judge, item: JudgeInput) -> tuple[str | None, list[str], str | None]:
        try:
            # asyncio.timeout: no task of its own per call, as wait_for would make.
            async with asyncio.timeout(self.policy.judge_timeout_s):
                v = await j.judge(item)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return None, [], "timed out"
        except Exception as exc:  # a failing judge is recorded, never crashes the proxy
            return None, [], type(exc).__name__
        if v.label == JUDGE_ERROR:
            # Not the rationale: a judge model's error can quote the reply, which is recorded
            # only where the policy keeps text.
            return None, [], JUDGE_ERROR
        matches = (v.extra or {}).get("matches") or []
        terms = [str(m["matched"]) for m in matches if isinstance(m, dict) and m.get("matched")]
        return v.label, terms, None

    async def _run(self, text: str, messages: Sequence[Mapping[str, str]]
                   ) -> list[tuple[GuardRule, Finding, list[str]]]:
        item = JudgeInput(id="guard", text=text, messages=tuple(messages))
        out = []
        for rule, j in self._judges:
            label, terms, error = await self._verdict(j, item)
            if label is None:
                action: Action = "block" if self.policy.on_error == "block" else "pass"
            else:
                action = rule.action if label in rule.labels else "pass"
            out.append((rule, Finding(rule.judge.name, label, action, error), terms))
        return out

    async def decide(self, text: str, messages: Sequence[Mapping[str, str]] = ()) -> Decision:
        """Judge ``text`` (the reply so far) with every rule and decide what to send."""
        results = await self._run(text, messages)
        findings = tuple(f for _, f, _ in results)
        action = cast(Action, max((f.action for f in findings), key=_RANK.__getitem__,
                                  default="pass"))
        if action == "redact":
            terms = [t for _, f, ts in results if f.action == "redact" for t in ts]
            redacted = _mask(text, terms)
            again = await self._run(redacted, messages)
            if not terms or any(f.action in ("redact", "block") for _, f, _ in again):
                action = "block"
            else:
                return Decision("redact", redacted, findings)
        if action == "block":
            return Decision("block", self.policy.message_for(self.language(text, messages)),
                            findings)
        return Decision(action, text, findings)
