"""The importer of published over-refusal sets: a CSV becomes ``scolding.benign_edgy`` items
(``levelhead import refusal-set``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from levelhead.errors import SpecError
from levelhead.judges._normalise import detect_language
from levelhead.probes._files import csv_header, csv_rows

__all__ = ["REFUSAL_KINDS", "REFUSAL_REQUIRED", "detect_language", "import_refusal_set"]

REFUSAL_REQUIRED = ("id", "prompt", "type", "label")
REFUSAL_KINDS = {"safe": "benign", "unsafe": "harmful"}
def _id_slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    # An id with no ASCII letters or digits (e.g. all Chinese) still gets a stable, distinct slug.
    return slug or "h" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def import_refusal_set(text: str, source: Path, name: str, *, source_sha256: str
                       ) -> list[dict[str, object]]:
    """Items of a ``scolding.benign_edgy`` probe from the ``text`` of an over-refusal CSV,
    header first.

    The layout: columns ``id, prompt, type, label`` with ``label`` ``safe`` or ``unsafe`` (the
    layout of a widely used over-refusal set released under CC BY 4.0); a header row is required,
    extra columns are ignored. ``safe`` rows become ``benign`` items and ``unsafe`` rows
    ``harmful`` contrasts; ``type`` becomes ``category``; ``lang`` is detected
    (:func:`detect_language`); ids are ``<name>-<slug of the CSV id>``. The first item is a
    header that names the source file and its SHA-256 (``source_sha256``, of its bytes).

    Raises:
        SpecError: the file is not a readable CSV or is empty, a column is missing, or a row
            has an empty id or prompt, an unknown label or an id that repeats (after slugging)
            — with the line numbers.
    """
    header, body = csv_header(csv_rows(text, source))
    if not header:
        raise SpecError(f"{source}: empty file; expected a header row id,prompt,type,label and rows")
    missing = [c for c in REFUSAL_REQUIRED if c not in header]
    if missing:
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            hint = " (the header is one column: is the file separated by ';' or tabs? " \
                   "save it with commas)"
        raise SpecError(f"{source}: missing column(s) {', '.join(missing)}; an over-refusal CSV "
                        f"has a header row with {', '.join(REFUSAL_REQUIRED)} (label: safe or "
                        f"unsafe; other columns are ignored){hint}")
    col = {c: header.index(c) for c in REFUSAL_REQUIRED}
    rows = [(line, {c: (fields[i] if i < len(fields) else "").strip() for c, i in col.items()})
            for line, fields in body]
    if not rows:
        raise SpecError(f"{source}: no rows under the header")

    problems: dict[str, list[str]] = {"empty id": [], "empty prompt": [], "label": []}
    for line, row in rows:
        if not row["id"]:
            problems["empty id"].append(str(line))
        if not row["prompt"]:
            problems["empty prompt"].append(str(line))
        if row["label"].lower() not in REFUSAL_KINDS:
            problems["label"].append(f"{line} ({row['label']!r})")
    if problems["label"]:
        raise SpecError(f"{source}: label must be safe or unsafe; unknown value(s) on line(s) "
                        f"{_some(problems['label'])}")
    for what in ("empty id", "empty prompt"):
        if problems[what]:
            raise SpecError(f"{source}: {what} on line(s) {_some(problems[what])}")

    prefix = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "imported"
    first_line: dict[str, tuple[int, str]] = {}
    items: list[dict[str, object]] = []
    for line, row in rows:
        item_id = f"{prefix}-{_id_slug(row['id'])}"
        if item_id in first_line:
            seen_line, seen_id = first_line[item_id]
            same = "the same id" if seen_id == row["id"] else f"an id that slugs the same ({seen_id!r})"
            raise SpecError(f"{source}:{line}: id {row['id']!r} repeats {same} on line {seen_line}; "
                            f"ids must be unique so that results pair by prompt")
        first_line[item_id] = (line, row["id"])
        items.append({"id": item_id, "lang": detect_language(row["prompt"]),
                      "kind": REFUSAL_KINDS[row["label"].lower()],
                      "category": row["type"] or "unspecified", "text": row["prompt"]})
    header_item: dict[str, object] = {
        "type": "header", "list": name,
        "title": f"Over-refusal prompts imported from {source.name}",
        "imported_by": "levelhead import refusal-set", "source_file": source.name,
        "source_sha256": source_sha256,
        "license": "as the source file's; check it before you share this file",
        "sources": [source.name],
        "fields": "id (<name>-<slug of the CSV id>), lang (en | zh, detected: zh when at least 30 % "
                  "of the letters are CJK), kind (benign from label safe | harmful from label "
                  "unsafe), category (the CSV's type), text (the CSV's prompt)",
    }
    return [header_item, *items]


def _some(values: list[str], shown: int = 5) -> str:
    more = f" and {len(values) - shown} more" if len(values) > shown else ""
    return ", ".join(values[:shown]) + more
