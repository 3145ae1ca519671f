"""``levelhead import``: turn published prompt sets into probe files (the data stays yours).

Parse → library call → render: the file is read here (one-line errors naming the path), the
importers live in their behaviour packages (``levelhead.probes.politics._import``,
``levelhead.probes.scolding._import``) and the probe file's layout in ``levelhead.probes._files``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import click

from levelhead.cli._files import decode_utf8, open_output, read_bytes
from levelhead.errors import SpecError
from levelhead.probes._files import items_jsonl


@click.group(name="import")
def import_group() -> None:
    """Turn a published prompt set into a probe file."""


def _check_name(name: str) -> None:
    """A set's name becomes ids and the default file name: no folders in it."""
    if not name.strip() or any(c in name for c in "/\\") or name.startswith("."):
        raise SpecError(f"--name {name!r}: give a plain name (letters, digits, - _ .), not a "
                        "path; choose where to write with -o")


def _read_csv(source: Path) -> tuple[bytes, str]:
    """The bytes of ``source`` and its text (UTF-8, a BOM dropped)."""
    raw = read_bytes(source, what="CSV file")
    return raw, decode_utf8(raw, source)


def _write_items(output: Path, items: list[dict[str, object]]) -> Path:
    with open_output(output) as stream:
        stream.write(items_jsonl(items))
    return output


@import_group.command("paired-prompts")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Names the probe (and the default output file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the probe file (default: NAME.jsonl).")
def paired_prompts(source: Path, name: str, output: Path | None) -> None:
    """Turn a paired-prompt CSV (prompt_a, prompt_b, ...) into a politics.mirrored probe file."""
    from levelhead.probes.politics._import import import_paired_prompts

    _check_name(name)
    items = import_paired_prompts(_read_csv(source)[1], source, name, warn=lambda line: click.secho(
        f"warning: {line}", fg="yellow", err=True))
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
    from levelhead.probes.scolding._import import import_refusal_set

    _check_name(name)
    raw, text = _read_csv(source)
    items = import_refusal_set(text, source, name, source_sha256=hashlib.sha256(raw).hexdigest())
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
