"""``levelhead monitor``: production conversations judged as they are logged, rates watched over
time with always-valid tests, alarms that mean something (see docs/monitor.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any

import click

from levelhead.errors import SpecError


@click.group("monitor")
def monitor() -> None:
    """Watch live traffic: ingest production logs (or the guard's decisions), judge every reply,
    track each behaviour's rate against a baseline, and alarm when it rises.

    \b
      levelhead monitor ingest app.jsonl --follow
      levelhead monitor status
      levelhead monitor check --webhook https://hooks.example/alarm   # exit 1 on an alarm
    """


def _sample_rates(values: tuple[str, ...]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for value in values:
        name, _, p = value.partition("=")
        try:
            rates[name.strip() or "?"] = float(p)
        except ValueError:
            raise SpecError(f"--sample {value!r}: expected JUDGE=PROBABILITY, e.g. "
                            "llm.rubric=0.05") from None
        if not name.strip():
            raise SpecError(f"--sample {value!r}: expected JUDGE=PROBABILITY, e.g. "
                            "llm.rubric=0.05")
    return rates


@monitor.command("ingest")
@click.argument("path", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["openai-jsonl", "guard"]),
              default="openai-jsonl", show_default=True,
              help="openai-jsonl: one conversation a line ({\"messages\": [...]} with optional id, "
                   "timestamp, model, lang, feedback); guard: FILE is a store holding the guard's "
                   "decisions.")
@click.option("--follow", is_flag=True,
              help="Go on as the file grows (it survives rotation), until Ctrl-C.")
@click.option("--judge", "names", multiple=True, metavar="NAME",
              help="A judge to run (repeatable; default: abuse.lexicon, flattery.lexicon, "
                   "refusal.rules).")
@click.option("--judges-file", type=click.Path(exists=True, dir_okay=False),
              help="TOML with [[judges]] tables (a judge with its settings, as a probe's).")
@click.option("--sample", "samples", multiple=True, metavar="JUDGE=P",
              help="Run a costly judge on a random share P of the turns (repeatable); each "
                   "verdict keeps P so rates stay unbiased.")
@click.option("--store-text", type=click.Choice(["none", "hash", "full"]), default="none",
              show_default=True, help="What is kept of each reply: nothing, a SHA-256 hash, or "
                                      "the text.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seeds the draw of sampled judges' turns.")
@click.option("--batch", default=2_000, show_default=True, type=click.IntRange(1, 100_000),
              help="Conversations stored per transaction.")
@click.option("--workers", type=click.IntRange(0, 64), default=0,
              help="Processes that judge side by side (default: one per CPU; 1 judges in this "
                   "process).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.pass_obj
def ingest(obj: dict[str, Any], path: str, fmt: str, follow: bool, names: tuple[str, ...],
           judges_file: str | None, samples: tuple[str, ...], store_text: str, seed: int,
           batch: int, workers: int, quiet: bool) -> None:
    """Ingest FILE: judge every assistant turn of every conversation and store the verdicts.

    Ingesting the same FILE again goes on where the last ingest stopped: every line is taken
    once. Malformed lines are counted and reported with their line numbers, never fatal."""
    from levelhead.cli._judge_configs import judge_configs_from
    from levelhead.cli._render import printable
    from levelhead.monitor import DEFAULT_JUDGES, Monitor
    from levelhead.monitor._batches import guard_batches, log_batches, source_name, start_of
    from levelhead.store import open_store

    configs = judge_configs_from(names or (() if judges_file else DEFAULT_JUDGES), judges_file)
    rates = _sample_rates(samples)
    unknown = sorted(set(rates) - {c.name for c in configs})
    if unknown:
        raise SpecError(f"--sample {unknown[0]}: not one of the judges run "
                        f"({', '.join(c.name for c in configs)})")
    store = open_store(obj["store"])
    stop = threading.Event()
    source = ("guard:" if fmt == "guard" else "") + source_name(path)
    known = {s.source: s for s in store.monitor_sources()}.get(source)
    shown = [0]
    last = [time.monotonic()]

    def progress(totals: Any, b: Any) -> None:
        for line, reason in b.malformed:
            if shown[0] < 20:  # the reason quotes nothing of the line; the path is the user's
                click.echo(f"warning: {printable(path)} line {line}: {printable(reason)}",
                           err=True)
            shown[0] += 1
        if not quiet:
            now = time.monotonic()
            if now - last[0] >= 2.0 or follow:
                last[0] = now
                click.echo(_summary(totals), err=True)

    guard_store = None
    try:
        # The guard's decisions without text carry the guard's verdicts, read in this process.
        processes = 1 if fmt == "guard" else (workers or os.cpu_count() or 1)
        monitor_ = Monitor(store, [(c, rates.get(c.name, 1.0)) for c in configs],
                           store_text=store_text, seed=seed,  # type: ignore[arg-type]
                           workers=processes)
        if fmt == "guard":
            guard_store = open_store(path, read_only=True)
            batches = guard_batches(guard_store, known.offset if known else 0, follow=follow,
                                    stop=stop, size=batch)
        else:  # a generator: a missing file is found (and said) as it starts reading
            batches = log_batches(path, start=start_of(known), follow=follow, stop=stop,
                                  size=batch)
        if known is not None and not quiet:
            click.echo(f"going on from line {known.line} of {path} "
                       f"({known.records} conversations ingested before)", err=True)
        def halt(*_: Any) -> None:
            # Ctrl-C or a service manager's SIGTERM: stop reading, store what was read, and
            # end as a finished ingest (the next one goes on from there). A second Ctrl-C
            # does not wait.
            if interrupted:
                raise KeyboardInterrupt
            interrupted.append(True)
            stop.set()

        interrupted: list[bool] = []
        main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, halt) for s in (signal.SIGINT, signal.SIGTERM)} if main \
            else {}
        try:
            totals = asyncio.run(_run(monitor_, source, batches, progress, stop))
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    except FileNotFoundError:
        raise SpecError(f"no log at {path}") from None
    finally:
        store.close()
        if guard_store is not None:
            guard_store.close()
    if shown[0] > 20:
        click.echo(f"warning: {shown[0] - 20} more malformed lines (levelhead monitor status "
                   "lists the newest)", err=True)
    click.echo(_summary(totals))
    if interrupted and not follow:
        click.echo(f"stopped before the end of {path}; ingest it again to go on", err=True)


async def _run(monitor_: Any, source: str, batches: Any, progress: Any,
               stop: threading.Event) -> Any:
    from levelhead.monitor import ingest_batches

    try:
        return await ingest_batches(monitor_, source, batches, on_batch=progress)
    finally:
        stop.set()  # on an error too: the reader's thread must not keep the process waiting
        await monitor_.close()


def _summary(totals: Any) -> str:
    return (f"ingested {totals.conversations:,} conversations ({totals.turns_stored:,} new turns "
            f"of {totals.turns_judged:,} judged, {totals.malformed:,} malformed lines), "
            f"{totals.per_second:,.0f} conversations/s")


def _add_check_commands() -> None:
    from levelhead.cli._monitor_check import monitor_check, monitor_status

    monitor.add_command(monitor_status, "status")
    monitor.add_command(monitor_check, "check")


_add_check_commands()
