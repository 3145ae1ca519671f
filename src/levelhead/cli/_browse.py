"""``levelhead runs``, ``show`` and ``export``: read what the store holds."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

import click
from rich.console import Console
from rich.table import Table

from levelhead.cli._files import open_output
from levelhead.cli._render import wide_console
from levelhead.store import PairVerdictRecord, VerdictRecord, open_store

if TYPE_CHECKING:
    from levelhead.records import Sample

EXPORT_FIELDS = ["run", "target", "probe", "prompt_id", "sample_index", "status", "text",
                 "messages", "latency_ms", "finish_reason", "error", "seed", "prompt_tokens",
                 "completion_tokens", "attempts", "created_at"]


@click.command()
@click.pass_obj
def runs(obj: dict[str, Any]) -> None:
    """List the runs in the store, newest first."""
    store = open_store(obj["store"], read_only=True)
    table = Table(title=f"runs in {store.path}")
    for col in ("id", "name", "created", "samples", "errors", "status", "targets"):
        table.add_column(col, justify="right" if col in ("id", "samples", "errors") else "left")
    for r in store.list_runs():
        status = ("running: " + r.running if r.running else "complete" if r.complete
                  else "incomplete: resume with levelhead run --resume " + r.name)
        table.add_row(str(r.id), r.name, r.created_at, f"{r.done}/{r.planned}", str(r.errors),
                      status, ", ".join(r.targets))
    wide_console().print(table)


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.pass_obj
def show(obj: dict[str, Any], run_ref: str) -> None:
    """Per target x prompt: samples, errors, median latency and tokens of RUN (id or name)."""
    store = open_store(obj["store"], read_only=True)
    run = store.find_run(run_ref)
    rows = store.summary(run.id)
    table = Table(title=f"run '{run.name}' (id {run.id}), N = {run.samples}, seed {run.seed}")
    for col in ("target", "probe", "prompt", "samples", "errors", "median latency ms",
                "median reply tokens", "tokens in/out"):
        table.add_column(col, justify="left" if col in ("target", "probe", "prompt") else "right")
    errors = 0
    for s in rows:
        errors += s.errors
        table.add_row(
            s.target, s.probe, s.prompt_id, str(s.samples),
            f"[red]{s.errors}[/red]" if s.errors else "0",
            "-" if s.median_latency_ms is None else f"{s.median_latency_ms:.0f}",
            "-" if s.median_completion_tokens is None else f"{s.median_completion_tokens:.0f}",
            f"{s.prompt_tokens}/{s.completion_tokens}")
    console = wide_console()
    console.print(table)
    console.print(f"{errors} errors; " + store.progress(run.id).describe(),
                  markup=False, highlight=False)
    _print_verdicts(console, store.verdict_table(run.id), store.pair_verdict_table(run.id))


def _print_verdicts(console: Console, rows: list[VerdictRecord],
                    pair_rows: list[PairVerdictRecord]) -> None:
    """Label counts per judge x target x probe (a verdict table, not yet a finding)."""
    from collections import Counter, defaultdict

    groups: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    identities: dict[tuple[str, str, str], int] = {}
    for v in rows:
        # Two judges with one name and version but other settings are two identities.
        n = identities.setdefault((v.judge, v.judge_version, v.judge_args), sum(
            1 for key in identities if key[:2] == (v.judge, v.judge_version)) + 1)
        name = f"{v.judge} v{v.judge_version}" + (f" #{n}" if n > 1 else "")
        groups[(name, v.target, v.probe)][v.label] += 1
    for pv in pair_rows:
        side = pv.target_a if pv.target_a == pv.target_b else f"{pv.target_a} vs {pv.target_b}"
        groups[(f"{pv.judge} v{pv.judge_version}", side, pv.probe)][pv.label] += 1
    if not groups:
        return
    table = Table(title="verdicts (label counts; judge_error = no verdict could be given)")
    for col in ("judge", "target", "probe", "labels"):
        table.add_column(col)
    for (judge, target, probe), counts in sorted(groups.items()):
        total = sum(counts.values())
        table.add_row(judge, target, probe, ", ".join(
            f"{label} {n} ({100 * n / total:.0f} %)" for label, n in counts.most_common()))
    console.print(table)


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.pass_obj
def export(obj: dict[str, Any], run_ref: str, fmt: str, output: str | None) -> None:
    """Write every sample of RUN with its whole transcript, one line per sample."""
    store = open_store(obj["store"], read_only=True)
    run = store.find_run(run_ref)
    if not output:
        write_samples(store.iter_samples(run.id), fmt, sys.stdout)
        return
    with open_output(output, newline="") as stream:
        write_samples(store.iter_samples(run.id), fmt, stream)


def write_samples(samples: Iterable[Sample], fmt: str, stream: TextIO) -> int:
    """Write samples as JSONL or CSV; returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for s in samples:
            row = s.model_dump(mode="json")
            row["messages"] = json.dumps(row["messages"], ensure_ascii=False)
            writer.writerow(row)
            count += 1
    else:
        for s in samples:
            stream.write(s.model_dump_json() + "\n")
            count += 1
    return count
