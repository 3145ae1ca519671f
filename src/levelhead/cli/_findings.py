"""``levelhead findings``: every statistic of a run, with its interval."""

from __future__ import annotations

import json
from typing import Any

import click

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
@click.pass_obj
def findings(obj: dict[str, Any], run_ref: str | None, fmt: str, schema: bool,
             calibration_paths: tuple[str, ...]) -> None:
    """Every finding of RUN: rates with intervals, clustered by prompt, with the errors and
    missing verdicts beside each; probes add their own (forced-choice shares, asymmetries...).
    With --calibration, a judge's rates are also corrected for its measured errors.

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
    store = open_store(obj["store"], read_only=True)
    run = store.find_run(run_ref)
    data = load_run_data(store, run.id)
    result = compute_findings(data, calibrations)
    if data.incomplete and fmt != "json":  # JSON carries it in its completeness findings
        click.secho(f"warning: {data.incomplete}; every finding rests on part of the plan only",
                    fg="yellow", err=True)
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
