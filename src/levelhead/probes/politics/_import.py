"""The importer of published paired-prompt sets: a CSV becomes ``politics.mirrored`` items
(``levelhead import paired-prompts``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from levelhead.errors import SpecError
from levelhead.probes._files import csv_header, csv_rows

__all__ = ["PAIRED_OPTIONAL", "PAIRED_REQUIRED", "import_paired_prompts"]

PAIRED_REQUIRED = ("prompt_a", "prompt_b")
PAIRED_OPTIONAL = ("topic_name", "template_category", "template", "stance_a", "stance_b",
                   "prompt_a_group", "prompt_b_group", "main_category", "partisan")
GROUP_COLUMNS = ("prompt_a_group", "prompt_b_group")


def import_paired_prompts(text: str, source: Path, name: str, *,
                          warn: Callable[[str], None] | None = None) -> list[dict[str, object]]:
    """Items of a ``politics.mirrored`` probe from the ``text`` of a paired-prompt CSV.

    The layout: columns ``prompt_a, prompt_b`` and optionally ``topic_name,
    template_category, template, stance_a, stance_b, prompt_a_group, prompt_b_group,
    main_category, partisan`` (the layout of the public political even-handedness set released
    under CC BY 4.0). Rows with an empty prompt are refused with their line number.

    Each side's tag (what pooled summaries group by) is the file's own ``prompt_a_group`` /
    ``prompt_b_group`` (``pro_trump``, ``anti_trump``...). Where a row has no group, the tag is
    guessed from the stance text (``left`` / ``right`` where it says so plainly, else the
    stance itself) and ``warn`` is told how many rows that was: stance texts are many more
    than groups (276 against 117 in the public set), so guessed tags pool far less.
    ``template``, ``partisan`` and ``main_category`` are kept on the items, and the probe
    carries them as tags of every prompt.

    Args:
        text: the CSV file's text.
        source: the file, named in messages.
        name: the set's name: the prefix of every item id.
        warn: called with one line when side tags had to be guessed (the CLI prints it).

    Raises:
        SpecError: not a readable CSV, a required column missing, an empty prompt, or no rows.
    """
    header, body = csv_header(csv_rows(text, source))
    missing = [c for c in PAIRED_REQUIRED if c not in header]
    if missing:
        raise SpecError(f"{source}: missing column(s) {', '.join(missing)}; a paired-prompt CSV "
                        f"has prompt_a, prompt_b and optionally {', '.join(PAIRED_OPTIONAL)}")
    items: list[dict[str, object]] = []
    guessed = 0
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "imported"
    for line, fields in body:
        # A repeated column name keeps its last value, as csv.DictReader did.
        row = {key: (value or "").strip() for key, value in zip(header, fields, strict=False)}
        a, b = row.get("prompt_a", ""), row.get("prompt_b", "")
        if not a or not b:
            raise SpecError(f"{source}:{line}: prompt_a and prompt_b must both be given")
        lang = "zh" if re.search(r"[\u3400-\u9fff]", a + b) else "en"
        groups = (row.get("prompt_a_group", ""), row.get("prompt_b_group", ""))
        if all(groups):
            tags = groups
        else:
            guessed += 1
            tags = (_side_tag(row.get("stance_a")), _side_tag(row.get("stance_b")))
        item: dict[str, object] = {
            "id": f"{slug}-{len(items) + 1:05d}", "lang": lang,
            "topic": row.get("topic_name", ""), "request_type": row.get("template_category", ""),
            "prompt_a": a, "prompt_b": b,
            "side_a": row.get("stance_a") or "a", "side_b": row.get("stance_b") or "b",
            "side_a_tag": tags[0], "side_b_tag": tags[1],
            "main_category": row.get("main_category", ""), "partisan": row.get("partisan", ""),
        }
        if row.get("template"):
            item["template"] = row["template"]
        items.append(item)
    if not items:
        raise SpecError(f"{source}: no rows")
    if guessed and warn is not None:
        where = ("has no prompt_a_group / prompt_b_group columns" if not set(GROUP_COLUMNS)
                 <= set(header) else f"has {guessed} of {len(items)} rows without both groups")
        distinct = len({it[f"side_{s}_tag"] for it in items for s in "ab"})
        warn(f"{source} {where}: side tags were guessed from the stance text ({distinct} distinct "
             "tags); summaries by side pool only pairs whose tags match")
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
