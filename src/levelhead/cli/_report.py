"""``levelhead report``: one self-contained HTML page of a run, for people who would rather look
than read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from levelhead.cli._files import prepare_output, writing
from levelhead.cli._review import review_option, with_review_calibrations
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
@click.option("--calibration", "calibration_paths", multiple=True, metavar="FILE",
              help="A judge's calibration (`levelhead judge eval --save-calibration FILE`): the "
                   "page shows that judge's rates corrected for its measured errors beside the "
                   "raw ones. Repeat for several judges.")
@review_option
@click.option("--lang", "lang", type=click.Choice(["en", "zh"]), default=None,
              help="The page's language: en or zh [default: from the locale: zh when LC_ALL, "
                   "LC_MESSAGES or LANG starts with zh, else en].")
@click.pass_obj
def report(obj: dict[str, Any], run_ref: str, output: Path | None, compare_ref: str | None,
           targets: str | None, policy_path: Path | None, baseline_ref: str | None,
           calibration_paths: tuple[str, ...], review_refs: tuple[str, ...],
           lang: str | None) -> None:
    """Write RUN as one HTML file that works offline: what needs attention first (every flagged
    finding in plain words, furthest from its no-problem value first), then what looks fine, a
    card per behaviour, per-prompt rates, each probe's own charts, the worst replies shown
    whole, methods and known limitations. Model replies are shown as text, never as markup."""
    from levelhead.analysis import language, load_calibrations
    from levelhead.report import build_report
    from levelhead.report._html import write_report

    calibrations = load_calibrations(calibration_paths)
    pair = _target_pair(targets)
    store = open_store(obj["store"], read_only=True)
    calibrations = with_review_calibrations(store, run_ref, review_refs, calibrations)
    if output is not None:  # a bad -o fails before the work, not after it
        prepare_output(output)
    built = build_report(store, run_ref, compare=compare_ref, targets=pair, policy=policy_path,
                         baseline=baseline_ref, calibrations=calibrations, lang=language(lang))
    for note in built.notes:
        click.echo(f"note: {note}", err=True)
    html = built.html
    path = prepare_output(output or Path(f"report-{_file_name(built.run_name)}.html"))
    with writing(path):
        size = write_report(path, html)
    click.echo(f"wrote {path} ({_size(size)})")


def _file_name(name: str) -> str:
    """A run name as a safe file name part."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"
