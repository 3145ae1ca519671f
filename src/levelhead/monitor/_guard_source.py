"""The guard's stored decisions as a monitor source (``levelhead monitor ingest guard``).

Each decision is one reply: a conversation of one assistant turn, named by the decision's row
id (``guard:<id>``; a client may send the same request id twice, a row id is never reused). A
decision stored with its text (the guard's ``store_text = true``) is judged by the
monitor's own judges like any logged reply; one without text brings the guard's verdicts,
under judge identities marked as the guard's (``{"via": "guard"}``), since there is nothing to
judge again. The position is the id of the last decision taken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from levelhead.judges import registry
from levelhead.store import GuardDecisionRecord, MonitorTurnRow, Store

__all__ = ["GuardReply", "guard_replies", "guard_verdict_row"]

#: The name a source of guard decisions has in the monitor's table of sources.
GUARD_SOURCE = "guard"


@dataclass(frozen=True, slots=True)
class GuardReply:
    """A screened reply, as a conversation of one assistant turn."""

    conversation_id: str
    timestamp: str | None
    model: str | None
    language: str
    feedback: str | None
    messages: Sequence[Mapping[str, str]]
    decision: GuardDecisionRecord


def guard_replies(store: Store, after_id: int, *, batch: int = 5_000) -> Iterator[GuardReply]:
    """The guard's decisions after ``after_id``, oldest first, read in batches."""
    while True:
        decisions = store.guard_decisions(after_id=after_id, limit=batch)
        if not decisions:
            return
        for d in decisions:
            yield GuardReply(f"guard:{d.id}", d.at, d.model, d.language, None,
                             ({"role": "assistant", "content": d.text},) if d.text else (), d)
        after_id = decisions[-1].id


def guard_verdict_row(store: Store, reply: GuardReply, ids: dict[str, int]) -> MonitorTurnRow:
    """The reply as a turn carrying the guard's own verdicts (a decision stored without text).

    ``ids`` caches the judge identities made so far (judge name -> id)."""
    verdicts = []
    for f in reply.decision.findings:
        if f.label is None:  # not judged: no verdict (never a clean one)
            continue
        if f.judge not in ids:
            version = getattr(registry.get(f.judge).factory, "version", "?") \
                if f.judge in registry else "?"
            ids[f.judge] = store.ensure_judge(f.judge, str(version), '{"via": "guard"}')
        verdicts.append((ids[f.judge], f.label, 1.0))
    return MonitorTurnRow(reply.conversation_id, 1, reply.timestamp, reply.model, reply.language,
                          None, None, None, tuple(verdicts))
