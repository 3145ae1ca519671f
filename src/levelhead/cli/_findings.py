"""``levelhead findings``: every statistic of a run, with its interval."""

from __future__ import annotations

import json
from typing import Any

import click

from levelhead.cli._review import review_option, with_review_calibrations
from levelhead.store import open_store


@click.command()
@click.argument("run_ref", metavar="RUN", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of one finding and exit.")
@click.option("--calibration", "calibration_paths", multiple=True, metavar="FILE",
              help="A judge's calibration (`levelhead judge eval --save-calibration FILE`): every "
                   "rate of that judge also gets a rate corrected for the judge's measured errors. "
                   "Repeat for several judges.")
@review_option
@click.option("--flagged", is_flag=True,
              help="Only the flagged findings (their interval lies away from their no-problem "
                   "value), furthest first, each in one plain sentence: what the report's \"What "
                   "needs attention\" lists. The JSON form stays a list of findings, in that order.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False),
              help="With --flagged: a gate policy whose max on a rate is that rate's no-problem "
                   "value (as in the report with --policy).")
@click.option("--lang", "lang", type=click.Choice(["en", "zh"]), default=None,
              help="With --flagged: the language of the sentences [default: from the locale].")
@click.pass_obj
def findings(obj: dict[str, Any], run_ref: str | None, fmt: str, schema: bool,
             calibration_paths: tuple[str, ...], review_refs: tuple[str, ...], flagged: bool,
             policy_path: str | None, lang: str | None) -> None:
    """Every finding of RUN: rates with intervals, clustered by prompt, with the errors and
    missing verdicts beside each; probes add their own (forced-choice shares, asymmetries...).
    With --calibration, a judge's rates are also corrected for its measured errors. With
    --flagged, only what needs attention, furthest from its no-problem value first.

    The JSON form (a list of findings) is a stable contract for other tools; see
    docs/findings.md, or --schema."""
    from rich.table import Table

    if schema:
        from levelhead.records import Finding

        click.echo(json.dumps(Finding.model_json_schema(), indent=1))
        return
    if run_ref is None:
        raise click.UsageError("give a RUN (its name or id; `levelhead runs` lists them)")

    from levelhead.analysis import load_calibrations
    from levelhead.cli._render import wide_console
    from levelhead.report import compute_findings, findings_markdown, load_run_data
    from levelhead.report._findings import corrected_notes

    calibrations = load_calibrations(calibration_paths)  # a bad file fails before the work
    policy = None
    if policy_path is not None:
        if not flagged:
            raise click.UsageError("--policy goes with --flagged (the gate itself is `levelhead "
                                   "gate`)")
        from levelhead.report import load_policy

        policy = load_policy(policy_path)
    store = open_store(obj["store"], read_only=True)
    run = store.find_run(run_ref)
    calibrations = with_review_calibrations(store, run_ref, review_refs, calibrations)
    data = load_run_data(store, run.id)
    result = compute_findings(data, calibrations)
    if data.incomplete and fmt != "json":  # JSON carries it in its completeness findings
        click.secho(f"warning: {data.incomplete}; every finding rests on part of the plan only",
                    fg="yellow", err=True)
    if flagged:
        _print_flagged(run.name, result, fmt, policy, lang)
        return
    if fmt == "json":
        click.echo(json.dumps([f.model_dump(mode="json") for f in result], ensure_ascii=False,
                              indent=1))
        return
    text = findings_markdown(result)
    notes = "".join(f"\n* {line}" for line in corrected_notes(result))
    if fmt == "markdown":
        click.echo((f"> **Incomplete run**: {data.incomplete}\n\n" if data.incomplete else "")
                   + text + ("\n\nCorrected for judge error:" + notes if notes else ""))
        return
    lines = [line.strip("|").split("|") for line in text.splitlines()]
    table = Table(title=f"findings of run '{run.name}'")
    for head in lines[0]:
        table.add_column(head.strip(), justify="right" if head.strip() in ("n", "errors", "missing",
                                                                            "estimate") else "left")
    for row in lines[2:]:
        table.add_row(*(cell.strip() for cell in row))
    console = wide_console()
    console.print(table)
    if notes:
        console.print("Corrected for judge error:" + notes, markup=False, highlight=False)


def _print_flagged(run_name: str, result: list[Any], fmt: str, policy: Any, lang: str | None) -> None:
    """The flagged findings, as ``levelhead.analysis.flagged`` orders and words them."""
    from rich.table import Table

    from levelhead.analysis import flagged, language, say
    from levelhead.cli._render import wide_console
    from levelhead.report._attention import (
        distance_text,
        flagged_markdown,
        null_text,
        policy_thresholds,
    )

    chosen = language(lang)
    thresholds = None if policy is None else policy_thresholds(policy, result)
    shown = flagged(result, thresholds=thresholds, lang=chosen)
    if fmt == "json":
        click.echo(json.dumps([a.finding.model_dump(mode="json") for a in shown],
                              ensure_ascii=False, indent=1))
        return
    if not shown:
        click.echo(say(chosen, "flagged.none", run=run_name))
        return
    text = flagged_markdown(shown, chosen)
    if fmt == "markdown":
        click.echo(text)
        return
    # The terminal keeps what a person reads (the sentence holds the estimate and interval);
    # the Markdown and JSON forms carry every column.
    table = Table(title=say(chosen, "flagged.title", run=run_name))
    for i in (0, 1, 2, 3, 4, 8, 9):
        table.add_column(say(chosen, f"flagged.column.{i}"),
                         justify="right" if i in (0, 9) else "left",
                         **({"ratio": 3, "min_width": 30} if i == 1 else
                            {"ratio": 1, "overflow": "fold"} if i in (3, 4) else {"no_wrap": True}))
    for rank, a in enumerate(shown, start=1):
        f = a.finding
        table.add_row(str(rank), a.sentence, f.target, f.probe,
                      f.metric + (f" = {f.group}" if f.group else ""), null_text(a, chosen),
                      distance_text(a, chosen))
    wide_console().print(table)
