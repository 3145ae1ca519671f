"""Reading production logs (issue 19): one JSONL conversation a line, every line once, through
rotation, truncation and restarts; malformed lines reported with their numbers, never fatal.

Every test writes a real file in ``tmp_path``. Nothing is timed: a thread that should end is
joined with a timeout and asserted dead, and every wait has a deadline, so a broken reader fails
the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from levelhead.monitor import (
    MAX_LINE_BYTES,
    LogRecord,
    Malformed,
    MalformedLine,
    Position,
    parse_line,
    read_log,
)

ISSUE_LINE = (b'{"id": "c1", "timestamp": "2026-12-01T10:00:00Z", "model": "v2", "lang": "zh", '
              b'"feedback": "up", "messages": [{"role": "user", "content": "\xe4\xbd\xa0\xe5\xa5\xbd"}, '
              b'{"role": "assistant", "content": "Hello!"}]}\n')

WAIT_S = 10.0  # the most any test waits for the reader; reached only when something is wrong


def conversation(id_: str, **meta: Any) -> str:
    """One log line (with its newline) holding a two-message conversation."""
    messages = [{"role": "user", "content": f"Question {id_}?"},
                {"role": "assistant", "content": "An answer."}]
    return json.dumps({"id": id_, **meta, "messages": messages}) + "\n"


def record(raw: bytes | str, **meta: Any) -> LogRecord:
    """``raw`` parsed as line 1 (a str is a conversation's metadata template)."""
    parsed = parse_line(raw.encode() if isinstance(raw, str) else raw, 1, 0, "log")
    assert parsed is not None
    return parsed


def with_meta(**meta: Any) -> LogRecord:
    return record(conversation("m", **meta))


def ids(items: list[LogRecord | Malformed]) -> list[str]:
    return [item.conversation_id for item in items if isinstance(item, LogRecord)]


def stop_after(calls: int) -> Callable[[], bool]:
    """A stop that says yes from its ``calls``-th question on: ends a follower without a clock."""
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked >= calls

    return stop


# --- one line ---------------------------------------------------------------------------------

def test_the_issues_example_line_parses_to_its_record():
    parsed = parse_line(ISSUE_LINE, 7, 120, "app.log")
    assert parsed == LogRecord(
        conversation_id="c1", timestamp="2026-12-01T10:00:00.000Z", model="v2", language="zh",
        feedback="up", messages=({"role": "user", "content": "你好"},
                                 {"role": "assistant", "content": "Hello!"}),
        line=7, offset=120, position=None)


def test_only_messages_is_required_and_the_id_defaults_to_source_and_line():
    parsed = parse_line(b'{"messages": [{"role": "user", "content": "Hi there"}, '
                        b'{"role": "assistant", "content": "Hello."}]}', 42, 0, "app.log")
    assert parsed is not None
    assert (parsed.conversation_id, parsed.timestamp, parsed.model, parsed.feedback) == (
        "app.log:42", None, None, None)
    assert parsed.language == "en"


@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"id": "c1", "messages": [}', "not JSON (Expecting value at column 27)"),
    (b'{"id": "c1" "messages": []}', "not JSON (Expecting ',' delimiter at column 13)"),
    (b'{"id": "c1"} trailing', "not JSON (Extra data at column 14)"),
    (b'["messages"]', "not a JSON object (a list)"),
    (b'{"id": "c1"}', "`messages` missing"),
    (b'{"messages": []}', "`messages` must be a non-empty list of messages"),
    (b'{"messages": [{"role": "user", "content": "a"}, "hi"]}', "messages[1] must be an object (a string)"),
    (b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, '
     b'{"role": 3, "content": "c"}]}', "messages[2].role must be text"),
    (b'{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "b"}]}',
     "messages[0].content must be text or a list of content parts (a number)"),
    (b'{"messages": [{"role": "user", "content": [{"type": "text", "text": null}]}, '
     b'{"role": "assistant", "content": "b"}]}', "messages[0].content[0].text must be text"),
    (b'{"messages": [{"role": "user", "content": "Anyone there?"}]}', "no assistant message"),
    (b'{"id": [1], "messages": [{"role": "assistant", "content": "b"}]}',
     "`id` must be text or a whole number (a list)"),
    (b'{"model": 2, "messages": [{"role": "assistant", "content": "b"}]}', "`model` must be text (a number)"),
    (b'{"timestamp": "yesterday", "messages": [{"role": "assistant", "content": "b"}]}',
     "`timestamp` 'yesterday' is not an ISO 8601 time or epoch seconds/milliseconds"),
    (b'{"feedback": "meh", "messages": [{"role": "assistant", "content": "b"}]}',
     "`feedback` 'meh' is not up or down (nor thumbs_up/thumbs_down, 1/-1, true/false)"),
    (b'{"messages": [{"role": "assistant", "content": "caf\xe9"}]}', "not UTF-8 (byte 0xe9 at column 52)"),
])
def test_a_malformed_line_says_which_line_and_what_is_wrong(raw, reason):
    with pytest.raises(MalformedLine) as caught:
        parse_line(raw, 17, 0, "app.log")
    assert (caught.value.line, caught.value.reason) == (17, reason)
    assert str(caught.value) == f"line 17: {reason}"


def test_a_line_over_the_limit_is_malformed_without_being_parsed():
    raw = conversation("big").encode()
    with pytest.raises(MalformedLine, match=r"^line 3: longer than the limit of 50 bytes"):
        parse_line(raw, 3, 0, "log", max_line_bytes=50)
    assert parse_line(raw, 3, 0, "log", max_line_bytes=len(raw) - 1) is not None  # newline not counted
    assert MAX_LINE_BYTES == 10 * 1024 * 1024


@pytest.mark.parametrize("raw", [b"", b"\n", b"   \t\r\n"])
def test_a_blank_line_is_nothing_not_malformed(raw):
    assert parse_line(raw, 1, 0, "log") is None


def test_content_parts_are_joined_and_tool_messages_kept_with_their_role():
    parsed = record(json.dumps({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is on"},
                                     {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                                     {"type": "text", "text": "this picture?"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "t1", "content": "a cat"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't say."}]},
        {"role": "assistant", "content": None, "refusal": "Nor that."},
    ]}))
    assert parsed.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is on\nthis picture?"},
        {"role": "assistant", "content": ""},
        {"role": "tool", "content": "a cat"},
        {"role": "assistant", "content": "I can't say."},
        {"role": "assistant", "content": "Nor that."},
    )


def test_a_lone_surrogate_becomes_a_replacement_character_and_a_pair_one_character():
    parsed = record(b'{"id": "c\\ud800", "messages": [{"role": "user", "content": "hi \\ud83d\\ude00"}, '
                    b'{"role": "assistant", "content": "half \\udc00 a character"}]}')
    assert parsed.conversation_id == "c\ufffd"
    assert [m["content"] for m in parsed.messages] == ["hi \U0001f600", "half \ufffd a character"]
    assert all(m["content"].encode() for m in parsed.messages)  # writable as UTF-8


@pytest.mark.parametrize(("given", "expected"), [
    ("up", "up"), ("down", "down"), ("UP", "up"), ("thumbs_up", "up"), ("thumbs-down", "down"),
    ("like", "up"), ("dislike", "down"), ("+1", "up"), ("-1", "down"), (1, "up"), (-1, "down"),
    (True, "up"), (False, "down"), ("true", "up"), ("false", "down"), ("👍", "up"), ("👎", "down"),
    (0, None), ("neutral", None), ("", None), (None, None),
])
def test_feedback_spellings(given, expected):
    assert with_meta(feedback=given).feedback == expected


@pytest.mark.parametrize(("given", "expected"), [
    ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00.000Z"),
    ("2026-12-01T10:00:00.123456Z", "2026-12-01T10:00:00.123Z"),
    ("2026-12-01T12:30:00+02:30", "2026-12-01T10:00:00.000Z"),
    ("2026-12-01T05:00:00-05:00", "2026-12-01T10:00:00.000Z"),
    ("2026-12-01 10:00:00", "2026-12-01T10:00:00.000Z"),  # naive: UTC
    ("2026-12-01", "2026-12-01T00:00:00.000Z"),
    (1796119200, "2026-12-01T10:00:00.000Z"),  # epoch seconds
    (1796119200.25, "2026-12-01T10:00:00.250Z"),
    (1796119200123, "2026-12-01T10:00:00.123Z"),  # epoch milliseconds
    (None, None),
])
def test_timestamps_are_normalised_to_utc_with_milliseconds(given, expected):
    assert with_meta(timestamp=given).timestamp == expected


def test_language_is_the_given_code_else_detected_from_user_then_assistant_text():
    zh = [{"role": "user", "content": "请问明天北京的天气怎么样？"},
          {"role": "assistant", "content": "明天晴。"}]
    assert record(json.dumps({"messages": zh})).language == "zh"
    assert record(json.dumps({"lang": "Chinese", "messages": zh})).language == "zh"  # not a code
    assert record(json.dumps({"lang": "zh-CN", "messages": zh})).language == "zh"
    assert record(json.dumps({"lang": "fr", "messages": zh})).language == "fr"  # the line says so
    assert with_meta().language == "en"
    # The user wrote no letters (a number, an emoji): the assistant's text decides.
    no_letters = [{"role": "user", "content": "42 🙂"}, {"role": "assistant", "content": "这是什么意思？"}]
    assert record(json.dumps({"messages": no_letters})).language == "zh"
    assert record(json.dumps({"messages": [{"role": "assistant", "content": "…"}]})).language is None


# --- a whole file -----------------------------------------------------------------------------

def test_the_reader_reports_each_malformed_line_and_goes_on(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"".join([
        conversation("a").encode(),                                    # 1
        b"\n",                                                         # 2 blank
        b'{"id": "b", "messages": [\n',                                # 3 not JSON
        b'{"id": "c"}\n',                                              # 4 no messages
        b"   \r\n",                                                    # 5 blank
        b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n',  # 6 not UTF-8
        b'{"messages": [{"role": "user", "content": "hello"}]}\n',    # 7 no assistant
        b'{"messages": [{"role": "assistant", "content": "' + b"x" * 300 + b'"}]}\n',  # 8 too long
        conversation("d").encode(),                                    # 9
        conversation("e").encode().rstrip(b"\n"),                      # 10, no newline: the end
    ]))
    items = list(read_log(log, max_line_bytes=200))
    assert ids(items) == ["a", "d", "e"]
    assert [(m.line, m.reason.split(" (")[0]) for m in items if isinstance(m, Malformed)] == [
        (3, "not JSON"), (4, "`messages` missing"), (6, "not UTF-8"), (7, "no assistant message"),
        (8, "longer than the limit of 200 bytes")]
    assert [item.line for item in items] == [1, 3, 4, 6, 7, 8, 9, 10]
    # Each item knows where its line starts and where the reader stands after it.
    data = log.read_bytes()
    for item in items:
        assert item.position is not None
        assert data[:item.offset].count(b"\n") == item.line - 1
        assert item.position.line == item.line
    assert items[-1].position is not None and items[-1].position.offset == len(data)
    assert str(items[1]) == "line 3: not JSON (Expecting value at column 26)"


def test_an_over_long_line_is_skipped_in_pieces_and_the_next_line_read(tmp_path):
    log = tmp_path / "app.log"
    huge = b'{"messages": "' + b"y" * 3_000_000 + b'"}\n'  # several skip chunks at a 1,000-byte limit
    log.write_bytes(conversation("a").encode() + huge + conversation("b").encode())
    items = list(read_log(log, max_line_bytes=1_000))
    assert ids(items) == ["a", "b"]
    assert isinstance(items[1], Malformed) and items[1].line == 2
    assert items[2].offset == len(conversation("a")) + len(huge)


def test_the_default_ids_name_the_file_and_its_inode(tmp_path):
    log = tmp_path / "app.log"
    log.write_text('{"messages": [{"role": "assistant", "content": "hi"}]}\n')
    (item,) = read_log(log)
    assert isinstance(item, LogRecord)
    name, line = item.conversation_id.rsplit(":", 1)
    assert name.startswith(f"app.log@{log.stat().st_ino}.") and line == "1"
    (item,) = read_log(log, source="prod")
    assert isinstance(item, LogRecord) and item.conversation_id == "prod:1"
    # Truncated and written again (copytruncate), the file's lines get other ids: line 1 of the
    # new content is another conversation than line 1 of the old.
    log.write_text('{"messages": [{"role": "assistant", "content": "hello"}]}\n')
    (again,) = read_log(log)
    assert isinstance(again, LogRecord) and again.conversation_id != item.conversation_id
    assert again.conversation_id.endswith(":1")


def test_an_unfinished_last_line_is_left_for_the_next_reading_unless_it_is_whole(tmp_path):
    """A log read while it is written (a cron ingest without --follow): the line being written
    is neither reported as malformed nor passed; a whole last line without newline is taken."""
    log = tmp_path / "app.log"
    log.write_bytes(conversation("a").encode() + b'{"id": "b", "messages": [{"role": "us')
    items = list(read_log(log))
    assert ids(items) == ["a"] and not any(isinstance(i, Malformed) for i in items)
    with log.open("ab") as f:
        f.write(b'er", "content": "hi"}, {"role": "assistant", "content": "ok"}]}')
    rest = list(read_log(log, start=items[-1].position))
    assert ids(rest) == ["b"]  # whole now, though its newline has not come


def test_a_missing_file_is_an_error_when_not_following(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_log(tmp_path / "nope.log"))


def test_resuming_from_a_position_reads_exactly_the_rest(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(conversation(f"c{i}") for i in range(1, 11)))
    reader = read_log(log)
    first = [next(reader) for _ in range(4)]
    reader.close()
    assert ids(first) == ["c1", "c2", "c3", "c4"]
    stored = first[-1].position
    assert isinstance(stored, Position) and stored.line == 4
    with log.open("a") as f:
        f.write("".join(conversation(f"c{i}") for i in range(11, 14)))
    rest = list(read_log(log, start=stored))
    assert ids(rest) == [f"c{i}" for i in range(5, 14)]
    assert [item.line for item in rest] == list(range(5, 14))
    assert list(read_log(log, start=rest[-1].position)) == []


def test_resuming_after_a_rotation_reads_the_rest_of_the_old_file_then_the_new(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(conversation("old1") + conversation("old2"))
    (first, _) = read_log(log)
    with log.open("a") as f:  # written after the reader stopped, before the rotation
        f.write(conversation("old3"))
    log.rename(tmp_path / "app.log.1")
    log.write_text(conversation("new1"))
    assert ids(list(read_log(log, start=first.position))) == ["old2", "old3", "new1"]


def test_resuming_when_the_old_file_is_gone_starts_the_new_file_from_its_start(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(conversation("old1") + conversation("old2"))
    (first, _) = read_log(log)
    log.rename(tmp_path / "elsewhere.gz")
    (tmp_path / "elsewhere.gz").unlink()
    # The file system may give the new file the deleted one's inode (tmpfs and ext4 often do):
    # its first line tells it apart.
    log.write_text(conversation("new1") + conversation("new2") + conversation("new3"))
    assert ids(list(read_log(log, start=first.position))) == ["new1", "new2", "new3"]


@pytest.mark.parametrize("lines_after", [1, 8])  # shorter than the position's offset, and longer
def test_resuming_a_file_truncated_and_written_again_starts_from_its_start(tmp_path, lines_after):
    log = tmp_path / "app.log"
    log.write_text("".join(conversation(f"c{i}") for i in range(5)))
    *_, last = read_log(log)
    with log.open("w") as f:  # the same inode, emptied and written again
        f.write("".join(conversation(f"n{i}") for i in range(lines_after)))
    assert ids(list(read_log(log, start=last.position))) == [f"n{i}" for i in range(lines_after)]


def test_a_position_without_a_fingerprint_trusts_the_inode(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(conversation(f"c{i}") for i in range(5)))
    _, second, *_ = read_log(log)
    assert second.position is not None and len(second.position.fingerprint) == 16
    bare = Position(second.position.device, second.position.inode, second.position.offset, 2)
    assert ids(list(read_log(log, start=bare))) == ["c2", "c3", "c4"]


# --- following ------------------------------------------------------------------------------

def test_a_partial_line_is_not_read_until_its_newline_arrives(tmp_path):
    log = tmp_path / "app.log"
    line2 = conversation("two")
    log.write_text(conversation("one") + line2[:25])
    got = list(read_log(log, follow=True, poll_s=0.001, stop=stop_after(20)))
    assert ids(got) == ["one"]  # the reader looked many times; the half line stayed unread
    with log.open("a") as f:
        f.write(line2[25:-1])
    got2 = list(read_log(log, start=got[-1].position, follow=True, poll_s=0.001, stop=stop_after(20)))
    assert got2 == []  # still no newline
    with log.open("a") as f:
        f.write("\n")
    got3 = list(read_log(log, start=got[-1].position, follow=True, poll_s=0.001, stop=stop_after(20)))
    assert ids(got3) == ["two"] and got3[0].line == 2
    # Not following, the end of the file ends the last line, newline or not.
    log.write_text(conversation("one") + line2[:-1])
    assert ids(list(read_log(log))) == ["one", "two"]


def test_one_follower_sees_a_line_completed_across_polls(tmp_path):
    log = tmp_path / "app.log"
    line = conversation("slow")
    pieces = iter([line[:10], line[10:30], line[30:], conversation("next")])
    log.write_text("")
    written = 0

    def write_a_piece_each_poll() -> bool:  # a writer that is slower than the reader
        nonlocal written
        piece = next(pieces, None)
        if piece is None:
            written += 1
            return written > 5
        with log.open("a") as f:
            f.write(piece)
        return False

    got = list(read_log(log, follow=True, poll_s=0.001, stop=write_a_piece_each_poll))
    assert ids(got) == ["slow", "next"]
    assert [item.line for item in got] == [1, 2]


def test_a_follower_sees_a_copytruncate_even_when_the_file_regrew_past_its_offset(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(lines("c", range(5))))
    got: list[LogRecord | Malformed] = []
    asked_since_all_read = 0

    def truncate_while_the_reader_waits() -> bool:
        nonlocal asked_since_all_read
        if len(got) == 5:
            asked_since_all_read += 1
            if asked_since_all_read == 3:  # the reader found the end and is waiting
                with log.open("w") as f:  # emptied and written again, beyond the old end, at once
                    f.write("".join(lines("n", range(8))))
        return len(got) == 13 or asked_since_all_read > 10_000  # fail rather than hang

    for item in read_log(log, follow=True, poll_s=0.001, stop=truncate_while_the_reader_waits):
        got.append(item)
    assert ids(got) == [f"c{i}" for i in range(5)] + [f"n{i}" for i in range(8)]
    assert [i.line for i in got] == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 6, 7, 8]


class Follower:
    """``read_log(follow=True)`` in a thread, collecting what it yields."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.items: list[LogRecord | Malformed] = []
        self.stop = threading.Event()
        self.changed = threading.Condition()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(path, kwargs), daemon=True)
        self.thread.start()

    def _run(self, path: Path, kwargs: dict[str, Any]) -> None:
        try:
            for item in read_log(path, follow=True, poll_s=0.005, stop=self.stop, **kwargs):
                with self.changed:
                    self.items.append(item)
                    self.changed.notify_all()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def wait_for(self, count: int) -> list[str]:
        """The ids read once there are ``count`` items; fails (never hangs) if they do not come."""
        with self.changed:
            arrived = self.changed.wait_for(lambda: len(self.items) >= count or self.error is not None,
                                            timeout=WAIT_S)
        assert self.error is None, self.error
        assert arrived, f"only {len(self.items)} of {count} items arrived: {ids(self.items)}"
        return ids(self.items)

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=WAIT_S)
        assert not self.thread.is_alive(), "the reader did not stop"
        assert self.error is None, self.error


def lines(prefix: str, numbers: range) -> Iterator[str]:
    return (conversation(f"{prefix}{i}") for i in numbers)


def test_following_through_growth_rotation_and_truncation_reads_every_line_once_in_order(tmp_path):
    log = tmp_path / "app.log"
    written: list[str] = []
    finished = threading.Event()
    follower_ready = threading.Event()

    def append(f: Any, prefix: str, numbers: range) -> None:
        for i, line in zip(numbers, lines(prefix, numbers), strict=True):
            f.write(line)
            f.flush()
            written.append(f"{prefix}{i}")

    follower: Follower | None = None

    def writer() -> None:
        nonlocal follower
        assert follower_ready.wait(WAIT_S)
        assert follower is not None
        with log.open("a") as f:
            append(f, "a", range(50))                # growth, line by line
            half = conversation("half")
            f.write(half[:20])                       # a partial line...
            f.flush()
            follower.wait_for(50)
            f.write(half[20:])                       # ...completed later
            f.flush()
            written.append("half")
            follower.wait_for(51)
            append(f, "b", range(5))                 # just before the rotation
            os.rename(log, tmp_path / "app.log.1")   # rotation: the old file is renamed away...
            append(f, "c", range(5))                 # ...the writer has not reopened yet
        with log.open("a") as f:                     # ...and a new file is created at the path
            append(f, "d", range(20))
        follower.wait_for(81)
        with log.open("w") as f:                     # copytruncate: the same inode, emptied
            append(f, "e", range(3))                 # and shorter than what was read of it
        follower.wait_for(84)
        finished.set()

    log.write_text("")
    follower = Follower(log)
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    follower_ready.set()
    thread.join(timeout=3 * WAIT_S)
    assert not thread.is_alive() and finished.is_set(), f"the writer stalled; read {ids(follower.items)}"
    follower.end()
    assert ids(follower.items) == written
    assert len(written) == 84 and not any(isinstance(i, Malformed) for i in follower.items)
    inodes = [i.position.inode for i in follower.items if i.position is not None]
    assert inodes[0] == (tmp_path / "app.log.1").stat().st_ino
    assert inodes[-1] == log.stat().st_ino != inodes[0]


def test_a_follower_waits_for_a_missing_file_and_stops_promptly(tmp_path):
    log = tmp_path / "late.log"
    follower = Follower(log)
    log.write_text(conversation("x1") + conversation("x2"))
    assert follower.wait_for(2) == ["x1", "x2"]
    with log.open("a") as f:
        f.write('{"id": "broken"\n' + conversation("x3"))  # a malformed line does not end it
    follower.wait_for(4)
    follower.end()
    assert ids(follower.items) == ["x1", "x2", "x3"]
    assert isinstance(follower.items[2], Malformed) and follower.items[2].line == 3


def test_a_follower_resumed_from_a_position_reads_on_and_never_repeats(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(lines("p", range(6))))
    (*_, sixth) = read_log(log)
    follower = Follower(log, start=sixth.position)
    with log.open("a") as f:
        f.write("".join(lines("q", range(3))))
    assert follower.wait_for(3) == ["q0", "q1", "q2"]
    follower.end()
    assert [i.line for i in follower.items] == [7, 8, 9]


def test_lines_left_unparsed_parse_later_into_the_same_records_and_reports(tmp_path):
    """``read_log(parse=False)`` hands each line over raw for a worker process to parse with
    ``parse_lines``: the records and the malformed lines' numbers and reasons are what parsing
    while reading gives, in the same order; a too-long line is reported by the reader itself."""
    from levelhead.monitor._source import RawLine, parse_lines

    log = tmp_path / "app.log"
    log.write_bytes(b"".join([
        b"\xef\xbb\xbf" + conversation("a").encode(),                  # 1, after a byte-order mark
        b"\n",                                                         # 2 blank
        b'{"id": "b", "messages": [\n',                                # 3 not JSON
        b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n',  # 4 not UTF-8
        b'{"messages": [{"role": "assistant", "content": "' + b"x" * 300 + b'"}]}\n',  # 5 too long
        b'{"messages": [{"role": "assistant", "content": "no id"}]}\n',  # 6, a default id
        b'{"id": "d", "messages": [{"role": "assistant", "content": "\\ud83d"}]}\n',  # 7
        conversation("e").encode().rstrip(b"\n"),                      # 8, no newline: the end
    ]))
    parsed = list(read_log(log, max_line_bytes=200))
    raw = list(read_log(log, max_line_bytes=200, parse=False))
    assert [type(i).__name__ for i in raw] == [
        "RawLine", "RawLine", "RawLine", "Malformed", "RawLine", "RawLine", "RawLine"]
    assert [i.position for i in raw] == [i.position for i in parsed]
    lines = [(i.raw, i.line, i.offset, i.source) if isinstance(i, RawLine)
             else (None, i.line, i.offset, i.reason) for i in raw]
    records, malformed = parse_lines(lines)
    assert [r.conversation_id for r in records] == ids([i for i in parsed if isinstance(i, LogRecord)])
    assert [(r.line, r.offset, r.messages, r.language) for r in records] == [
        (i.line, i.offset, i.messages, i.language) for i in parsed if isinstance(i, LogRecord)]
    assert malformed == [(i.line, i.reason) for i in parsed if isinstance(i, Malformed)]
    assert [line for line, _ in malformed] == [3, 4, 5]
    assert records[0].conversation_id == "a"  # the byte-order mark is not part of the line


def test_an_unfinished_last_line_left_unparsed_is_still_left_for_the_next_reading(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(conversation("a").encode() + b'{"id": "b", "messages": [{"role": "us')
    items = list(read_log(log, parse=False))
    assert [i.line for i in items] == [1] and not any(isinstance(i, Malformed) for i in items)
    with log.open("ab") as f:
        f.write(b'er", "content": "hi"}, {"role": "assistant", "content": "ok"}]}')
    (rest,) = read_log(log, start=items[-1].position, parse=False)
    assert rest.line == 2 and rest.raw.startswith(b'{"id": "b"')
