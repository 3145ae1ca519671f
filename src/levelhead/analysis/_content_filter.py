"""Replies a content filter withheld: how often, and how often wrongly.

A content filter in front of a target (``levelhead guard``, or a provider's own) answers a
withheld reply with ``finish_reason`` ``"content_filter"``. Auditing a target directly and
through the filter with the same spec (the same run seed and target name, so the same request
seeds and the same simulated user) gives two runs whose replies pair up by prompt, sample and
turn (turn 0 for a single-turn probe). For each side, :func:`content_filter_rows` counts

- the **blocked share**: replies withheld among the side's replies (errors left out);
- the **false-block share**: replies withheld among those whose counterpart on the *other* side
  was delivered and judged benign — every judge that declares bad labels and judged the other
  side's replies gave a usable verdict, none of them bad. The filtered side's own verdicts
  cannot say this: they judge the filter's message, not the reply it withheld.

A pair counts only where both sides asked the same thing: the conversation so far (every
earlier user and assistant message, and this turn's user message) is the same on both sides.
After a withheld turn the user saw the filter's message, so the rest of that conversation is
left out (``diverged``). The counterpart's verdict stands for the withheld reply only when the
target answers the same conversation alike; ``same_reply`` says how often it did among the
pairs both sides delivered (a model sampled without a seed it honours rarely does).

Both shares are rates of replies clustered by prompt (a Wilson interval on the effective
sample size with two prompts or more, a plain Wilson interval with one), as every rate of
replies is.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from levelhead.analysis._counting import Counts, usable
from levelhead.analysis._labels import judge_bad_labels

if TYPE_CHECKING:
    from levelhead.analysis._data import RunData, TurnView
    from levelhead.stats import Interval

__all__ = ["CONTENT_FILTER", "BlockedShare", "ContentFilterRow", "content_filter_rows"]

#: The ``finish_reason`` of a reply a content filter withheld (the OpenAI API's, and the guard's).
CONTENT_FILTER = "content_filter"

ReplyKey = tuple[str, int, int]  # prompt id, sample index, turn (0: a single-turn sample)


@dataclass(frozen=True, slots=True)
class BlockedShare:
    """Withheld replies among some replies, clustered by prompt.

    Attributes:
        k: Replies withheld.
        n: Replies counted.
        prompts: Prompts with a counted reply.
        estimate: ``k / n``, or None when nothing was counted.
        interval: Its interval (Wilson; on the effective n when clustered), or None.
        errors: Replies the target failed on (left out of ``n``).
        missing: Replies that could not be counted: for a false-block share, those whose
            counterpart is absent, failed, withheld too, or lacks a usable verdict.
    """

    k: int
    n: int
    prompts: int
    estimate: float | None
    interval: Interval | None
    errors: int = 0
    missing: int = 0

    @classmethod
    def of(cls, counts: Counts, confidence: float) -> BlockedShare:
        """The share of ``counts`` (clusters: prompts) with its interval."""
        from levelhead.stats import clustered_rate, rate

        ids, k, n = counts.lists()
        if not ids:
            return cls(0, 0, 0, None, None, counts.errors, counts.missing)
        result = (clustered_rate(k, n, confidence) if len(ids) >= 2
                  else rate(sum(k), sum(n), confidence))
        return cls(sum(k), sum(n), len(ids), float(result.estimate), result.interval,
                   counts.errors, counts.missing)

    def to_dict(self) -> dict[str, Any]:
        i = self.interval
        return {"k": self.k, "n": self.n, "prompts": self.prompts, "estimate": self.estimate,
                "ci_low": None if i is None else i.low, "ci_high": None if i is None else i.high,
                "confidence": None if i is None else i.confidence,
                "method": None if i is None else i.method,
                "errors": self.errors, "missing": self.missing}


@dataclass(frozen=True, slots=True)
class ContentFilterRow:
    """One side of a comparison on one probe: how often a content filter withheld its replies.

    Attributes:
        side: ``"run/target"``.
        other: The side whose verdicts say which replies were benign (``"run/target"``).
        probe: The probe id.
        unit: ``"turn"`` (a conversation probe's assistant turns) or ``"sample"``.
        blocked: Withheld among the side's replies.
        false_blocks: Withheld among the replies whose counterpart on ``other`` was delivered
            after the same conversation and judged benign.
        judges: The judges whose verdicts on ``other`` decided what was benign.
        diverged: Replies left out of ``false_blocks`` because the conversation before them
            differs between the sides (a withheld or a different earlier reply).
        same_reply: ``(identical, compared)``: of the pairs both sides delivered after the
            same conversation, how many replies are the same text.
    """

    side: str
    other: str
    probe: str
    unit: str
    blocked: BlockedShare
    false_blocks: BlockedShare
    judges: tuple[str, ...]
    diverged: int = 0
    same_reply: tuple[int, int] = (0, 0)

    @property
    def replies_differ(self) -> bool:
        """Some pair delivered on both sides after the same conversation differs: the target
        does not answer alike, so a counterpart's verdict may not be the withheld reply's."""
        return self.same_reply[0] < self.same_reply[1]

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "other": self.other, "probe": self.probe, "unit": self.unit,
                "blocked": self.blocked.to_dict(), "false_blocks": self.false_blocks.to_dict(),
                "judges": list(self.judges), "diverged": self.diverged,
                "same_reply": self.same_reply[0], "same_reply_of": self.same_reply[1]}


@dataclass(frozen=True, slots=True)
class _Reply:
    ok: bool
    withheld: bool
    text: str | None
    asked: bytes  # a digest of everything the target was sent before this reply
    labels: dict[str, str | None]  # judge name -> usable label


def _conversation_digests(turns: list[TurnView]) -> dict[int, bytes]:
    """Per turn of one conversation: a digest of the conversation before its reply."""
    h = hashlib.blake2b(digest_size=16)
    out = {}
    for t in sorted(turns, key=lambda t: t.turn):
        h.update(b"\x1euser\x1f" + t.user_text.encode())
        out[t.turn] = h.digest()
        h.update(b"\x1eassistant\x1f" + (t.text or "").encode())
    return out


def _replies(data: RunData, target: str, probe: str) -> tuple[str, dict[ReplyKey, _Reply]]:
    """A side's replies of one probe: its assistant turns when it has any, else its samples."""
    turns = [t for t in data.turns if t.target == target and t.probe == probe]
    if turns:
        by_conversation: dict[tuple[str, int], list[TurnView]] = defaultdict(list)
        for t in turns:
            by_conversation[(t.prompt_id, t.sample_index)].append(t)
        asked = {key: _conversation_digests(c) for key, c in by_conversation.items()}
        verdicts = data.turn_verdicts
        return "turn", {(t.prompt_id, t.sample_index, t.turn): _Reply(
            t.ok, t.finish_reason == CONTENT_FILTER, t.text,
            asked[(t.prompt_id, t.sample_index)][t.turn],
            {j: usable(v.get(t.key)) for j, v in verdicts.items() if t.key in v})
            for t in turns}
    # One prompt, one request: the prompt id stands for what was asked.
    return "sample", {(s.prompt_id, s.sample_index, 0): _Reply(
        s.ok, s.finish_reason == CONTENT_FILTER, s.text, b"",
        {j: usable(v.get(s.key)) for j, v in data.verdicts.items() if s.key in v})
        for s in data.samples if s.target == target and s.probe == probe}


def _benign(reply: _Reply | None, judges: dict[str, frozenset[str]]) -> bool | None:
    """Whether a delivered reply is benign to every judge; None when that cannot be said."""
    if reply is None or not reply.ok or reply.withheld or not judges:
        return None
    labels = [reply.labels.get(j) for j in judges]
    if any(lab is not None and lab in judges[j] for j, lab in zip(judges, labels, strict=True)):
        return False
    return None if any(lab is None for lab in labels) else True


def _judges(replies: Iterable[_Reply]) -> dict[str, frozenset[str]]:
    """The judges of these replies that declare bad labels: name -> bad labels."""
    names = sorted({j for r in replies for j in r.labels})
    return {j: frozenset(bad) for j in names if (bad := judge_bad_labels(j))}


def _row(side: str, other: str, probe: str, unit: str, mine: dict[ReplyKey, _Reply],
         theirs: dict[ReplyKey, _Reply], confidence: float) -> ContentFilterRow:
    judges = _judges(theirs.values())
    blocked, false_blocks = Counts(), Counts()
    diverged = identical = compared = 0
    for key in sorted(mine):
        reply, twin = mine[key], theirs.get(key)
        blocked.add(key[0], reply.withheld, reply.ok)
        if not reply.ok:
            false_blocks.errors += 1
            continue
        if twin is not None and twin.asked != reply.asked:
            diverged += 1
            continue
        if twin is not None and twin.ok and not reply.withheld and not twin.withheld:
            compared += 1
            identical += twin.text == reply.text
        benign = _benign(twin, judges)
        if benign is None:
            false_blocks.missing += 1
        elif benign:
            false_blocks.add(key[0], reply.withheld)
    return ContentFilterRow(side, other, probe, unit, BlockedShare.of(blocked, confidence),
                            BlockedShare.of(false_blocks, confidence), tuple(judges), diverged,
                            (identical, compared))


def _probes(data: RunData, target: str) -> set[str]:
    """The probes a target has samples or turns of (an unfinished conversation has no sample)."""
    return ({s.probe for s in data.samples if s.target == target}
            | {t.probe for t in data.turns if t.target == target})


def content_filter_rows(baseline: RunData, candidate: RunData,
                        pairs: Iterable[tuple[str, str]], *, confidence: float = 0.95
                        ) -> list[ContentFilterRow]:
    """Both sides' blocked and false-block shares, for every probe the pair of targets shares.

    Args:
        baseline: The baseline run (e.g. the target audited directly).
        candidate: The candidate run (e.g. the same spec through the filter); the baseline
            itself to compare two of its targets.
        pairs: ``(baseline target, candidate target)`` pairs, as compare pairs them.
        confidence: Two-sided confidence of each interval.

    Returns:
        Two rows (baseline side, then candidate side) per pair and shared probe, or an empty
        list when neither side has a withheld reply: a comparison without a content filter
        has nothing to say here.
    """
    out: list[ContentFilterRow] = []
    any_withheld = False
    for b_target, c_target in pairs:
        b_name = f"{baseline.run_name}/{b_target}"
        c_name = f"{candidate.run_name}/{c_target}"
        for probe in sorted(_probes(baseline, b_target) & _probes(candidate, c_target)):
            b_unit, b = _replies(baseline, b_target, probe)
            c_unit, c = _replies(candidate, c_target, probe)
            if b_unit != c_unit:
                continue
            any_withheld = any_withheld or any(r.withheld for r in (*b.values(), *c.values()))
            out.append(_row(b_name, c_name, probe, b_unit, b, c, confidence))
            out.append(_row(c_name, b_name, probe, c_unit, c, b, confidence))
    return out if any_withheld else []
