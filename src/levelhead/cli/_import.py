"""``levelhead import``: turn published prompt sets into probe files (the data stays yours)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import click

from levelhead.errors import SpecError

PAIRED_REQUIRED = ("prompt_a", "prompt_b")
PAIRED_OPTIONAL = ("topic_name", "template_category", "stance_a", "stance_b", "main_category",
                   "partisan")


def import_paired_prompts(source: Path, name: str) -> list[dict[str, object]]:
    """Items of a ``politics.mirrored`` probe from a paired-prompt CSV.

    The layout: columns ``prompt_a, prompt_b`` and optionally ``topic_name,
    template_category, stance_a, stance_b, main_category, partisan`` (the layout of the public
    political even-handedness set released under CC BY 4.0). Rows with an empty prompt are
    refused with their line number.
    """
    try:
        text = source.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SpecError(f"{source}: cannot read ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    columns = set(reader.fieldnames or [])
    missing = [c for c in PAIRED_REQUIRED if c not in columns]
    if missing:
        raise SpecError(f"{source}: missing column(s) {', '.join(missing)}; a paired-prompt CSV "
                        f"has prompt_a, prompt_b and optionally {', '.join(PAIRED_OPTIONAL)}")
    items: list[dict[str, object]] = []
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "imported"
    for line, row in enumerate(reader, 2):
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


@click.group(name="import")
def import_group() -> None:
    """Turn a published prompt set into a probe file."""


@import_group.command("paired-prompts")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Names the probe (and the default output file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the probe file (default: NAME.jsonl).")
def paired_prompts(source: Path, name: str, output: Path | None) -> None:
    """Turn a paired-prompt CSV (prompt_a, prompt_b, ...) into a politics.mirrored probe file."""
    items = import_paired_prompts(source, name)
    output = output or Path(f"{name}.jsonl")
    output.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items),
                      encoding="utf-8")
    langs = sorted({str(it["lang"]) for it in items})
    click.echo(f"wrote {len(items)} mirrored pairs ({', '.join(langs)}) to {output}. Use it with:\n"
               f'[[probes]]\nname = "politics.mirrored"\nid = "{name}"\nfile = "{output}"\n'
               f"languages = {json.dumps(langs)}")
