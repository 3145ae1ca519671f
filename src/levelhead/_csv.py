"""Reading CSV files that people publish (prompt sets, labelled replies): the rows with the line
each starts on, strictly, with one-line errors. One reader for every importer (probe files in
``levelhead.probes``, gold labels in ``levelhead.judges``). May import ``errors`` only.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from levelhead.errors import SpecError

__all__ = ["FIELD_LIMIT", "csv_header", "csv_rows"]

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
