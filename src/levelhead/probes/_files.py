"""Probe files: the JSONL prompt items a behaviour package ships (or a spec's ``file =`` names),
the same layout written by an importer, and the CSV rows an importer reads.

Every failure is a :class:`~levelhead.errors.SpecError` of one line naming the file (and the
line). Reading a command-line path (standard input, encodings) is the CLI's business: importers
here take the text already read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from levelhead.errors import SpecError

__all__ = ["FIELD_LIMIT", "csv_header", "csv_rows", "items_jsonl", "read_items",
           "read_numbered_items"]


def read_items(package: str, name: str, file: str | None) -> list[dict[str, Any]]:
    """The items of a probe file, header lines left out: ``file`` when given, else the
    packaged ``data/<name>.jsonl`` of ``package`` (a behaviour package, e.g.
    ``"levelhead.probes.politics"``).

    Raises:
        SpecError: the file cannot be read, or a line is not a JSON object (with its number).
    """
    return [item for _, item in read_numbered_items(package, name, file)[1]]


def read_numbered_items(package: str, name: str, file: str | None, *,
                        error: type[SpecError] = SpecError
                        ) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    """The one reader of probe data: :func:`read_items` with each item's line number, and the
    name of the file read (for messages that point at a line).

    Raises:
        SpecError: of type ``error``: the file cannot be read or is not UTF-8, or a line is not
            a JSON object.
    """
    source = file or f"{name}.jsonl"
    try:
        text = (Path(file).read_text(encoding="utf-8") if file else
                (resources.files(package) / "data" / f"{name}.jsonl").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"probe file {source}: cannot read ({exc})") from None
    items = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise error(f"{source}:{i}: not valid JSON ({exc})") from None
        if not isinstance(item, dict):
            raise error(f"{source}:{i}: expected a JSON object, got {type(item).__name__}")
        if item.get("type") != "header":
            items.append((i, item))
    return source, items


def items_jsonl(items: Iterable[dict[str, object]]) -> str:
    """A probe file's text: one JSON object per line (what :func:`read_items` reads)."""
    return "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)


# The csv module refuses fields over 128 kB by default; a long prompt (a pasted document) may
# be bigger, but a field of more than this is a broken quote swallowing the file, not a prompt.
FIELD_LIMIT = 10 * 1024 * 1024


def csv_rows(text: str, source: str | Path) -> list[tuple[int, list[str]]]:
    """The rows of a CSV file's ``text``, each with the line it starts on.

    The csv module reads the text end to end, so that a quoted field keeps its newlines and the
    line numbers of later rows stay right. Strict: a quote that is never closed is an error, not
    a field that swallows the rest of the file.

    Raises:
        SpecError: not a readable CSV, or a field over :data:`FIELD_LIMIT` (with the line its
            row starts on).
    """
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    previous = csv.field_size_limit(FIELD_LIMIT)
    try:
        for fields in reader:
            rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise SpecError(f"{source}:{start}: a field of the row starting on this line is over "
                            f"{FIELD_LIMIT // 2**20} MB (an unclosed quote?); no prompt is that "
                            "long") from None
        raise SpecError(f"{source}:{reader.line_num}: not a readable CSV ({exc})") from None
    finally:
        csv.field_size_limit(previous)
    return rows


def csv_header(rows: list[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The first non-empty row (lower case, stripped) and the non-empty rows under it."""
    filled = [(line, fields) for line, fields in rows if any(f.strip() for f in fields)]
    if not filled:
        return [], []
    return [h.strip().lower() for h in filled[0][1]], filled[1:]
