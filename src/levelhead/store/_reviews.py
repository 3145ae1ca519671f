"""Spot-check review queues: a run's samples drawn for people to label, to check a judge
identity's labels against theirs, and the labels they give.

A queue is written once, whole, and never changed. Labels are appended: a reviewer who labels
an item again supersedes their earlier label, and an undo marks the reviewer's newest live
label in the queue undone (the one before it then counts again), so the history stays. Every
write checks what it is given and says what is wrong in one line
(:class:`~levelhead.errors.StoreError`).
"""

from __future__ import annotations

import difflib
import json
import math
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from levelhead.errors import StoreError
from levelhead.store._connection import SQLiteConnection, timestamp
from levelhead.store._records import ReviewItemRecord, ReviewLabelRecord, ReviewQueueRecord

NAME_MAX = 64
"""The longest queue or reviewer name, in characters."""
NOTE_MAX = 2_000
"""The longest note on a label, in characters."""

_QUEUE = (
    "SELECT q.id, q.run_id, q.name, q.judge_id, j.name, j.version, j.args_json, q.labels_json,"
    " q.design_json, q.created_at,"
    " (SELECT COUNT(*) FROM review_items i WHERE i.queue_id = q.id),"
    " (SELECT COUNT(DISTINCT l.sample_id) FROM review_labels l"
    "  WHERE l.queue_id = q.id AND l.undone = 0)"
    " FROM review_queues q JOIN judges j ON j.id = q.judge_id")
_LABEL = "SELECT id, queue_id, sample_id, reviewer, label, note, created_at, undone FROM review_labels"
# The label that counts for a reviewer on an item: their newest one not undone.
_CURRENT = (
    "SELECT l.id, l.queue_id, l.sample_id, l.reviewer, l.label, l.note, l.created_at, l.undone"
    " FROM review_labels l JOIN review_items i"
    " ON i.queue_id = l.queue_id AND i.sample_id = l.sample_id"
    " WHERE l.queue_id = ? AND l.undone = 0 AND l.id = (SELECT MAX(m.id) FROM review_labels m"
    "  WHERE m.queue_id = l.queue_id AND m.sample_id = l.sample_id AND m.reviewer = l.reviewer"
    "  AND m.undone = 0)"
    " ORDER BY i.position, l.reviewer")
# Sample ids checked per query (SQLite allows 32,766 parameters; older builds 999).
_CHUNK = 500


class ReviewRows(SQLiteConnection):
    """Creating and reading review queues, and the labels reviewers give."""

    # -- queues --------------------------------------------------------------------------------
    def create_review_queue(self, run_id: int, name: str, judge_id: int, labels: Sequence[str],
                            design: dict[str, Any], items: Sequence[tuple[int, str, float]]
                            ) -> ReviewQueueRecord:
        """Store a review queue of the run's samples, whole, in one transaction.

        Raises:
            RunNotFoundError: no such run.
            StoreError: a malformed name, label set, design or item; a sample that is not a
                reply of this run, or is given twice; an unknown judge identity; a queue of that
                name already in the run; a read-only store.
        """
        run = self.find_run(run_id)
        name = _plain(name, "a review queue's name")
        if name.isdigit():
            raise StoreError(f"review queue name '{name}' is only digits, which would read as a "
                             "queue id; give it a name with a letter in it")
        label_set = _label_set(labels)
        design_json = _design_json(design)
        rows = _item_rows(items)
        with self._writing(f"create review queue '{name}'"):
            if self._conn.execute("SELECT 1 FROM judges WHERE id = ?", (judge_id,)).fetchone() is None:
                raise StoreError(f"no judge identity with id {judge_id} in {self.path}; a queue "
                                 "checks a judge whose verdicts the store holds")
            taken = self._conn.execute("SELECT id FROM review_queues WHERE run_id = ? AND name = ?",
                                       (run.id, name)).fetchone()
            if taken is not None:
                raise StoreError(f"run '{run.name}' already has a review queue '{name}' (id "
                                 f"{taken[0]}); give the new queue another name")
            self._check_samples(run.id, run.name, [r[0] for r in rows])
            cur = self._conn.execute(
                "INSERT INTO review_queues (run_id, name, judge_id, labels_json, design_json,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (run.id, name, judge_id, json.dumps(list(label_set), ensure_ascii=False),
                 design_json, timestamp()))
            queue_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO review_items (queue_id, position, sample_id, stratum, inclusion_prob)"
                " VALUES (?,?,?,?,?)",
                [(queue_id, position, *row) for position, row in enumerate(rows)])
        return self._queue(queue_id)

    def _check_samples(self, run_id: int, run_name: str, sample_ids: list[int]) -> None:
        found: dict[int, tuple[int, str]] = {}
        for start in range(0, len(sample_ids), _CHUNK):
            chunk = sample_ids[start:start + _CHUNK]
            found.update((sid, (rid, status)) for sid, rid, status in self._conn.execute(
                f"SELECT id, run_id, status FROM samples WHERE id IN ({','.join('?' * len(chunk))})",
                chunk))
        for sid in sample_ids:
            if sid not in found or found[sid][0] != run_id:
                raise StoreError(f"sample {sid} is not a sample of run '{run_name}'; a review "
                                 "queue holds samples of its own run only")
            if found[sid][1] != "ok":
                raise StoreError(f"sample {sid} of run '{run_name}' is an error, with no reply "
                                 "to review; draw only samples with a reply")

    def review_queues(self, run_id: int | None = None) -> list[ReviewQueueRecord]:
        """The review queues of a run (or of every run), newest first."""
        if run_id is None:
            rows = self._conn.execute(_QUEUE + " ORDER BY q.id DESC").fetchall()
        else:
            rows = self._conn.execute(_QUEUE + " WHERE q.run_id = ? ORDER BY q.id DESC",
                                      (run_id,)).fetchall()
        return [_queue_record(r) for r in rows]

    def find_review_queue(self, run_id: int, ref: str | int) -> ReviewQueueRecord:
        """A review queue of the run by id (or a string of digits) or by name.

        Raises:
            RunNotFoundError: no such run.
            StoreError: the run has no such queue; the message suggests a close name, or names
                the run's queues.
        """
        run = self.find_run(run_id)
        row = None
        text = str(ref).strip()
        if isinstance(ref, int) or text.isdigit():
            row = self._conn.execute(_QUEUE + " WHERE q.run_id = ? AND q.id = ?",
                                     (run.id, int(text))).fetchone()
        if row is None:
            row = self._conn.execute(_QUEUE + " WHERE q.run_id = ? AND q.name = ?",
                                     (run.id, text)).fetchone()
        if row is None:
            names = [r[0] for r in self._conn.execute(
                "SELECT name FROM review_queues WHERE run_id = ? ORDER BY id DESC", (run.id,))]
            close = difflib.get_close_matches(text, names, n=1, cutoff=0.5)
            if close:
                hint = f"did you mean '{close[0]}'?"
            elif names:
                more = f" and {len(names) - 5} more" if len(names) > 5 else ""
                hint = f"its review queues, newest first: {', '.join(names[:5])}{more}"
            else:
                hint = "it has no review queues yet"
            raise StoreError(f"no review queue '{ref}' in run '{run.name}' ({hint})")
        return _queue_record(row)

    def _queue(self, queue_id: int) -> ReviewQueueRecord:
        row = self._conn.execute(_QUEUE + " WHERE q.id = ?", (queue_id,)).fetchone()
        if row is None:
            raise StoreError(f"no review queue with id {queue_id} in {self.path}")
        return _queue_record(row)

    def review_items(self, queue_id: int) -> list[ReviewItemRecord]:
        """The queue's samples in the order reviewers see them.

        Raises:
            StoreError: no such queue.
        """
        self._queue(queue_id)
        return [ReviewItemRecord(*row) for row in self._conn.execute(
            "SELECT i.queue_id, i.position, i.sample_id, i.stratum, i.inclusion_prob, t.name,"
            " p.probe, p.prompt_id, s.sample_index FROM review_items i"
            " JOIN samples s ON s.id = i.sample_id JOIN targets t ON t.id = s.target_id"
            " JOIN prompts p ON p.id = s.prompt_id WHERE i.queue_id = ? ORDER BY i.position",
            (queue_id,))]

    # -- labels --------------------------------------------------------------------------------
    def add_review_label(self, queue_id: int, sample_id: int, reviewer: str, label: str,
                         note: str = "") -> ReviewLabelRecord:
        """Record a reviewer's label on an item of the queue (superseding their earlier one).

        Raises:
            StoreError: no such queue; the sample is not in it; the label is not one of the
                queue's; a malformed reviewer name or note; a read-only store.
        """
        who = _plain(reviewer, "a reviewer's name")
        text = _note(note)
        with self._writing("record a review label"):
            queue = self._queue(queue_id)
            if label not in queue.labels:
                close = difflib.get_close_matches(str(label), list(queue.labels), n=1, cutoff=0.5)
                hint = f"did you mean '{close[0]}'?" if close else "choose one of: " + ", ".join(
                    queue.labels)
                raise StoreError(f"'{label}' is not a label of review queue '{queue.name}'; {hint}")
            if self._conn.execute("SELECT 1 FROM review_items WHERE queue_id = ? AND sample_id = ?",
                                  (queue_id, sample_id)).fetchone() is None:
                raise StoreError(f"sample {sample_id} is not in review queue '{queue.name}'")
            created = datetime.now(UTC).isoformat(timespec="milliseconds")
            cur = self._conn.execute(
                "INSERT INTO review_labels (queue_id, sample_id, reviewer, label, note, created_at)"
                " VALUES (?,?,?,?,?,?)", (queue_id, sample_id, who, label, text or None, created))
        return ReviewLabelRecord(int(cur.lastrowid or 0), queue_id, sample_id, who, label, text,
                                 created)

    def undo_review_label(self, queue_id: int, reviewer: str) -> ReviewLabelRecord | None:
        """Mark the reviewer's newest live label in the queue undone; returns it (now undone),
        or None when they have none left.

        Raises:
            StoreError: no such queue; a malformed reviewer name; a read-only store.
        """
        who = _plain(reviewer, "a reviewer's name")
        with self._writing("undo a review label"):
            self._queue(queue_id)
            row = self._conn.execute(_LABEL + " WHERE queue_id = ? AND reviewer = ? AND undone = 0"
                                     " ORDER BY id DESC LIMIT 1", (queue_id, who)).fetchone()
            if row is None:
                return None
            self._conn.execute("UPDATE review_labels SET undone = 1 WHERE id = ?", (row[0],))
        return _label_record((*row[:-1], 1))

    def review_labels(self, queue_id: int, *, history: bool = False) -> list[ReviewLabelRecord]:
        """The labels that count: each reviewer's newest live label per item, by item position
        and reviewer; with ``history``, every label ever given (undone ones too), in the order
        given.

        Raises:
            StoreError: no such queue.
        """
        self._queue(queue_id)
        if history:
            rows = self._conn.execute(_LABEL + " WHERE queue_id = ? ORDER BY id", (queue_id,))
        else:
            rows = self._conn.execute(_CURRENT, (queue_id,))
        return [_label_record(r) for r in rows]


def _queue_record(row: tuple[Any, ...]) -> ReviewQueueRecord:
    return ReviewQueueRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                             tuple(json.loads(row[7])), json.loads(row[8]), row[9], row[10],
                             row[11])


def _label_record(row: tuple[Any, ...]) -> ReviewLabelRecord:
    return ReviewLabelRecord(row[0], row[1], row[2], row[3], row[4], row[5] or "", row[6],
                             bool(row[7]))


# Characters that would hide or break a name on one line: controls (newlines, escapes),
# invisible formatting (zero-width, right-to-left overrides) and line separators.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp"}


def _plain(value: object, what: str) -> str:
    """``value`` stripped: plain text of 1 to NAME_MAX characters, nothing hidden."""
    if not isinstance(value, str):
        raise StoreError(f"{what} must be text, not {type(value).__name__}")
    text = value.strip()
    if not 1 <= len(text) <= NAME_MAX:
        raise StoreError(f"{what} must be 1 to {NAME_MAX} characters, not {len(text)}")
    bad = next((ch for ch in text if unicodedata.category(ch) in _HIDDEN), None)
    if bad is not None:
        raise StoreError(f"{what} {text!r} holds a control or invisible character "
                         f"(U+{ord(bad):04X}); use plain text")
    return text


def _note(value: object) -> str:
    """A label's note stripped, with line breaks as ``\\n``: up to NOTE_MAX characters; line
    breaks and tabs are kept, other control characters refused."""
    if not isinstance(value, str):
        raise StoreError(f"a note must be text, not {type(value).__name__}")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > NOTE_MAX:
        raise StoreError(f"a note may hold up to {NOTE_MAX:,} characters, not {len(text):,}")
    bad = next((ch for ch in text if ch not in "\n\t" and unicodedata.category(ch) == "Cc"), None)
    if bad is not None:
        raise StoreError(f"a note holds a control character (U+{ord(bad):04X}); use plain text")
    return text


def _label_set(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str) or not labels:
        raise StoreError("a review queue needs a list of labels for reviewers to choose from")
    out: list[str] = []
    for label in labels:
        if (not isinstance(label, str) or not label or label != label.strip()
                or any(unicodedata.category(ch) in _HIDDEN for ch in label)):
            raise StoreError(f"review label {label!r} must be non-empty plain text without "
                             "surrounding spaces")
        if label in out:
            raise StoreError(f"review label '{label}' is given twice; labels must differ")
        out.append(label)
    return tuple(out)


def _design_json(design: dict[str, Any]) -> str:
    if not isinstance(design, dict):
        raise StoreError(f"a review queue's design must be a dict (seed, size, strata), not "
                         f"{type(design).__name__}")
    try:
        return json.dumps(design, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"a review queue's design must be plain JSON ({exc})") from None


def _item_rows(items: Sequence[tuple[int, str, float]]) -> list[tuple[int, str, float]]:
    """The items checked: (sample id, stratum, inclusion probability) each, no sample twice."""
    if not items:
        raise StoreError("a review queue needs at least one sample to review")
    rows: list[tuple[int, str, float]] = []
    seen: set[int] = set()
    for position, item in enumerate(items):
        try:
            sample_id, stratum, prob = item
        except (TypeError, ValueError):
            raise StoreError(f"review item {position} must be (sample id, stratum, inclusion "
                             f"probability), not {item!r}") from None
        if isinstance(sample_id, bool) or not isinstance(sample_id, int):
            raise StoreError(f"review item {position}: sample id {sample_id!r} is not an integer")
        if not isinstance(stratum, str) or not stratum:
            raise StoreError(f"review item {position}: stratum {stratum!r} must be non-empty text")
        if (isinstance(prob, bool) or not isinstance(prob, int | float)
                or not math.isfinite(prob) or not 0 < prob <= 1):
            raise StoreError(f"review item {position}: inclusion probability {prob!r} must be "
                             "above 0 and at most 1")
        if sample_id in seen:
            raise StoreError(f"review item {position}: sample {sample_id} is in the queue twice")
        seen.add(sample_id)
        rows.append((sample_id, stratum, float(prob)))
    return rows
