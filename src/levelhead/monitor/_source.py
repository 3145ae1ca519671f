"""Production conversation logs, read line by line: one JSONL line is one conversation.

The layout is OpenAI's messages with optional metadata; only ``messages`` is required::

    {"id": "c1", "timestamp": "2026-12-01T10:00:00Z", "model": "v2", "lang": "zh",
     "feedback": "up", "messages": [{"role": "user", "content": "…"},
                                    {"role": "assistant", "content": "…"}]}

:func:`parse_line` turns one line into a :class:`LogRecord` or raises :class:`MalformedLine`;
:func:`read_log` reads a file (and, with ``follow``, tails it through rotation and truncation),
yielding each record or :class:`Malformed` entry with the :class:`Position` after it, so that a
caller that stores the position resumes exactly where it stopped: every line once. With
``parse=False`` it yields each line as a :class:`RawLine` instead of a record, for
:func:`parse_lines` to parse elsewhere (the monitor's worker processes), with the same records
and reports as parsing while reading.

The file is read in binary through a buffered reader, one line at a time; no more than one line
(at most ``max_line_bytes``) is ever held, so memory stays flat however long the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

from levelhead.judges._normalise import detect_language

__all__ = [
    "MAX_LINE_BYTES",
    "Item",
    "LineToParse",
    "LogRecord",
    "Malformed",
    "MalformedLine",
    "Position",
    "RawLine",
    "parse_line",
    "parse_lines",
    "read_log",
]

#: Lines longer than this (bytes, without the newline) are malformed and never parsed: one
#: runaway line must not take the follower's memory with it.
MAX_LINE_BYTES = 10 * 1024 * 1024

# Language detection looks at this many characters at most: enough to tell Chinese from English,
# and it bounds the cost of a line without ``lang`` (detection walks the text character by character).
_DETECT_CHARS = 1_000
# How much of an over-long line is read at a time while skipping to its end.
_SKIP_CHUNK = 1024 * 1024
# A file's fingerprint hashes its first line, or this many bytes of it.
_FINGERPRINT_BYTES = 1024

_DECODE = json.JSONDecoder().decode
_LANG_CODE = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_LETTER = re.compile(r"[^\W\d_]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch numbers at least this large are milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
_MS_FROM = 1e11

_FEEDBACK: dict[str, str | None] = {
    **dict.fromkeys(("up", "thumbs_up", "thumbs-up", "thumbsup", "thumb_up", "like", "liked",
                     "positive", "good", "+1", "1", "true", "yes", "\N{THUMBS UP SIGN}"), "up"),
    **dict.fromkeys(("down", "thumbs_down", "thumbs-down", "thumbsdown", "thumb_down", "dislike",
                     "disliked", "negative", "bad", "-1", "false", "no", "\N{THUMBS DOWN SIGN}"),
                    "down"),
    **dict.fromkeys(("", "none", "null", "0", "neutral"), None),
}


@dataclass(frozen=True, slots=True)
class Position:
    """Where a reader stands in a log file: after line ``line``, at byte ``offset``.

    ``device`` and ``inode`` name the file itself, not its path, so that a reader resumed after
    the file was rotated knows the file at the path is another one. ``fingerprint`` is a hash of
    the file's first line (its first 1 KiB at most): a file system hands a deleted file's inode to
    the next file created, so a new log can carry the old one's inode; its first line tells them
    apart (and tells a file truncated and written again from the one the position was taken in).
    An empty fingerprint trusts the inode alone. Store the position with what was ingested (in
    the same transaction) and pass it back as ``read_log(start=...)``.
    """

    device: int
    inode: int
    offset: int
    line: int
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One conversation from a production log.

    Attributes:
        conversation_id: the line's ``id`` (a number becomes text), else ``"<source>:<line>"``.
        timestamp: UTC, ISO 8601 with milliseconds (``2026-12-01T10:00:00.000Z``), or None.
        model: the line's ``model`` (a model name or version), or None.
        language: the line's ``lang`` when it is a language code (``en``, ``zh``, ``zh-CN`` →
            ``zh``: the primary subtag, lower case); else detected (``en`` or ``zh``, by
            :func:`levelhead.judges._normalise.detect_language` on the first 1,000 characters)
            from the user messages, or from the assistant ones when the user wrote no letters;
            None when no message has any.
        feedback: the user's verdict on the reply: ``"up"``, ``"down"`` or None.
        messages: the conversation, each ``{"role": ..., "content": ...}`` with text content.
        line: the line's number in its file, from 1.
        offset: the byte offset of the line's start.
        position: where a reader stands after this line; None from :func:`parse_line`.
    """

    conversation_id: str
    timestamp: str | None
    model: str | None
    language: str | None
    feedback: str | None
    messages: tuple[dict[str, str], ...]
    line: int
    offset: int
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that is not a conversation: counted and reported, never fatal to the reader.

    ``reason`` says what is wrong in one line (``not JSON (Expecting ',' delimiter at column
    40)``); ``str()`` gives it with the line number.
    """

    line: int
    offset: int
    reason: str
    position: Position

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RawLine:
    """A line :func:`read_log` read but left to be parsed (``parse=False``): not blank, not too
    long, its bytes as they are, with what :func:`parse_line` needs to parse it."""

    raw: bytes
    line: int
    offset: int
    source: str
    position: Position


Item: TypeAlias = LogRecord | Malformed
"""What :func:`read_log` yields: a conversation, or a malformed line's report."""

#: A line handed to :func:`parse_lines`: ``(raw bytes, line, offset, source)``, or, for a line
#: the reader already found malformed (too long), ``(None, line, offset, reason)``.
LineToParse: TypeAlias = tuple[bytes | None, int, int, str]


class MalformedLine(ValueError):
    """A log line is not a conversation; the message is ``line 17: <reason>``.

    Control flow between :func:`parse_line` and its caller: :func:`read_log` turns it into a
    :class:`Malformed` item and goes on.
    """

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def parse_line(raw: bytes, line: int, offset: int, source: str, *,
               max_line_bytes: int = MAX_LINE_BYTES) -> LogRecord | None:
    """One log line as a :class:`LogRecord`.

    Args:
        raw: the line's bytes, with or without its newline.
        line: its number in the file, from 1 (for messages and the default id).
        offset: the byte offset of its start.
        source: names the file in the default id, ``"<source>:<line>"``.
        max_line_bytes: a longer line (without its newline) is malformed and not parsed.

    Returns:
        The record, or None for a blank line (readers skip those: they are not malformed).

    Raises:
        MalformedLine: not UTF-8, not JSON, not an object, too long, or a field of the wrong
            shape; the reason names the field (``messages[2].role must be text``).

    ``feedback`` may be spelt ``up``/``down``, ``thumbs_up``/``thumbs_down`` (or with ``-``),
    ``like``/``dislike``, ``positive``/``negative``, ``+1``/``-1``, ``1``/``-1``, ``true``/``false``
    (JSON booleans or strings, any case), 👍/👎; ``0``, ``"neutral"``, ``""`` and null mean none.
    ``timestamp`` may be ISO 8601 (``Z``, an offset, or none: UTC) or epoch seconds or
    milliseconds as a number (10¹¹ and above are milliseconds).
    """
    return _parse(raw, line, offset, source, None, max_line_bytes)


def parse_lines(lines: Iterable[LineToParse]) -> tuple[list[LogRecord], list[tuple[int, str]]]:
    """The records of lines read with ``read_log(parse=False)``, and the ``(line, reason)`` of
    the malformed ones (those the reader found too, in the order read).

    What a worker process does with a batch of raw lines, so that the reading process only reads
    and stores. The reader has already checked each line's length against its limit.
    """
    records: list[LogRecord] = []
    malformed: list[tuple[int, str]] = []
    for raw, line, offset, source in lines:
        if raw is None:
            malformed.append((line, source))
            continue
        try:
            record = _parse(raw, line, offset, source, None, len(raw))
        except MalformedLine as exc:
            malformed.append((exc.line, exc.reason))
            continue
        if record is not None:
            records.append(record)
    return records, malformed


def _parse(raw: bytes, line: int, offset: int, source: str, position: Position | None,
           max_line_bytes: int) -> LogRecord | None:
    size = len(raw) - (raw.endswith(b"\n") + raw.endswith(b"\r\n"))
    if size > max_line_bytes:
        raise MalformedLine(line, _too_long_reason(max_line_bytes, len(raw)))
    if raw.isspace() or not raw:
        return None
    if raw.endswith(b"\n"):  # so that a JSON error at the end of the line is on line 1
        raw = raw[:-1]
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise MalformedLine(line, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                                  f"{exc.start + 1})") from None
    if offset == 0 and text.startswith("\ufeff"):  # a byte-order mark some editors write
        text = text[1:]
    try:
        obj = _DECODE(text)
    except json.JSONDecodeError as exc:
        raise MalformedLine(line, f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise MalformedLine(line, "not JSON (nested too deeply)") from None
    if type(obj) is not dict:
        raise MalformedLine(line, f"not a JSON object (a {_kind(obj)})")
    messages = obj.get("messages")
    if messages is None:
        raise MalformedLine(line, "`messages` missing")
    if type(messages) is not list or not messages:
        raise MalformedLine(line, "`messages` must be a non-empty list of messages")

    out: list[dict[str, str]] = []
    has_assistant = False
    for i, message in enumerate(messages):
        if type(message) is not dict:
            raise MalformedLine(line, f"messages[{i}] must be an object (a {_kind(message)})")
        role = message.get("role")
        if type(role) is not str or not role:
            raise MalformedLine(line, f"messages[{i}].role must be text")
        content = message.get("content")
        if type(content) is not str:
            content = _content_text(content, message, line, i)
        elif len(message) == 2:  # already {"role": ..., "content": ...}: keep it, save a copy
            out.append(message)
            has_assistant = has_assistant or role == "assistant"
            continue
        if role == "assistant":
            has_assistant = True
        out.append({"role": role, "content": content})
    if not has_assistant:
        raise MalformedLine(line, "no assistant message")

    conversation_id = obj.get("id")
    if type(conversation_id) is not str or not conversation_id:
        if conversation_id is None or conversation_id == "":
            conversation_id = f"{source}:{line}"
        elif type(conversation_id) is int:
            conversation_id = str(conversation_id)
        else:
            raise MalformedLine(line, f"`id` must be text or a whole number (a {_kind(conversation_id)})")
    model = obj.get("model")
    if model is not None and type(model) is not str:
        raise MalformedLine(line, f"`model` must be text (a {_kind(model)})")
    timestamp = obj.get("timestamp")
    if timestamp is not None:
        timestamp = _timestamp(timestamp, line)
    feedback = obj.get("feedback")
    if feedback is not None:
        feedback = _feedback(feedback, line)
    if b"\\ud" in raw or b"\\uD" in raw:  # an escaped surrogate: see _whole_characters
        out = [{"role": _whole_characters(m["role"]), "content": _whole_characters(m["content"])}
               for m in out]
        conversation_id = _whole_characters(conversation_id)
        model = _whole_characters(model) if model else model
    return LogRecord(conversation_id, timestamp, model or None, _language(obj.get("lang"), out),
                     feedback, tuple(out), line, offset, position)


def _whole_characters(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD.

    JSON's ``\\ud83d\\ude00`` is one emoji, but a lone ``\\ud83d`` decodes to a half character
    that no UTF-8 writer (SQLite, a web page) accepts: one such line must not stop what stores it.
    """
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _too_long_reason(limit: int, size: int) -> str:
    """Why a line was not parsed; ``size`` counts its newline, if it has one."""
    return f"longer than the limit of {limit:,} bytes ({size:,} bytes with its newline); not parsed"


def _kind(value: object) -> str:
    """A JSON value's kind as a user would name it."""
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def _content_text(content: object, message: dict[str, Any], line: int, i: int) -> str:
    """A message's content as text: a list of OpenAI content parts has its text parts joined
    (one per line); images and audio are left out. No content (an assistant that only called a
    tool) is empty text, or the model's refusal when it gave one."""
    if content is None:
        refusal = message.get("refusal")
        return refusal if type(refusal) is str else ""
    if type(content) is not list:
        raise MalformedLine(line, f"messages[{i}].content must be text or a list of content parts "
                                  f"(a {_kind(content)})")
    texts = []
    for j, part in enumerate(content):
        if type(part) is str:
            texts.append(part)
            continue
        if type(part) is not dict:
            raise MalformedLine(line, f"messages[{i}].content[{j}] must be a content part object "
                                      f"(a {_kind(part)})")
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text", "refusal"):
            key = "refusal" if kind == "refusal" else "text"
            value = part.get(key)
            if type(value) is not str:
                raise MalformedLine(line, f"messages[{i}].content[{j}].{key} must be text")
            texts.append(value)
    return "\n".join(texts)


def _timestamp(value: object, line: int) -> str | None:
    """``value`` as UTC ISO 8601 with milliseconds."""
    try:
        if type(value) is str:
            if not value:
                return None
            moment = datetime.fromisoformat(value)
            if (len(value) == 20 and value[19] == "Z" and value[10] == "T" and value[13] == ":"
                    and value[16] == ":"):
                return value[:19] + ".000Z"  # the usual form: valid, in UTC, only short of ms
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        elif type(value) is int or type(value) is float:
            number = float(value)
            ms = round(number if abs(number) >= _MS_FROM else number * 1000)
            moment = _EPOCH + timedelta(milliseconds=ms)
        else:
            raise MalformedLine(line, f"`timestamp` must be ISO 8601 text or epoch seconds "
                                      f"(a {_kind(value)})")
    except (ValueError, OverflowError):
        raise MalformedLine(line, f"`timestamp` {value!r} is not an ISO 8601 time or epoch "
                                  f"seconds/milliseconds") from None
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def _feedback(value: object, line: int) -> str | None:
    """``"up"``, ``"down"`` or None from the spellings :func:`parse_line` lists."""
    if value is True:
        return "up"
    if value is False:
        return "down"
    if type(value) is int or type(value) is float:
        if value in (1, -1, 0):
            return "up" if value == 1 else "down" if value == -1 else None
    elif type(value) is str:
        key = value.strip().lower()
        if key in _FEEDBACK:
            return _FEEDBACK[key]
    raise MalformedLine(line, f"`feedback` {value!r} is not up or down (nor thumbs_up/thumbs_down, "
                              f"1/-1, true/false)")


def _language(given: object, messages: list[dict[str, str]]) -> str | None:
    """The line's language code, else the one detected from its user, then assistant, text."""
    if type(given) is str:
        match = _LANG_CODE.fullmatch(given)
        if match:
            return match.group(1).lower()
    for role in ("user", "assistant"):
        text = "\n".join(m["content"] for m in messages if m["role"] == role)
        if _LETTER.search(text):
            # ASCII text holds no CJK ideograph, so detect_language would say "en": skip its
            # character-by-character walk for the common case.
            return "en" if text.isascii() else detect_language(text[:_DETECT_CHARS])
    return None


class _Cursor:
    """One open log file and where the reader stands in it.

    ``offset`` and ``line`` are committed: the start of the first line not yet yielded. Bytes of
    a line whose newline has not arrived are kept in ``partial`` (at most ``limit`` of them); a
    line found longer than ``limit`` is skipped to its end without being kept (``skipped`` counts
    its bytes so far).
    """

    def __init__(self, handle: io.BufferedReader, device: int, inode: int, source: str, limit: int,
                 explicit: bool = False, parse: bool = True) -> None:
        self.handle = handle
        self.parse = parse
        self.device = device
        self.inode = inode
        self.source = source
        self.explicit = explicit  # a source name given by the caller is used as it is
        self.limit = limit
        self.offset = 0
        self.line = 0
        self.partial = b""
        self.skipped: int | None = None
        self._fingerprint = ""

    def seek(self, offset: int, line: int) -> None:
        """Stand before the byte ``offset``, after line ``line`` (0 for the start)."""
        self.handle.seek(offset)
        self.offset, self.line, self.partial, self.skipped = offset, line, b"", None
        self._fingerprint = ""  # after a truncation the first line is another one

    def fingerprint(self) -> str:
        """The hash of the file's first line (see :class:`Position`); taken once that line is
        complete, when the first position is made, and kept: the first line does not change."""
        if not self._fingerprint:
            self._fingerprint = _fingerprint(self.handle)
        return self._fingerprint

    def rewritten(self) -> bool:
        """Whether the first line changed since it was read: truncated and written again
        beyond where the reader stands before it looked."""
        return bool(self._fingerprint) and self._fingerprint != _fingerprint(self.handle)

    def is_at(self, position: Position) -> bool:
        """Whether this is the file ``position`` was taken in, still as long as its offset."""
        return ((self.device, self.inode) == (position.device, position.inode)
                and (not position.fingerprint or position.fingerprint == _fingerprint(self.handle))
                and os.fstat(self.handle.fileno()).st_size >= position.offset)

    @property
    def read_to(self) -> int:
        """How far the file has been read, pending bytes included."""
        return self.offset + (self.skipped if self.skipped is not None else len(self.partial))

    @property
    def pending(self) -> bool:
        """Whether part of a line waits for its newline."""
        return bool(self.partial) or self.skipped is not None

    def drain(self, stopped: Callable[[], bool]) -> Iterator[Item | RawLine]:
        """Every complete line there is now; a partial last line stays pending."""
        readline = self.handle.readline
        limit = self.limit
        while not stopped():
            if self.skipped is not None:
                chunk = readline(_SKIP_CHUNK)
                if not chunk:
                    return
                self.skipped += len(chunk)
                if chunk.endswith(b"\n"):
                    yield self._too_long()
                continue
            raw = readline(limit + 2 - len(self.partial))  # +2: the line's "\r\n" is not counted
            if not raw:
                return
            if self.partial:
                raw, self.partial = self.partial + raw, b""
            if raw.endswith(b"\n"):
                item = self._item(raw)
                if item is not None:
                    yield item
            elif len(raw) > limit + 1:
                self.skipped = len(raw)
            else:  # the end of the file, in the middle of a line
                self.partial = raw

    def finish(self, *, complete: bool = True) -> Iterator[Item | RawLine]:
        """The pending partial line as the file's last.

        With ``complete`` the file is known to be complete (rotated away). Without it the line
        may still be being written: it is taken only when it reads as a whole conversation, and
        otherwise left where it is (not reported, not passed), for the next reading to take
        once its newline has come."""
        if self.skipped is not None:
            if complete:
                yield self._too_long()
        elif self.partial:
            raw, self.partial = self.partial, b""
            offset, line = self.offset, self.line
            item = self._item(raw)
            if not complete and (isinstance(item, Malformed) or (
                    isinstance(item, RawLine) and not _parses(item))):
                self.offset, self.line = offset, line
                return
            if item is not None:
                yield item

    def _item(self, raw: bytes) -> Item | RawLine | None:
        start = self.offset
        self.offset += len(raw)
        self.line += 1
        fingerprint = self._fingerprint or self.fingerprint()
        position = Position(self.device, self.inode, self.offset, self.line, fingerprint)
        # A default id names the file by its first line too: after a copytruncate the lines are
        # numbered from 1 again, in another file as far as ids go.
        source = self.source if self.explicit else f"{self.source}.{fingerprint[:6]}"
        if not self.parse:  # the checks _parse makes before it decodes; the rest is the caller's
            size = len(raw) - (raw.endswith(b"\n") + raw.endswith(b"\r\n"))
            if size > self.limit:
                return Malformed(self.line, start, _too_long_reason(self.limit, len(raw)), position)
            if raw.isspace() or not raw:
                return None
            return RawLine(raw, self.line, start, source, position)
        try:
            return _parse(raw, self.line, start, source, position, self.limit)
        except MalformedLine as exc:
            return Malformed(exc.line, start, exc.reason, position)

    def _too_long(self) -> Malformed:
        assert self.skipped is not None
        start, size = self.offset, self.skipped
        self.offset += size
        self.line += 1
        self.skipped = None
        position = Position(self.device, self.inode, self.offset, self.line, self.fingerprint())
        return Malformed(self.line, start, _too_long_reason(self.limit, size), position)


def _parses(item: RawLine) -> bool:
    """Whether a raw line reads as a conversation."""
    try:
        _parse(item.raw, item.line, item.offset, item.source, None, len(item.raw))
    except MalformedLine:
        return False
    return True


def _stop_and_wait(stop: threading.Event | Callable[[], bool] | None
                   ) -> tuple[Callable[[], bool], Callable[[float], bool]]:
    """``stop`` as (stopped?, wait seconds then say whether stopped)."""
    if stop is None:
        def sleep(seconds: float) -> bool:
            time.sleep(seconds)
            return False
        return (lambda: False), sleep
    if isinstance(stop, threading.Event):
        return stop.is_set, stop.wait
    check = stop

    def wait(seconds: float) -> bool:
        if check():
            return True
        time.sleep(seconds)
        return check()
    return check, wait


def _fingerprint(handle: io.BufferedReader) -> str:
    """A hash of the first line of the open file (of its first bytes when that line is longer)."""
    head = os.pread(handle.fileno(), _FINGERPRINT_BYTES, 0)
    end = head.find(b"\n")
    return hashlib.blake2b(head[:end + 1] if end >= 0 else head, digest_size=8).hexdigest()


def _identity(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _find_inode(directory: Path, device: int, inode: int) -> Path | None:
    """The file in ``directory`` that is (device, inode): where a rotated log went."""
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.inode() == inode and entry.is_file():
                    st = entry.stat()
                    if st.st_dev == device and st.st_ino == inode:
                        return Path(entry.path)
    except OSError:
        return None
    return None


def read_log(path: str | os.PathLike[str], *, start: Position | None = None, follow: bool = False,
             poll_s: float = 0.2, stop: threading.Event | Callable[[], bool] | None = None,
             max_line_bytes: int = MAX_LINE_BYTES, source: str | None = None,
             parse: bool = True) -> Iterator[Item | RawLine]:
    """Every conversation in a JSONL log, in file order, each with the :class:`Position` after it.

    Blank lines are skipped; a malformed line is yielded as :class:`Malformed` (line number and
    reason) and reading goes on.

    Args:
        path: the log file.
        start: where a previous reader stopped (the ``position`` of the last item it handled): it
            reads on from the line after it. If the file at ``path`` is another file (another
            inode, or the same inode with another first line: see :class:`Position`), the old file
            is looked for beside it (``app.log.1``): the rest of it is read first, then the file at
            the path from its start. Lines written to the old file after the stop are lost only
            if the old file is gone from the directory (deleted, compressed or moved away), or if
            it was rotated twice: the file in between is not looked for. A file truncated since
            (shorter than the offset, or with another first line) is read from its start.
        follow: keep reading as the file grows, like ``tail -F``. A partial last line waits for
            its newline. When the file is rotated (renamed away and a new one created at the path)
            the old one is finished through the open handle first (a partial last line gets one
            more ``poll_s`` to be completed), then the new one is read from its start; when it is
            truncated in place (copytruncate: shorter than what was read, or its first line
            changed) it is read again from its start; when the path is missing the reader waits
            for it. Lines appended to the old file after the reader moved on, and with
            copytruncate those written between the copy and the truncation, are lost, as they are
            for ``tail -F``. Without ``follow``, reading stops at the end of the file and a last
            line with no newline is read as it is.
        poll_s: seconds between looks at the file while following.
        stop: a :class:`threading.Event` or a callable that returns True to stop; checked between
            lines and while waiting. Closing the generator stops it too.
        max_line_bytes: longer lines are malformed; they are skipped without being held in memory.
        source: names the file in default conversation ids (``"<source>:<line>"``); by default
            the file's name, inode and first line's hash (``app.log@1837462.9f2c1a``), so that a
            rotated or truncated file's lines keep ids
            apart from its successor's. After a copytruncate the line numbers, and so the
            default ids, start again.

    Yields:
        :class:`LogRecord` or :class:`Malformed`, each with ``position`` set.

    Raises:
        FileNotFoundError: without ``follow``, when there is no file at ``path``.
    """
    path = Path(path)
    stopped, wait = _stop_and_wait(stop)

    def cursor_for(handle: io.BufferedReader) -> _Cursor:
        st = os.fstat(handle.fileno())
        name = source if source is not None else f"{path.name}@{st.st_ino}"
        return _Cursor(handle, st.st_dev, st.st_ino, name, max_line_bytes, source is not None,
                       parse)

    def finish_rotated(cursor: _Cursor) -> Iterator[Item | RawLine]:
        yield from cursor.drain(stopped)
        if cursor.pending and follow and not stopped():
            wait(poll_s)  # a writer may be completing its last line in the old file
            yield from cursor.drain(stopped)
        if not stopped():
            yield from cursor.finish()

    current: _Cursor | None = None
    try:
        if start is not None:
            # No file at the path (rotated away, not created again yet): the old one may be beside it.
            with contextlib.suppress(FileNotFoundError):
                current = cursor_for(open(path, "rb"))  # noqa: SIM115 (closed in finally)
            if current is not None and current.is_at(start):
                current.seek(start.offset, start.line)
            elif current is None or (current.device, current.inode) != (start.device, start.inode):
                # Another file at the path: the old one may have been rotated to a name beside it.
                old = _find_inode(path.parent, start.device, start.inode)
                if old is not None:
                    with open(old, "rb") as handle:
                        rotated = cursor_for(handle)
                        if rotated.is_at(start):
                            rotated.seek(start.offset, start.line)
                            yield from finish_rotated(rotated)
            # else: the same inode holds other lines now (truncated and written again, or a new
            # file given a deleted one's inode): what is there is new, read from its start.
        while not stopped():
            if current is None:
                try:
                    current = cursor_for(open(path, "rb"))  # noqa: SIM115 (closed in finally)
                except FileNotFoundError:
                    if not follow:
                        raise
                    if wait(poll_s):
                        return
                    continue
            yield from current.drain(stopped)
            if not follow:
                if not stopped():
                    yield from current.finish(complete=False)
                return
            # At the end of the file: wait, then look at the path before reading on, so that a
            # file truncated and written again meanwhile is not read on from the old offset.
            if wait(poll_s):
                return
            st = _identity(path)
            if st is not None and (st.st_dev, st.st_ino) != (current.device, current.inode):
                yield from finish_rotated(current)
                current.handle.close()
                current = None
            elif st is not None and (st.st_size < current.read_to or current.rewritten()):
                current.seek(0, 0)  # truncated in place: what is there now is new
    finally:
        if current is not None:
            current.handle.close()
