"""The monitor's turns in the store (issue 19): the monitor half of the store contract.

It runs once per entry of the contract's ``IMPLEMENTATIONS`` (SQLite today), and
``test_store_contract.py`` counts what it calls as exercised.
"""

from __future__ import annotations

import pytest
import test_store_contract as contract

from levelhead.errors import StoreError
from levelhead.store import MonitorSourceRecord, MonitorTurnRow, Store

# The contract's fixtures: every store implementation, and a fresh empty store of each.
implementation = contract.implementation
store = contract.store


def _turn(conv: str, turn: int, verdicts: tuple[tuple[int, str, float], ...], *,
          at: str | None = "2026-12-07T10:00:00.000+00:00", model: str | None = "v1",
          language: str = "en", feedback: str | None = None) -> MonitorTurnRow:
    return MonitorTurnRow(conv, turn, at, model, language, feedback, None, None, verdicts)


def test_a_batch_is_stored_with_where_reading_got_to_and_a_conversation_again_adds_only_new_turns(
        store: Store) -> None:
    abuse = store.ensure_judge("abuse.lexicon", "4", "{}")
    rubric = store.ensure_judge("llm.rubric", "1", "{}")
    first = [_turn("c1", 1, ((abuse, "clean", 1.0), (rubric, "clean", 0.25))),
             _turn("c1", 2, ((abuse, "abusive", 1.0),), feedback="down"),
             _turn("c2", 1, ((abuse, "clean", 1.0),), language="zh", feedback="up")]
    assert store.add_monitor_batch("log.jsonl", first, position=(1, 77, "f1", 900, 3), records=3,
                                   malformed=[(2, "line 2: not JSON")]) == 3
    # c1 logged again with one more turn: only turn 3 is new.
    again = [*first[:2], _turn("c1", 3, ((abuse, "clean", 1.0),))]
    assert store.add_monitor_batch("log.jsonl", again, position=(1, 77, "f1", 1500, 5), records=1) == 1
    assert store.monitor_turn_count() == 4
    (src,) = store.monitor_sources()
    assert isinstance(src, MonitorSourceRecord)
    assert (src.source, src.device, src.inode, src.fingerprint, src.offset, src.line,
            src.records, src.malformed) == ("log.jsonl", 1, 77, "f1", 1500, 5, 4, 1)
    assert store.monitor_malformed("log.jsonl") == [(2, "line 2: not JSON")]

    counts = store.monitor_counts(step=2)
    got = {(c.judge, c.label, c.language, c.feedback, c.bucket): (c.n, c.weighted)
           for c in counts}
    assert got == {
        ("abuse.lexicon", "clean", "en", None, "0"): (1, 1.0),
        ("llm.rubric", "clean", "en", None, "0"): (1, 4.0),  # weighted by 1 / 0.25
        ("abuse.lexicon", "abusive", "en", "down", "0"): (1, 1.0),
        ("abuse.lexicon", "clean", "zh", "up", "1"): (1, 1.0),
        ("abuse.lexicon", "clean", "en", None, "1"): (1, 1.0)}
    assert {c.judge_id for c in counts if c.judge == "llm.rubric"} == {rubric}
    assert {c.judge_version for c in counts if c.judge == "abuse.lexicon"} == {"4"}
    assert {c.model for c in counts} == {"v1"}


def test_counts_by_day_or_hour_and_period(store: Store) -> None:
    abuse = store.ensure_judge("abuse.lexicon", "4", "{}")
    turns = [_turn(f"c{d}", 1, ((abuse, "clean", 1.0),), at=f"2026-12-0{d}T1{d}:00:00.000+00:00")
             for d in (5, 6, 7)] + [_turn("untimed", 1, ((abuse, "clean", 1.0),), at=None)]
    store.add_monitor_batch("s", turns, position=(None, None, "", 4, 4), records=4)
    assert [c.bucket for c in store.monitor_counts(by="day")] == [
        "2026-12-05", "2026-12-06", "2026-12-07"]  # a turn with no time is in no day
    assert [c.bucket for c in store.monitor_counts(by="hour", since="2026-12-06")] == [
        "2026-12-06T16", "2026-12-07T17"]
    assert [c.bucket for c in store.monitor_counts(by="day", until="2026-12-06")] == ["2026-12-05"]
    assert sum(c.n for c in store.monitor_counts()) == 4  # in ingest order every turn counts
    with pytest.raises(StoreError, match="expected order, day or hour"):
        store.monitor_counts(by="week")
    with pytest.raises(StoreError, match="at least 1"):
        store.monitor_counts(step=0)


def test_a_malformed_turn_refuses_the_whole_batch(store: Store) -> None:
    abuse = store.ensure_judge("abuse.lexicon", "4", "{}")
    good = _turn("c1", 1, ((abuse, "clean", 1.0),))
    for bad, why in ((good._replace(turn=0), "turn must be 1"),
                     (good._replace(feedback="meh"), "feedback up, down"),
                     (good._replace(verdicts=((abuse, "clean", 0.0),)), "inclusion probability")):
        with pytest.raises(StoreError, match=why):
            store.add_monitor_batch("s", [good, bad], position=(None, None, "", 1, 1), records=1)
    assert store.monitor_turn_count() == 0 and store.monitor_sources() == []


def test_only_the_newest_malformed_lines_are_kept_but_all_are_counted(store: Store) -> None:
    from levelhead.store._monitor_rows import MALFORMED_KEPT

    bad = [(n, f"line {n}: not JSON") for n in range(1, MALFORMED_KEPT + 6)]
    store.add_monitor_batch("s", [], position=(None, None, "", 10, len(bad)), records=0,
                            malformed=bad)
    kept = store.monitor_malformed("s")
    assert len(kept) == MALFORMED_KEPT and kept[-1] == bad[-1] and kept[0] == bad[5]
    assert store.monitor_sources()[0].malformed == len(bad)


def test_a_conversations_newest_thumbs_count_once_on_its_last_turn(store: Store) -> None:
    abuse = store.ensure_judge("abuse.lexicon", "4", "{}")
    v = ((abuse, "clean", 1.0),)

    def log(*turns: MonitorTurnRow) -> None:
        store.add_monitor_batch("s", list(turns), position=(None, None, "", 1, 1), records=1)

    def feedback() -> dict[tuple[str, int], str | None]:
        return {(c.bucket, c.judge_id): c.feedback for c in store.monitor_counts(step=1)}

    log(_turn("c1", 1, v))                                       # no thumbs yet
    log(_turn("c1", 1, v, feedback="up"))                        # the thumbs come later
    assert feedback() == {("0", abuse): "up"}
    log(_turn("c1", 1, v), _turn("c1", 2, v, feedback="down"))   # a turn more, thumbs down
    assert feedback() == {("0", abuse): None, ("1", abuse): "down"}  # counted once, newest
    log(_turn("c1", 1, v), _turn("c1", 2, v))                    # logged again without thumbs
    assert feedback() == {("0", abuse): None, ("1", abuse): "down"}  # the thumbs stand
    # Another source's conversation of the same id is another conversation.
    store.add_monitor_batch("other", [_turn("c1", 1, v, feedback="up")],
                            position=(None, None, "", 1, 1), records=1)
    assert store.monitor_turn_count() == 3
