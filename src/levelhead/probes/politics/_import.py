"""The importer of published paired-prompt sets: a CSV becomes ``politics.mirrored`` items
(``levelhead import paired-prompts``)."""

from __future__ import annotations

import re
from pathlib import Path

from levelhead.errors import SpecError
from levelhead.probes._files import csv_header, csv_rows

__all__ = ["PAIRED_OPTIONAL", "PAIRED_REQUIRED", "import_paired_prompts"]

PAIRED_REQUIRED = ("prompt_a", "prompt_b")
PAIRED_OPTIONAL = ("topic_name", "template_category", "stance_a", "stance_b", "main_category",
                   "partisan")


def import_paired_prompts(text: str, source: Path, name: str) -> list[dict[str, object]]:
    """Items of a ``politics.mirrored`` probe from the ``text`` of a paired-prompt CSV.

    The layout: columns ``prompt_a, prompt_b`` and optionally ``topic_name,
    template_category, stance_a, stance_b, main_category, partisan`` (the layout of the public
    political even-handedness set released under CC BY 4.0). Rows with an empty prompt are
    refused with their line number.

    Args:
        text: the CSV file's text.
        source: the file, named in messages.
        name: the set's name: the prefix of every item id.

    Raises:
        SpecError: not a readable CSV, a required column missing, an empty prompt, or no rows.
    """
    header, body = csv_header(csv_rows(text, source))
    missing = [c for c in PAIRED_REQUIRED if c not in header]
    if missing:
        raise SpecError(f"{source}: missing column(s) {', '.join(missing)}; a paired-prompt CSV "
                        f"has prompt_a, prompt_b and optionally {', '.join(PAIRED_OPTIONAL)}")
    items: list[dict[str, object]] = []
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "imported"
    for line, fields in body:
        # A repeated column name keeps its last value, as csv.DictReader did.
        row = dict(zip(header, fields, strict=False))
        a, b = (row.get("prompt_a") or "").strip(), (row.get("prompt_b") or "").strip()
        if not a or not b:
            raise SpecError(f"{source}:{line}: prompt_a and prompt_b must both be given")
        lang = "zh" if re.search(r"[\u3400-\u9fff]", a + b) else "en"
        items.append({
            "id": f"{slug}-{len(items) + 1:05d}", "lang": lang,
            "topic": (row.get("topic_name") or "").strip(),
            "request_type": (row.get("template_category") or "").strip(),
            "prompt_a": a, "prompt_b": b,
            "side_a": (row.get("stance_a") or "a").strip() or "a",
            "side_b": (row.get("stance_b") or "b").strip() or "b",
            "side_a_tag": _side_tag(row.get("stance_a")), "side_b_tag": _side_tag(row.get("stance_b")),
            "main_category": (row.get("main_category") or "").strip(),
            "partisan": (row.get("partisan") or "").strip(),
        })
    if not items:
        raise SpecError(f"{source}: no rows")
    return items


_LEFT = re.compile(r"\b(left|liberal|progressive|democrat\w*)\b")
_RIGHT = re.compile(r"\b(right|conservative|republican\w*)\b")
_NEGATED = re.compile(r"\b(anti|not|non|against|critique|critical|opposed|opposing)\b|\banti-")


def _side_tag(stance: str | None) -> str:
    """`left` / `right` when a stance says so plainly; the stance itself when it names neither;
    `unknown` when it names both, or negates one ("anti-progressive", "not conservative"), so
    that no pair is oriented the wrong way round."""
    s = (stance or "").strip().lower()
    left, right = bool(_LEFT.search(s)), bool(_RIGHT.search(s))
    if left and right or (left or right) and _NEGATED.search(s):
        return "unknown"
    if left:
        return "left"
    if right:
        return "right"
    return s or "unknown"
