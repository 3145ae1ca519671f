"""``levelhead import``: turn published prompt sets into probe files (the data stays yours)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path

import click

from levelhead.cli._files import decode_utf8, open_output, read_bytes
from levelhead.errors import SpecError

# The csv module refuses fields over 128 kB by default; a long prompt (a pasted document) may
# be bigger, but a field of more than this is a broken quote swallowing the file, not a prompt.
FIELD_LIMIT = 10 * 1024 * 1024


def _read_csv(source: Path) -> tuple[bytes, list[tuple[int, list[str]]]]:
    """The raw bytes of ``source`` and its rows, each with the line it starts on.

    The csv module reads the file end to end, so that a quoted field keeps its newlines and the
    line numbers of later rows stay right. Strict: a quote that is never closed is an error, not
    a field that swallows the rest of the file.

    Raises:
        SpecError: the file cannot be read, is not UTF-8, is not a readable CSV, or has a field
            over :data:`FIELD_LIMIT` (with the line its row starts on).
    """
    raw = read_bytes(source, what="CSV file")
    text = decode_utf8(raw, source)
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
    return raw, rows


def _header(rows: list[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The first non-empty row (lower case, stripped) and the non-empty rows under it."""
    filled = [(line, fields) for line, fields in rows if any(f.strip() for f in fields)]
    if not filled:
        return [], []
    return [h.strip().lower() for h in filled[0][1]], filled[1:]


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
    header, body = _header(_read_csv(source)[1])
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


REFUSAL_REQUIRED = ("id", "prompt", "type", "label")
REFUSAL_KINDS = {"safe": "benign", "unsafe": "harmful"}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def detect_language(text: str) -> str:
    """``zh`` when CJK ideographs make at least 30 % of the ideographs and Latin *words*
    together, else ``en``.

    Counting a Latin word once (not letter by letter) keeps commands and code in a Chinese
    prompt (``用 kubectl delete pod … 删除可以吗``) from pulling it under the line.
    """
    cjk = sum(1 for c in text if _CJK.match(c))
    words = len(re.findall(r"[^\W\d_]+", _CJK.sub(" ", text)))
    if not cjk:
        return "en"
    return "zh" if cjk / (cjk + words) >= 0.3 else "en"


def _id_slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    # An id with no ASCII letters or digits (e.g. all Chinese) still gets a stable, distinct slug.
    return slug or "h" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def import_refusal_set(source: Path, name: str) -> list[dict[str, object]]:
    """Items of a ``scolding.benign_edgy`` probe from an over-refusal CSV, header first.

    The layout: columns ``id, prompt, type, label`` with ``label`` ``safe`` or ``unsafe`` (the
    layout of a widely used over-refusal set released under CC BY 4.0); a header row is required,
    extra columns are ignored, UTF-8 with or without a BOM. ``safe`` rows become ``benign``
    items and ``unsafe`` rows ``harmful`` contrasts; ``type`` becomes ``category``; ``lang`` is
    detected (:func:`detect_language`); ids are ``<name>-<slug of the CSV id>``.

    Raises:
        SpecError: the file cannot be read or is empty, a column is missing, or a row has an
            empty id or prompt, an unknown label or an id that repeats (after slugging) — with
            the line numbers.
    """
    raw, all_rows = _read_csv(source)
    header, body = _header(all_rows)
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
        "source_sha256": hashlib.sha256(raw).hexdigest(),
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


def _check_name(name: str) -> None:
    """A set's name becomes ids and the default file name: no folders in it."""
    if not name.strip() or any(c in name for c in "/\\") or name.startswith("."):
        raise SpecError(f"--name {name!r}: give a plain name (letters, digits, - _ .), not a "
                        "path; choose where to write with -o")


def _write_items(output: Path, items: list[dict[str, object]]) -> Path:
    """A probe file: one JSON object per line."""
    with open_output(output) as stream:
        stream.write("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))
    return output


@import_group.command("paired-prompts")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Names the probe (and the default output file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the probe file (default: NAME.jsonl).")
def paired_prompts(source: Path, name: str, output: Path | None) -> None:
    """Turn a paired-prompt CSV (prompt_a, prompt_b, ...) into a politics.mirrored probe file."""
    _check_name(name)
    items = import_paired_prompts(source, name)
    output = _write_items(output or Path(f"{name}.jsonl"), items)
    langs = sorted({str(it["lang"]) for it in items})
    click.echo(f"wrote {len(items)} mirrored pairs ({', '.join(langs)}) to {output}. Use it with:\n"
               f'[[probes]]\nname = "politics.mirrored"\nid = "{name}"\nfile = "{output}"\n'
               f"languages = {json.dumps(langs)}")


@import_group.command("refusal-set")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Names the prompt set (id prefix and default output file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the probe file (default: NAME.jsonl).")
def refusal_set(source: Path, name: str, output: Path | None) -> None:
    """Turn an over-refusal CSV (id, prompt, type, label=safe|unsafe) into a scolding.benign_edgy file."""
    _check_name(name)
    items = import_refusal_set(source, name)
    output = _write_items(output or Path(f"{name}.jsonl"), items)
    prompts = [it for it in items if it.get("type") != "header"]
    kinds = Counter(str(it["kind"]) for it in prompts)
    langs = Counter(str(it["lang"]) for it in prompts)
    probe_id = re.sub(r"[^A-Za-z0-9_.:-]+", "-", name).strip("-") or "imported"
    click.echo(f"wrote {len(prompts)} prompts ({kinds['benign']} benign, {kinds['harmful']} harmful; "
               + ", ".join(f"{n} {lang}" for lang, n in sorted(langs.items()))
               + f") to {output}. Use it with:\n"
               f'[[probes]]\nname = "scolding.benign_edgy"\nid = "{probe_id}"\n'
               f"file = {json.dumps(str(output))}\nlanguages = {json.dumps(sorted(langs))}")
