"""``levelhead judge``: judge stored samples again (no re-sampling), or judge texts from a file."""

from __future__ import annotations

import asyncio
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from levelhead.errors import SpecError
from levelhead.judges import JUDGE_ERROR, JudgeInput
from levelhead.runner._judging import judge_stored, plan_judges, safe_verdict
from levelhead.spec import judge_configs
from levelhead.store import open_store


def _configs(names: tuple[str, ...], judges_file: str | None) -> list[Any]:
    entries: list[Any] = list(names)
    if judges_file:
        try:
            data = tomllib.loads(Path(judges_file).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError(f"{judges_file}: cannot read ({exc})") from None
        tables = data.get("judges")
        if not isinstance(tables, list):
            raise SpecError(f"{judges_file}: expected [[judges]] tables")
        return judge_configs(entries, ("--judge",), "command line") + judge_configs(
            tables, ("judges",), judges_file)
    if not entries:
        raise SpecError("name at least one judge: --judge NAME (or --judges-file FILE)")
    return judge_configs(entries, ("--judge",), "command line")


def _read_inputs(path: str) -> list[JudgeInput]:
    items = []
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise SpecError(f"{path}:{lineno}: not a JSON object") from None
            if not isinstance(row, dict) or "id" not in row or not ("text" in row or "messages" in row):
                raise SpecError(f"{path}:{lineno}: expected {{\"id\": ..., \"text\": ...}} or "
                                "{\"id\": ..., \"messages\": [...]}")
            messages = row.get("messages") or []
            if not isinstance(messages, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
                raise SpecError(f"{path}:{lineno}: messages must be a list of {{role, content}}")
            text = row.get("text")
            if text is None:
                text = next((m["content"] for m in reversed(messages)
                             if m.get("role") == "assistant"), "")
            items.append(JudgeInput(id=str(row["id"]), text=str(text), messages=tuple(messages),
                                    tags=row.get("tags") or {}))
    return items


async def _judge_lines(configs: list[Any], items: list[JudgeInput], out: Any) -> int:
    from levelhead.judges import build_judge

    errors = 0
    for cfg in configs:
        j: Any = build_judge(cfg)
        if hasattr(j, "judge_pair"):
            raise SpecError(f"{cfg.name} judges pairs of samples; judge a stored run instead")
        sem = asyncio.Semaphore(16)

        async def one(item: JudgeInput, j: Any = j, sem: asyncio.Semaphore = sem) -> Any:
            async with sem:
                return await safe_verdict(j.config.name, j.judge(item))

        verdicts = await asyncio.gather(*(one(i) for i in items))
        for item, v in zip(items, verdicts, strict=True):
            errors += v.label == JUDGE_ERROR
            out.write(json.dumps({"id": item.id, "judge": cfg.name, "label": v.label,
                                  "score": v.score, "rationale": v.rationale},
                                 ensure_ascii=False) + "\n")
        if hasattr(j, "close"):
            await j.close()
    return errors


@click.command()
@click.argument("run_ref", metavar="[RUN]", required=False)
@click.option("--judge", "names", multiple=True, metavar="NAME",
              help="A judge by name (repeatable), e.g. abuse.lexicon, refusal.rules.")
@click.option("--judges-file", type=click.Path(exists=True, dir_okay=False),
              help="A TOML file of [[judges]] tables (for judges with settings, e.g. llm.rubric).")
@click.option("--input", "input_path", metavar="FILE.jsonl",
              help="Judge these lines instead of a run: {\"id\", \"text\"} or {\"id\", \"messages\"}"
                   " per line ('-' for standard input); verdicts go to standard output as JSONL.")
@click.option("--probe", "probes", multiple=True, metavar="ID",
              help="Only the samples of this probe (repeatable; default: every probe of the run).")
@click.pass_obj
def judge(obj: dict, run_ref: str | None, names: tuple[str, ...], judges_file: str | None,
          input_path: str | None, probes: tuple[str, ...]) -> None:
    """Judge the stored samples of RUN again, without re-sampling, or judge texts from a file.

    Verdicts are added beside earlier ones with their judge's name, version and settings;
    judging again with the same judge only fills in what is missing.
    """
    configs = _configs(names, judges_file)
    if input_path:
        if run_ref:
            raise SpecError("give a RUN or --input FILE, not both")
        errors = asyncio.run(_judge_lines(configs, _read_inputs(input_path), sys.stdout))
        if errors:
            click.echo(f"{errors} verdicts could not be given (label {JUDGE_ERROR})", err=True)
        return
    if not run_ref:
        raise SpecError("give a RUN to judge, or --input FILE (see `levelhead judge --help`)")
    store = open_store(obj["store"])
    run = store.find_run(run_ref)
    known = store.probes_of(run.id)
    for p in probes:
        if p not in known:
            from levelhead.registry import did_you_mean

            raise SpecError(f"--probe {p}: run '{run.name}' has no such probe; {did_you_mean(p, known)}")
    plans = plan_judges(store, {p: configs for p in (probes or known)})
    report = asyncio.run(judge_stored(store, run.id, plans))
    for name, counts in sorted(report.counts.items()):
        labels = ", ".join(f"{label} {n}" for label, n in counts.most_common())
        click.echo(f"{name}: {sum(counts.values())} new verdicts ({labels})")
    if not report.counts:
        click.echo("nothing to judge: every sample already has these judges' verdicts")
    click.echo(f"judged in {report.elapsed_s:.2f} s. Next: levelhead show {run.name}")
