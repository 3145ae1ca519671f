"""Probe files: the JSONL prompt items a behaviour package ships (or a spec's ``file =`` names),
the same layout written by an importer, and the CSV rows an importer reads.

Every failure is a :class:`~levelhead.errors.SpecError` of one line naming the file (and the
line). Reading a command-line path (standard input, encodings) is the CLI's business: importers
here take the text already read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from levelhead._csv import FIELD_LIMIT, csv_header, csv_rows
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


