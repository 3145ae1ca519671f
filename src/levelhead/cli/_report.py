"""``levelhead report``: one self-contained HTML page of a run, for people who would rather look
than read."""

from __future__ import annotations

from pathlib import Path

import click

from levelhead.cli._files import prepare_output, writing
from levelhead.store import open_store


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _target_pair(targets: str | None) -> tuple[str, str] | None:
    if targets is None:
        return None
    parts = [p.strip() for p in targets.split(",")]
    if len(parts) != 2 or not all(parts):
        raise click.BadParameter("give two target names, baseline first: --targets old,new",
                                 param_hint="--targets")
    return parts[0], parts[1]


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the page [default: report-<run name>.html].")
@click.option("--compare", "compare_ref", metavar="OTHER_RUN",
              help="Add the comparison of RUN with OTHER_RUN as the baseline (as `levelhead "
                   "compare OTHER_RUN RUN` computes it), with its forest plot. RUN is always the "
                   "candidate, as with --baseline.")
@click.option("--targets", metavar="BASELINE,CANDIDATE",
              help="Add the comparison of two targets (of RUN, or of RUN and RUN_B).")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Add the release gate of this policy, and its verdict on each summary card.")
@click.option("--baseline", "baseline_ref", metavar="RUN",
              help="The baseline run for the policy's margins (also compared with RUN).")
@click.pass_obj
def report(obj: dict, run_ref: str, output: Path | None, compare_ref: str | None,
           targets: str | None, policy_path: Path | None, baseline_ref: str | None) -> None:
    """Write RUN as one HTML file that works offline: a summary card per behaviour, per-prompt
    rates, each probe's own charts, the worst replies shown whole, methods and known
    limitations. Model replies are shown as text, never as markup."""
    from levelhead.report import ReportSection, compute_findings, load_run_data
    from levelhead.report._html import render_report, write_report
    from levelhead.report._tail import tail_conversations

    pair = _target_pair(targets)
    store = open_store(obj["store"], read_only=True)
    if output is not None:  # a bad -o fails before the work, not after it
        prepare_output(output)
    run = store.find_run(run_ref)
    data = load_run_data(store, run.id)
    findings = compute_findings(data)
    extra: list[ReportSection] = []
    statuses = None
    baseline = None if baseline_ref is None else load_run_data(store, store.find_run(baseline_ref).id)
    if compare_ref is not None or pair is not None or baseline is not None:
        from levelhead.report._compare import CompareError, compare_runs, comparison_section

        if compare_ref is not None:
            other = load_run_data(store, store.find_run(compare_ref).id)
            extra.append(comparison_section(compare_runs(other, data, targets=pair)))
        elif pair is not None:
            extra.append(comparison_section(compare_runs(baseline or data, data if baseline else None,
                                                         targets=pair)))
        else:  # only a baseline: show what changed since, if the runs can be paired
            assert baseline is not None
            try:
                extra.append(comparison_section(compare_runs(baseline, data)))
            except CompareError as exc:
                click.echo(f"note: no comparison with the baseline ({exc})", err=True)
    if policy_path is not None:
        from levelhead.report import evaluate_gate, gate_section, load_policy

        result = evaluate_gate(load_policy(policy_path), data, baseline)
        statuses = result.statuses
        extra.append(gate_section(result))
    conversations = tail_conversations(store, data)
    html = render_report(data, findings, extra_sections=extra, statuses=statuses,
                         conversations=conversations)
    path = prepare_output(output or Path(f"report-{_file_name(data.run_name)}.html"))
    with writing(path):
        size = write_report(path, html)
    click.echo(f"wrote {path} ({_size(size)})")


def _file_name(name: str) -> str:
    """A run name as a safe file name part."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"
