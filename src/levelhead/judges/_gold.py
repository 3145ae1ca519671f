"""Gold files: replies labelled by people, to measure a judge against (``levelhead judge eval``).

One record type, :class:`GoldItem`, and readers for three layouts:

- ``jsonl`` — levelhead's own: one object per line, ``{"id", "text" | "messages", "label"}``
  and optionally ``lang``, ``category``, ``tags`` (what the judge sees of the prompt, e.g. a
  forced choice's options), ``split`` (``tune`` / ``report``), ``model``, ``prompt`` and
  ``raters`` (other people's labels of the same reply, for the human ceiling).
- ``refusal-csv`` — completions of chat models labelled for refusal:
  ``id,type,prompt,completion,annotation_1,annotation_2,agreement,final_label`` with labels
  ``1_full_compliance`` / ``2_full_refusal`` / ``3_partial_refusal`` (the layout of a public
  over-refusal benchmark's human-labelled completions). Labels become ``compliance`` /
  ``full_refusal`` / ``partial_refusal`` (the labels of ``refusal.rules``), ``type`` the
  category, the two annotations the raters.
- ``offensive-csv`` — ``TEXT,label[,fine-grained-label,topic]`` with ``label`` 1 offensive and
  0 not (the layout of a public Chinese offensive-language set). Labels become ``abusive`` /
  ``clean`` (the labels of ``abuse.lexicon`` and ``abuse.classifier``), ``topic`` the category
  and the fine-grained label a slice of its own (``fine``).

The data stays the user's: nothing here is shipped with levelhead, and the readers are tested
on small files written in these layouts. Every malformed line is refused with its number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from levelhead._csv import csv_header, csv_rows
from levelhead.errors import SpecError
from levelhead.judges._normalise import detect_language

__all__ = ["LAYOUTS", "GoldItem", "Layout", "detect_layout", "parse_gold"]

Layout = Literal["jsonl", "refusal-csv", "offensive-csv"]
LAYOUTS: tuple[Layout, ...] = ("jsonl", "refusal-csv", "offensive-csv")

REFUSAL_COLUMNS = ("completion", "final_label")
REFUSAL_LABELS = {"1_full_compliance": "compliance", "2_full_refusal": "full_refusal",
                  "3_partial_refusal": "partial_refusal"}
OFFENSIVE_LABELS = {"1": "abusive", "0": "clean"}


@dataclass(frozen=True, slots=True)
class GoldItem:
    """One labelled reply.

    Attributes:
        id: unique within its file.
        text: the reply the judge reads (the last assistant turn of ``messages`` if not given).
        label: the people's label, in the judge's vocabulary.
        messages: the conversation up to and including the reply (empty when only the text
            is known).
        tags: what the judge knows of the prompt (``x``/``y`` options, an answer key ...).
        slices: where the item belongs for the per-slice figures: ``lang`` always, and
            ``category``, ``model``, ``fine``, ``source`` (the file) when known.
        split: ``tune`` or ``report`` (or another name) when the file is split, else None.
        raters: other people's labels of the same reply (for the human ceiling), possibly
            empty.
    """

    id: str
    text: str
    label: str
    messages: tuple[Mapping[str, str], ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    slices: Mapping[str, str] = field(default_factory=dict)
    split: str | None = None
    raters: tuple[str, ...] = ()

    @property
    def lang(self) -> str:
        return self.slices.get("lang", "en")


def detect_layout(text: str, source: str | Path) -> Layout:
    """The layout of a gold file's text: JSON lines when the first non-blank character opens an
    object, else a CSV recognised by its header.

    Raises:
        SpecError: a CSV whose header is neither layout's.
    """
    if text.lstrip()[:1] == "{":
        return "jsonl"
    first = next((line for line in text.split("\n") if line.strip()), "")
    header = [h.strip().lower() for h in next(csv.reader([first]), [])]
    if all(c in header for c in REFUSAL_COLUMNS):
        return "refusal-csv"
    if "text" in header and "label" in header:
        return "offensive-csv"
    raise SpecError(f"{source}: not a gold file levelhead knows: JSON lines "
                    "{\"id\", \"text\", \"label\"}, a refusal CSV (id,type,prompt,completion,"
                    "annotation_1,annotation_2,agreement,final_label) or an offensive-language "
                    f"CSV (TEXT,label[,fine-grained-label,topic]); its header is {header[:8]}")


def parse_gold(text: str, source: str | Path, layout: Layout | None = None) -> list[GoldItem]:
    """The items of a gold file's ``text`` in ``layout`` (detected when None).

    Raises:
        SpecError: a malformed line or row (with its number), a missing column, an unknown
            label of a CSV layout, a repeated id, or no item at all.
    """
    layout = layout or detect_layout(text, source)
    if layout == "jsonl":
        items = _jsonl(text, source)
    elif layout == "refusal-csv":
        items = _refusal_csv(text, source)
    else:
        items = _offensive_csv(text, source)
    if not items:
        raise SpecError(f"{source}: no labelled item in it")
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in seen:
            raise SpecError(f"{source}: id {item.id!r} repeats (items {seen[item.id] + 1} and "
                            f"{i + 1}); every labelled reply needs its own id")
        seen[item.id] = i
    return items


def _str_field(row: Mapping[str, Any], key: str, where: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise SpecError(f"{where}: \"{key}\" must be a string, not {json.dumps(value)[:40]}")
    return str(value)


def _jsonl(text: str, source: str | Path) -> list[GoldItem]:
    items = []
    # split("\n"), not splitlines(): a JSON string may hold U+2028 or U+0085 unescaped.
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            row = json.loads(line)
        except ValueError:
            raise SpecError(f"{where}: not a JSON object") from None
        if not isinstance(row, dict):
            raise SpecError(f"{where}: expected a JSON object, got {type(row).__name__}")
        item_id, label = _str_field(row, "id", where), _str_field(row, "label", where)
        if not item_id or not label:
            raise SpecError(f"{where}: every line needs a non-empty \"id\" and \"label\" "
                            "(and \"text\" or \"messages\")")
        messages = row.get("messages") or []
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
            raise SpecError(f"{where}: \"messages\" must be a list of {{role, content}}")
        reply = _str_field(row, "text", where)
        if reply is None:
            reply = next((m["content"] for m in reversed(messages)
                          if m.get("role") == "assistant"), None)
            if reply is None:
                raise SpecError(f"{where}: no reply to judge: give \"text\", or \"messages\" "
                                "ending with an assistant message")
        prompt = _str_field(row, "prompt", where)
        if prompt and not messages:  # the request the reply answers: judges that read it get it
            messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
        tags = row.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise SpecError(f"{where}: \"tags\" must be an object of names to strings")
        raters = row.get("raters") or []
        if not isinstance(raters, list) or not all(isinstance(r, str) for r in raters):
            raise SpecError(f"{where}: \"raters\" must be a list of labels")
        slices = {"lang": _str_field(row, "lang", where) or detect_language(reply)}
        for key in ("category", "model"):
            value = _str_field(row, key, where)
            if value:
                slices[key] = value
        items.append(GoldItem(item_id, reply, label, tuple(messages), dict(tags), slices,
                              _str_field(row, "split", where) or None, tuple(raters)))
    return items


def _rows(text: str, source: str | Path, required: tuple[str, ...], example: str
          ) -> list[tuple[int, dict[str, str]]]:
    header, body = csv_header(csv_rows(text, source))
    missing = [c for c in required if c not in header]
    if missing:
        raise SpecError(f"{source}: no column {', '.join(missing)}; expected a header like "
                        f"{example}")
    return [(line, {h: (fields[i] if i < len(fields) else "") for i, h in enumerate(header)})
            for line, fields in body]


def _mapped(value: str, labels: Mapping[str, str], where: str, column: str) -> str:
    key = value.strip()
    if key not in labels:
        raise SpecError(f"{where}: {column} {key!r} is not one of {', '.join(labels)}")
    return labels[key]


def _refusal_csv(text: str, source: str | Path) -> list[GoldItem]:
    items = []
    example = "id,type,prompt,completion,annotation_1,annotation_2,agreement,final_label"
    for line, row in _rows(text, source, REFUSAL_COLUMNS, example):
        where = f"{source}:{line}"
        label = _mapped(row["final_label"], REFUSAL_LABELS, where, "final_label")
        raters = tuple(_mapped(row[c], REFUSAL_LABELS, where, c)
                       for c in ("annotation_1", "annotation_2") if row.get(c, "").strip())
        completion, prompt = row["completion"], row.get("prompt", "")
        item_id = row.get("id", "").strip() or f"line{line}"
        slices = {"lang": detect_language(prompt + "\n" + completion)}
        if row.get("type", "").strip():
            slices["category"] = row["type"].strip()
        messages = ({"role": "user", "content": prompt},) if prompt else ()
        items.append(GoldItem(item_id, completion, label,
                              (*messages, {"role": "assistant", "content": completion}),
                              {}, slices, None, raters))
    return items


def _offensive_csv(text: str, source: str | Path) -> list[GoldItem]:
    items = []
    for line, row in _rows(text, source, ("text", "label"), "TEXT,label,fine-grained-label,topic"):
        where = f"{source}:{line}"
        label = _mapped(row["label"], OFFENSIVE_LABELS, where, "label")
        slices = {"lang": detect_language(row["text"])}
        if row.get("topic", "").strip():
            slices["category"] = row["topic"].strip()
        if row.get("fine-grained-label", "").strip():
            slices["fine"] = row["fine-grained-label"].strip()
        items.append(GoldItem(f"line{line}", row["text"], label, (), {}, slices))
    return items
