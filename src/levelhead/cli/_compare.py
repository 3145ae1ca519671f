"""``levelhead compare``: two runs (or two targets of one run), behaviour by behaviour."""

from __future__ import annotations

from typing import Any

import click

from levelhead.store import open_store


@click.command()
@click.argument("baseline_ref", metavar="RUN_A")
@click.argument("candidate_ref", metavar="[RUN_B]", required=False)
@click.option("--targets", "targets", metavar="BASELINE,CANDIDATE",
              help="The two targets to compare (needed when a run has more than two, or the runs "
                   "share no target name).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True)
@click.option("--correction", type=click.Choice(["holm", "bh"]), default="holm", show_default=True,
              help="Multiplicity correction: holm (family-wise error) or bh (false discovery rate).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Error level of the correction.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True, help="Confidence of each interval.")
@click.option("--all-labels", is_flag=True,
              help="Compare every label, not only the labels judges declare as failures.")
@click.pass_obj
def compare(obj: dict[str, Any], baseline_ref: str, candidate_ref: str | None, targets: str | None, fmt: str,
            correction: str, alpha: float, confidence: float, all_labels: bool) -> None:
    """Compare RUN_B (the candidate) with RUN_A (the baseline), paired by prompt: every
    behaviour's difference in rate, its interval and p-value, adjusted for comparing many
    behaviours at once. With one run, compare its two targets (the first is the baseline).
    When a content filter withheld replies on either side (an audit through `levelhead
    guard`), also each side's blocked share and false blocks on benign replies."""
    from rich.table import Table

    from levelhead.analysis import say
    from levelhead.cli._render import wide_console
    from levelhead.report import load_run_data
    from levelhead.report._compare import (
        FILTER_COLUMNS,
        compare_runs,
        comparison_markdown,
        comparison_rows,
        content_filter_sentence,
        content_filter_table,
        content_filter_warnings,
        correction_sentence,
    )

    pair = None
    if targets is not None:
        parts = [p.strip() for p in targets.split(",")]
        if len(parts) != 2 or not all(parts):
            raise click.BadParameter("give two target names, baseline first: --targets old,new",
                                     param_hint="--targets")
        pair = (parts[0], parts[1])
    store = open_store(obj["store"], read_only=True)
    base = load_run_data(store, store.find_run(baseline_ref).id)
    cand = None if candidate_ref is None else load_run_data(store, store.find_run(candidate_ref).id)
    result = compare_runs(base, cand, targets=pair, confidence=confidence,
                          method=correction, alpha=alpha, all_labels=all_labels)  # type: ignore[arg-type]
    if (note := result.incomplete_note()) is not None:
        click.secho(f"warning: {note}", fg="yellow", err=True)
    if fmt == "json":
        click.echo(result.to_json())
        return
    if fmt == "markdown":
        click.echo(comparison_markdown(result))
        return
    # One pair of targets: name it in the title and keep the columns for the numbers.
    skip = 2 if len(result.pairs) == 1 else 0
    title = (f"{result.rows[0].candidate} vs {result.rows[0].baseline}" if skip
             else f"{result.candidate} vs {result.baseline}")
    table = Table(title=title)
    short = ("baseline", "candidate", "behaviour", "baseline", "candidate", "diff (pts)",
             f"{100 * confidence:g} % interval", "p", "adj. p", "prompts", "")
    for i, head in enumerate(short[skip:], skip):
        table.add_column(head, justify="left" if i in (0, 1, 2, 10) else "right",
                         no_wrap=i not in (2, 10))
    for row in comparison_rows(result):
        style = "bold red" if "significant" in row[-1] else None
        table.add_row(*row[skip:], style=style)
    console = wide_console()
    console.print(table)
    console.print(correction_sentence(result), soft_wrap=True)
    if result.content_filter:
        blocked = Table(title=say("en", "compare.filter.title"))
        for i in range(FILTER_COLUMNS):
            head = say("en", f"compare.filter.column.{i}")
            if i in (4, 7):
                head = f"{100 * confidence:g} % {head}"
            blocked.add_column(head, justify="left" if i < 2 else "right", no_wrap=i >= 2,
                               overflow="fold")
        for row in content_filter_table(result):
            blocked.add_row(*row)
        console.print(blocked)
        console.print(content_filter_sentence(result), soft_wrap=True, markup=False)
        for warning in content_filter_warnings(result):
            console.print(warning, soft_wrap=True, markup=False, style="yellow")
