"""``levelhead judge``: judge stored samples again (no re-sampling), or judge texts from a file."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

import click

from levelhead.cli._files import read_text
from levelhead.cli._judge_configs import judge_configs_from as _configs
from levelhead.errors import SpecError
from levelhead.judges import JUDGE_ERROR, Judge, JudgeInput, JudgeVerdict, PairJudge
from levelhead.runner import Executor, Progress
from levelhead.runner._judging import (
    JudgePlan,
    JudgingReport,
    judge_stored,
    plan_judges,
    safe_verdict,
)
from levelhead.runner._ray import connect, judge_stored_ray
from levelhead.store import Store, acquire_lease, open_store


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_inputs(path: str) -> list[JudgeInput]:
    """The lines of a ``judge --input`` file; any line that is not a valid input is refused
    with its number, so that a malformed line is never judged as an empty, "clean" reply."""
    items = []
    name = "<stdin>" if path == "-" else path
    # split("\n"), not splitlines(): a JSON string may hold U+2028 or U+0085 unescaped.
    for lineno, line in enumerate(read_text(path, what="input file").split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise SpecError(f"{name}:{lineno}: not a JSON object") from None
        if not isinstance(row, dict) or "id" not in row or not ("text" in row or "messages" in row):
            raise SpecError(f"{name}:{lineno}: expected {{\"id\": ..., \"text\": ...}} or "
                            "{\"id\": ..., \"messages\": [...]}")
        if isinstance(row["id"], bool) or not isinstance(row["id"], str | int) or row["id"] == "":
            raise SpecError(f"{name}:{lineno}: \"id\" must be a non-empty string or an integer, "
                            f"not {_shown(row['id'])}")
        messages = row.get("messages") or []
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
            raise SpecError(f"{name}:{lineno}: messages must be a list of {{role, content}}")
        text = row.get("text")
        if "text" in row and not isinstance(text, str):
            raise SpecError(f"{name}:{lineno}: \"text\" must be a string, not {_shown(text)}")
        if text is None:
            text = next((m["content"] for m in reversed(messages) if m.get("role") == "assistant"),
                        None)
            if text is None:
                raise SpecError(f"{name}:{lineno}: no reply to judge: give \"text\", or "
                                "\"messages\" with an assistant message")
        tags = row.get("tags") or {}
        if not isinstance(tags, dict):
            raise SpecError(f"{name}:{lineno}: \"tags\" must be an object of names to values")
        items.append(JudgeInput(id=str(row["id"]), text=text, messages=tuple(messages), tags=tags))
    return items


async def _judge_lines(configs: list[Any], items: list[JudgeInput], out: Any) -> int:
    from levelhead.judges import build_judge

    errors = 0
    for cfg in configs:
        j = build_judge(cfg)
        if isinstance(j, PairJudge):
            raise SpecError(f"{cfg.name} judges pairs of samples; judge a stored run instead")
        sem = asyncio.Semaphore(16)

        async def one(item: JudgeInput, j: Judge = j, sem: asyncio.Semaphore = sem) -> JudgeVerdict:
            async with sem:
                return await safe_verdict(j.config.name, j.judge(item))

        verdicts = await asyncio.gather(*(one(i) for i in items))
        for item, v in zip(items, verdicts, strict=True):
            errors += v.label == JUDGE_ERROR
            out.write(json.dumps({"id": item.id, "judge": cfg.name, "label": v.label,
                                  "score": v.score, "rationale": v.rationale},
                                 ensure_ascii=False) + "\n")
        await j.close()
    return errors


async def _judge_run(store: Store, run_id: int, plans: list[JudgePlan], lease: tuple[int, str],
                     on: Executor) -> JudgingReport:
    """Judge a stored run here, or on Ray (pair judges here)."""
    if not on.is_ray:
        return await judge_stored(store, run_id, plans, lease=lease)
    ray = connect(on, _Echo(), doing="judging")
    on_ray, rest = await judge_stored_ray(ray, store, run_id, plans, lease=lease)
    report = await judge_stored(store, run_id, rest, lease=lease)
    for name, counts in on_ray.counts.items():
        report.counts.setdefault(name, Counter()).update(counts)
    report.elapsed_s += on_ray.elapsed_s
    return report


class _Echo(Progress):
    """Notes to standard error (which cluster judges)."""

    def note(self, message: str) -> None:
        click.echo(message, err=True)


class _JudgeGroup(click.Group):
    """``judge RUN ...`` and ``judge --input FILE ...`` go to the hidden ``stored`` command, so
    that ``judge eval`` can sit beside them without changing how they are typed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["eval", "stored"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "eval":  # loads on use: it needs numpy, judging a run does not
            from levelhead.cli import _with_global_options
            from levelhead.cli._judge_eval import judge_eval

            return _with_global_options(judge_eval)
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in ("eval", "stored", "-h", "--help"):
            args = ["stored", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_JudgeGroup, invoke_without_command=True)
@click.pass_context
def judge(ctx: click.Context) -> None:
    """Judge the stored samples of a run again, judge texts from a file, or measure a judge
    against people's labels.

    \b
      levelhead judge RUN --judge NAME            judge RUN's samples again (no re-sampling)
      levelhead judge --input FILE --judge NAME   judge the lines of a JSONL file
      levelhead judge eval --judge NAME --gold FILE
                                                  a judge against labelled replies

    See `levelhead judge RUN --help` and `levelhead judge eval --help`.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(2)


@judge.command("stored", hidden=True)
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
@click.option("--executor", metavar="local|ray[:ADDRESS]", envvar="LEVELHEAD_EXECUTOR",
              help="Judge here (local, the default) or on a Ray cluster, in chunks (a judge that "
                   "calls a local model loads it once per worker); pair judges judge here. "
                   "Env: LEVELHEAD_EXECUTOR.")
@click.pass_obj
def stored(obj: dict[str, Any], run_ref: str | None, names: tuple[str, ...], judges_file: str | None,
          input_path: str | None, probes: tuple[str, ...], executor: str | None) -> None:
    """Judge the stored samples of RUN again, without re-sampling, or judge texts from a file
    (``levelhead judge RUN --judge NAME`` / ``levelhead judge --input FILE --judge NAME``).

    Verdicts are added beside earlier ones with their judge's name, version and settings;
    judging again with the same judge only fills in what is missing.
    """
    configs = _configs(names, judges_file)
    on = Executor.parse(executor)
    if input_path:
        if on.is_ray:
            raise SpecError("--executor ray judges a stored run; --input is judged here")
        if run_ref:
            raise SpecError("give a RUN or --input FILE, not both")
        errors = asyncio.run(_judge_lines(configs, _read_inputs(input_path), sys.stdout))
        if errors:
            click.echo(f"{errors} verdicts could not be given (label {JUDGE_ERROR})", err=True)
        return
    if not run_ref:
        raise SpecError("give a RUN to judge, or --input FILE (see `levelhead judge --help`)")
    store = open_store(obj["store"], create=False)
    run = store.find_run(run_ref)
    known = store.probes_of(run.id)
    for p in probes:
        if p not in known:
            from levelhead.registry import did_you_mean

            raise SpecError(f"--probe {p}: run '{run.name}' has no such probe; {did_you_mean(p, known)}")
    plans = plan_judges(store, {p: configs for p in (probes or known)})
    # Judging writes verdicts: it holds the run's lease like a run does (one writer per run).
    lease = acquire_lease(store, run.id, run.name, "judge")
    try:
        report = asyncio.run(_judge_run(store, run.id, plans, lease.key, on))
    finally:
        lease.release()
    for name, counts in sorted(report.counts.items()):
        labels = ", ".join(f"{label} {n}" for label, n in counts.most_common())
        click.echo(f"{name}: {sum(counts.values())} new verdicts ({labels})")
    if not report.counts:
        click.echo("nothing to judge: every sample already has these judges' verdicts")
    click.echo(f"judged in {report.elapsed_s:.2f} s. Next: levelhead show {run.name}")
