"""``levelhead gate``: evaluate a release policy on a run; the exit code is the verdict.

0 pass, 1 fail, 2 cannot decide, 3 usage error. Every usage error exits 3, click's own
included (a missing ``--policy``, an unknown option), so that a CI step never mistakes a
mistyped command for a verdict.
"""

from __future__ import annotations

import os
from typing import Any

import click

from levelhead.cli._files import prepare_output, writing
from levelhead.cli._review import review_option, with_review_calibrations
from levelhead.errors import LevelheadError, PolicyError
from levelhead.store import open_store

USAGE_EXIT = 3


class _GateCommand(click.Command):
    """Turns click's usage errors (exit 2 by default, which is "cannot decide" here) into 3."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            # click declares exit_code a ClassVar, yet reads it per instance: the subclasses
            # (BadParameter, NoSuchOption ...) must keep their messages, so no new class here.
            exc.exit_code = USAGE_EXIT  # type: ignore[misc]
            raise


def _write(path: str, text: str, *, append: bool = False) -> None:
    out = prepare_output(path, error=PolicyError)
    with (writing(path, error=PolicyError, failed=PolicyError),
          out.open("a" if append else "w", encoding="utf-8") as stream):
        stream.write(text)


@click.command(cls=_GateCommand)
@click.argument("run_ref", metavar="RUN")
@click.option("--policy", "policy_path", required=True, metavar="FILE",
              help="The policy TOML (see examples/policy.toml).")
@click.option("--baseline", "baseline_ref", metavar="RUN",
              help="The run to compare with, for max_increase / max_decrease rules.")
@click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML here.")
@click.option("--markdown", "markdown_path", metavar="PATH",
              help="Also write the Markdown summary here.")
@click.option("--allow-undecided", is_flag=True,
              help="Exit 0 when nothing failed but some checks cannot decide yet (they are still "
                   "listed). Use this in CI rather than accepting exit code 2, which a misspelt "
                   "command also gives.")
@click.option("--allow-incomplete", is_flag=True,
              help="Decide even when the run (or baseline) does not hold every sample it planned; "
                   "without it an incomplete run exits 2, naming what is missing.")
@click.option("--calibration", "calibration_paths", multiple=True, metavar="FILE",
              help="A judge's calibration (`levelhead judge eval --save-calibration FILE`), for "
                   "rules with `corrected = true`. Repeat for several judges.")
@review_option
@click.option("--lang", "lang", type=click.Choice(["en", "zh"]), default=None,
              help="The summary's language: en or zh [default: from the locale: zh when LC_ALL, "
                   "LC_MESSAGES or LANG starts with zh, else en]. JUnit XML stays in English.")
@click.pass_context
def gate(ctx: click.Context, run_ref: str, policy_path: str, baseline_ref: str | None,
         junit_path: str | None, markdown_path: str | None, allow_undecided: bool,
         allow_incomplete: bool, calibration_paths: tuple[str, ...],
         review_refs: tuple[str, ...], lang: str | None) -> None:
    """Gate a release: evaluate the policy's rules on RUN (against --baseline) and exit 0 pass,
    1 fail, 2 cannot decide (too few samples: it says how many more; or the run is incomplete:
    it says what is missing and how to resume), 3 usage error.

    Prints a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when that is set).

    \b
    Example:  levelhead gate candidate --policy examples/policy.toml --baseline baseline \\
                  --junit gate.xml
    """
    from levelhead.analysis import language, load_calibrations
    from levelhead.report import evaluate_gate, gate_junit, gate_markdown, load_policy, load_run_data

    # Outputs first: a verdict printed and then exit 3 for a missing folder would hide the
    # verdict from CI. Missing folders are created, as pytest does for --junitxml.
    for path in (junit_path, markdown_path, os.environ.get("GITHUB_STEP_SUMMARY")):
        if path:
            prepare_output(path, error=PolicyError)
    try:
        policy = load_policy(policy_path)
        calibrations = load_calibrations(calibration_paths)
        store = open_store(ctx.obj["store"], read_only=True)
        calibrations = with_review_calibrations(store, run_ref, review_refs, calibrations)
        data = load_run_data(store, store.find_run(run_ref).id)
        baseline = (None if baseline_ref is None
                    else load_run_data(store, store.find_run(baseline_ref).id))
        result = evaluate_gate(policy, data, baseline, allow_incomplete=allow_incomplete,
                               calibrations=calibrations)
    except PolicyError:
        raise
    except LevelheadError as exc:  # an unknown run, an unreadable store: the gate could not judge
        raise PolicyError(str(exc)) from exc
    summary = gate_markdown(result, language(lang))
    if junit_path:
        _write(junit_path, gate_junit(result))
    if markdown_path:
        _write(markdown_path, summary)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        _write(step_summary, summary + "\n", append=True)
    # Printed once the files are written: a verdict is never followed by a usage error.
    click.echo(summary, nl=False)
    if allow_undecided and result.exit_code == 2 and not result.blocked:
        click.echo("Exit code 0: --allow-undecided lets the checks that cannot decide through.",
                   err=True)
        ctx.exit(0)
    ctx.exit(result.exit_code)
