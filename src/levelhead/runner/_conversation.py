"""Multi-turn conversations: a simulated user talks to the target turn by turn.

A conversation probe (one with ``user_policy``) yields prompts whose messages are the opening
of a conversation. For each (target, prompt, sample index) the runner sends the conversation,
stores the assistant's turn the moment it arrives, judges it, asks the probe's user policy for
the next user message (it sees the conversation so far) and goes on, up to ``max_turns`` or the
first bad turn (``stop_on``). The target's context grows turn by turn exactly as in a chat.

Resuming: turns are stored one by one (table ``turns``), so a run killed in the middle of a
conversation continues from its last stored turn; the conversation's sample row is written when
it ends. The user policy is deterministic under the conversation's seed and the history, so a
resumed conversation goes on as it would have.

Cost: a conversation's prompt tokens grow with the square of its length (every turn resends
the history): see :func:`conversation_tokens`; ``[run] max_total_tokens`` caps a run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from levelhead.errors import redact
from levelhead.judges import Judge, JudgeInput, JudgeVerdict
from levelhead.records import conversation
from levelhead.runner._judging import JudgePlan, safe_verdict
from levelhead.store import SampleRow, StoredTurn, TurnRow, TurnVerdictRow
from levelhead.targets import TargetConfig

if TYPE_CHECKING:
    from levelhead.probes import ConversationProbe

__all__ = ["ConversationPlan", "UserStopped", "approx_tokens", "conversation_tokens",
           "cost_estimate"]


def approx_tokens(text: str) -> int:
    """A rough token count for cost estimates: one per CJK character, one per four others."""
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    return cjk + (len(text) - cjk + 3) // 4


def conversation_tokens(turns: int, system: float, user: float, reply: float) -> tuple[float, float]:
    """(prompt, completion) tokens of one conversation of ``turns`` assistant turns, with a
    system message of ``system`` tokens, user messages of ``user`` and replies of ``reply``.

    Turn t resends the system message, t user messages and t - 1 replies, so the prompt tokens
    add up to ``T*system + user*T(T+1)/2 + reply*T(T-1)/2``: quadratic in the turns.
    """
    t = turns
    return t * system + user * t * (t + 1) / 2 + reply * t * (t - 1) / 2, float(t * reply)


@dataclass
class Budget:
    """The run's cap on tokens (prompt + completion), counting turns stored before too."""

    limit: int | None
    spent: int = 0
    exhausted_noted: bool = False

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit


@dataclass
class ConversationPlan:
    """How one conversation probe's conversations run."""

    probe: ConversationProbe  # its user_policy(prompt, user_target) writes the user's turns
    max_turns: int
    judges: list[JudgePlan]
    stop_on: bool | Sequence[str]
    user_target: Any = None  # a started Target playing the user, or None (scripted users)
    budget: Budget = field(default_factory=lambda: Budget(None))

    def stops(self, labels: dict[str, str]) -> bool:
        """True when a turn with these labels (judge name -> label) ends the conversation."""
        if self.stop_on is False:
            return False
        names = None if self.stop_on is True else set(self.stop_on)
        for plan in self.judges:
            if names is not None and plan.name not in names:
                continue
            if labels.get(plan.name) in (plan.judge.bad_labels or ()):
                return True
        return False


class UserStopped(Exception):
    """The model that plays the simulated user cannot be reached: conversations wait for a
    resume (they are left unfinished, not stored as errors)."""


# The request function of the runner: (messages, seed) -> outcome with completions or failure.
Request = Callable[[list[dict[str, str]], int], Any]


def turn_seed(base: int, turn: int) -> int:
    """The seed of turn ``turn`` of a conversation whose sample seed is ``base``."""
    return (base * 1_000_003 + turn) & 0x7FFFFFFF


async def converse(*, plan: ConversationPlan, request: Request, put: Callable[[Any], None],
                   ids: tuple[int, int, int], names: tuple[str, str, str], k: int,
                   prompt: Any, system: str | None, base_seed: int,
                   stored: list[StoredTurn]) -> str:
    """Run (or resume) one conversation; returns how it ended: ``"ok"``, ``"error"`` (a
    failed turn or simulated user: an error sample is stored) or ``"unfinished"`` (the target
    stopped or the token budget ran out: a resume continues it)."""
    run_id, target_id, row_id = ids
    target_name, probe_id, prompt_key = names
    history: list[dict[str, str]] = [{"role": t.role, "content": t.content}
                                     for t in prompt.messages]
    generated: list[dict[str, str]] = []
    by_id = {p.judge_id: p.name for p in plan.judges}
    totals = {"prompt": 0, "completion": 0, "latency": 0, "attempts": 0}
    ended: str | None = None
    last_text: str | None = None
    turn = 0

    async def judge(text: str, turn_no: int, have: dict[str, str]) -> dict[str, str]:
        item = JudgeInput(id=f"{target_name}/{probe_id}/{prompt_key}/{k}/t{turn_no}", text=text,
                          messages=tuple(conversation(system, history)),
                          tags={**prompt.tags, "turn": str(turn_no)}, probe=probe_id,
                          prompt_id=prompt_key)
        labels = dict(have)
        for jp in plan.judges:
            if jp.name in labels:
                continue
            # A conversation's judges are single-sample judges (pair judges judge pairs).
            v: JudgeVerdict = await safe_verdict(jp.name, cast(Judge, jp.judge).judge(item))
            labels[jp.name] = v.label
            # Empty details (no match, no quote …) are left out: a turn verdict is stored
            # for every turn of every conversation.
            extra = {key: x for key, x in dict(v.extra or {}).items() if x not in ([], {}, (), None,
                                                                               False, "")}
            put(TurnVerdictRow(target_id, row_id, k, turn_no, jp.judge_id, v.label, v.score,
                               v.rationale, json.dumps(extra, ensure_ascii=False,
                                                       sort_keys=True) if extra else None,
                               int(time.time() * 1000), text))
        return labels

    # Turns stored before (a resumed conversation): replayed, judged where a verdict is missing.
    for st in stored:
        if st.turn != turn + 1:
            break
        if st.status != "ok":
            # The turn failed and the run stopped before its error sample was stored: the
            # conversation ends as that error (asking again would leave two answers to it).
            _end_error(put, ids, k, base_seed, totals, generated, f"turn {st.turn}: failed")
            return "error"
        turn = st.turn
        if turn > 1:
            history.append({"role": "user", "content": st.user_text})
            generated.append(history[-1])
        history.append({"role": "assistant", "content": st.text or ""})
        generated.append(history[-1])
        last_text = st.text
        totals["prompt"] += st.prompt_tokens or 0
        totals["completion"] += st.completion_tokens or 0
        labels = await judge(st.text or "", turn, {by_id[j]: lab for j, lab in st.labels.items()
                                                   if j in by_id and lab != "judge_error"})
        if plan.stops(labels):
            ended = "stop_on"
            break

    policy = plan.probe.user_policy(prompt, plan.user_target) if ended is None else None
    while ended is None and turn < plan.max_turns:
        if plan.budget.exhausted:
            return "unfinished"
        turn += 1
        if turn == 1:
            user_text = prompt.text
        else:
            assert policy is not None  # set above whenever the loop runs
            try:
                user_text = await policy.next_message(list(history), turn, base_seed)
            except UserStopped:
                return "unfinished"
            except Exception as exc:  # the simulated user failed for good: an error sample
                _end_error(put, ids, k, base_seed, totals, generated, redact(
                    f"the simulated user failed at turn {turn}: {type(exc).__name__}: {exc}"))
                return "error"
            history.append({"role": "user", "content": user_text})
        out = await request(conversation(system, history), turn_seed(base_seed, turn))
        if out.stopped:
            return "unfinished"
        now = int(time.time() * 1000)
        totals["attempts"] += out.attempts
        if out.error is None and not out.completions:
            out.error = "the target returned no reply"
        if out.error is not None:
            put(TurnRow(run_id, target_id, row_id, k, turn, user_text, "error", None, None, None,
                        None, None, out.error, turn_seed(base_seed, turn), out.attempts, now))
            _end_error(put, ids, k, base_seed, totals, generated,
                       f"turn {turn}: {out.error}")
            return "error"
        c = out.completions[0]
        ptok = c.prompt_tokens if c.prompt_tokens is not None else sum(
            approx_tokens(m["content"]) for m in history)
        ctok = c.completion_tokens if c.completion_tokens is not None else approx_tokens(c.text)
        plan.budget.spent += ptok + ctok
        totals["prompt"] += ptok
        totals["completion"] += ctok
        totals["latency"] += out.latency_ms or 0
        put(TurnRow(run_id, target_id, row_id, k, turn, user_text, "ok", c.text, out.latency_ms,
                    ptok, ctok, c.finish_reason, None, turn_seed(base_seed, turn), out.attempts,
                    now))
        if turn > 1:
            generated.append(history[-1])
        history.append({"role": "assistant", "content": c.text})
        generated.append(history[-1])
        last_text = c.text
        if plan.stops(await judge(c.text, turn, {})):
            ended = "stop_on"
    put(SampleRow(run_id, target_id, row_id, k, "ok", last_text,
                  json.dumps(generated, ensure_ascii=False), totals["latency"] or None,
                  totals["prompt"], totals["completion"],
                  f"conversation:{ended or 'max_turns'}", None, base_seed,
                  max(1, totals["attempts"]), int(time.time() * 1000)))
    return "ok"


def _end_error(put: Callable[[Any], None], ids: tuple[int, int, int], k: int,
               base_seed: int, totals: dict[str, int], generated: list[dict[str, str]],
               message: str) -> None:
    run_id, target_id, row_id = ids
    put(SampleRow(run_id, target_id, row_id, k, "error", None,
                  json.dumps(generated, ensure_ascii=False) if generated else None, None,
                  totals["prompt"] or None, totals["completion"] or None, None, message,
                  base_seed, max(1, totals["attempts"]), int(time.time() * 1000)))


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What a conversation probe will cost, before running it."""

    probe: str
    conversations: int
    max_turns: int
    prompt_tokens: float
    completion_tokens: float

    @property
    def tokens(self) -> float:
        return self.prompt_tokens + self.completion_tokens

    def describe(self) -> str:
        return (f"{self.probe}: {self.conversations:,} conversations x up to {self.max_turns} "
                f"turns = {self.conversations * self.max_turns:,} assistant turns; at most about "
                f"{_tokens(self.tokens)} tokens ({_tokens(self.prompt_tokens)} prompt + "
                f"{_tokens(self.completion_tokens)} completion, every reply at max_tokens; "
                f"prompt tokens grow with the square of the turns)")


def _tokens(x: float) -> str:
    return f"{x / 1e6:.1f} M" if x >= 1e6 else f"{x / 1e3:.0f} k" if x >= 1e4 else f"{x:,.0f}"


def cost_estimate(probe_id: str, probe: ConversationProbe, prompts: Sequence[Any],
                  targets: Sequence[TargetConfig], samples: int) -> CostEstimate:
    """The token cost of a conversation probe: every conversation run to ``max_turns`` and
    every reply as long as the target's ``max_tokens`` allows (an upper estimate)."""
    user = probe.mean_user_tokens()
    mean_user = user if user is not None else (
        sum(approx_tokens(p.text) for p in prompts) / max(1, len(prompts)))
    prompt_total = completion_total = 0.0
    for t in targets:
        system = approx_tokens(t.system or "")
        reply = t.max_tokens
        first = sum(approx_tokens(p.text) for p in prompts) / max(1, len(prompts))
        pt, ct = conversation_tokens(probe.max_turns, system, mean_user, reply)
        pt += probe.max_turns * (first - mean_user)  # the opening message is the task, resent
        prompt_total += pt * len(prompts) * samples
        completion_total += ct * len(prompts) * samples
    return CostEstimate(probe_id, len(prompts) * samples * len(targets), probe.max_turns,
                        prompt_total, completion_total)
