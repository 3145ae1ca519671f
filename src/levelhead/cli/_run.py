"""``levelhead run``: run or resume an audit spec."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from levelhead.errors import LevelheadError, SpecError
from levelhead.runner import Executor, RunReport, choose_progress, describe_plan, execute
from levelhead.spec import AuditSpec, load_spec, spec_from_dict
from levelhead.store import open_store


def run_and_report(spec: AuditSpec, store_path: str, *, quiet: bool, run_name: str | None = None,
                   retry_errors: bool = False, wait: bool = False,
                   executor: Executor | None = None) -> RunReport:
    """Run ``spec`` with a progress display; turn interruptions, dead targets and runs where
    no sample succeeded into errors."""
    store = open_store(store_path)
    progress = choose_progress(quiet)
    name = run_name or spec.run.name
    try:
        report = asyncio.run(execute(spec, store, progress=progress, run_name=run_name,
                                     retry_errors=retry_errors, wait=wait, executor=executor))
    except KeyboardInterrupt:
        click.echo(f"interrupted; what was sampled is stored. Resume with: "
                   f"levelhead run --resume {name}", err=True)
        raise click.exceptions.Exit(130) from None
    finally:
        store.close()
    if report.failed_targets:
        lines = "; ".join(report.failed_targets.values())
        raise LevelheadError(
            f"{lines}. Stored {report.already_stored + report.sampled} of {report.planned} samples;"
            f" fix the target and resume with: levelhead run --resume {report.run_name}")
    if report.sampled and not report.succeeded:
        raise LevelheadError(
            f"no sample succeeded: all {report.sampled:,} samples this run took failed, e.g. "
            f"{report.first_error}. Fix the target (its model name, settings or key), then "
            f"sample them again with: levelhead run --resume {report.run_name} --retry-errors")
    return report


@click.command()
@click.argument("spec_file", required=False, type=click.Path(dir_okay=False))
@click.option("--resume", "resume", metavar="RUN", help="Resume a stored run by id or name.")
@click.option("--run-name", help="Store under this run name instead of the spec's.")
@click.option("--retry-errors", is_flag=True, help="Sample again the samples stored as errors.")
@click.option("--wait", is_flag=True,
              help="If another process is running this run now, wait for it to finish (or for "
                   "its lease to lapse) instead of refusing.")
@click.option("--executor", metavar="local|ray[:ADDRESS]", envvar="LEVELHEAD_EXECUTOR",
              help="Where samples are taken: this process (local, the default) or a Ray cluster "
                   "(ray starts a local Ray; ray:auto or ray:HOST:PORT joins a running one). Needs "
                   "the ray extra. Env: LEVELHEAD_EXECUTOR.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--dry-run", is_flag=True,
              help="Say what the run would take (samples; conversations, turns and tokens of "
                   "multi-turn probes) and stop.")
@click.pass_obj
def run(obj: dict[str, Any], spec_file: str | None, resume: str | None, run_name: str | None,
        retry_errors: bool, wait: bool, executor: str | None, quiet: bool,
        dry_run: bool) -> None:
    """Run the audit in SPEC_FILE (TOML), or resume one.

    Running the same spec again resumes its run (same run name): only the missing samples
    are taken, so a crash or Ctrl-C loses nothing that was stored. One process runs a run at
    a time: a second one refuses, saying who holds the run (or waits, with --wait).
    """
    on = Executor.parse(executor)
    if spec_file and resume:
        raise SpecError("give a SPEC_FILE or --resume RUN, not both")
    if resume:
        store = open_store(obj["store"], read_only=True)
        record = store.find_run(resume)
        store.close()
        spec = spec_from_dict(record.spec, f"stored spec of run '{record.name}'")
        run_name = record.name
    elif spec_file:
        spec = load_spec(spec_file)
    else:
        raise SpecError("give a SPEC_FILE to run, or --resume RUN (see `levelhead run --help`)")
    if dry_run:
        for line in describe_plan(spec):
            click.echo(line)
        click.echo("nothing was run (--dry-run)")
        return
    report = run_and_report(spec, obj["store"], quiet=quiet, run_name=run_name,
                            retry_errors=retry_errors, wait=wait, executor=on)
    total = report.already_stored + report.sampled
    click.echo(
        f"run '{report.run_name}' (id {report.run_id}): {total}/{report.planned} samples stored, "
        f"{report.sampled} new ({report.errors} errors) in {report.elapsed_s:.1f} s "
        f"({report.samples_per_s:.1f} samples/s). Next: levelhead show {report.run_name}")
