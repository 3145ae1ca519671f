"""``levelhead store``: work on stores as a whole (``store copy``: runs from one store to
another, SQLite or PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import click

from levelhead.errors import StoreError
from levelhead.store import open_store


@click.group("store")
def store_group() -> None:
    """Work on whole stores: move runs between SQLite files and PostgreSQL databases."""


@store_group.command("copy")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option("--run", "runs", multiple=True, metavar="RUN",
              help="Copy this run (name or id in SRC); repeat for several [default: every run].")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_obj
def copy(obj: dict[str, Any], source: str, destination: str, runs: tuple[str, ...],
         quiet: bool) -> None:
    """Copy runs from the store SRC to the store DST (each a SQLite file or a postgresql://
    URL), with their targets, prompts, samples, turns, verdicts, judges and review queues.

    A run whose name DST already holds is refused (nothing is overwritten). Each run is copied
    whole or not at all, and the counts of its rows in DST are checked against SRC and printed.
    DST is created when it is a file that does not exist (a PostgreSQL database must exist).

    \b
    levelhead store copy levelhead.db postgresql://audit@db.example/levelhead --run demo
    levelhead store copy postgresql://audit@db.example/levelhead archive.db
    """
    from levelhead.store._copy import TABLES, copy_runs, same_place

    last = [time.monotonic()]

    def progress(run: str, table: str, done: int, total: int) -> None:
        # A line a second on stderr while a copy takes long (none for a copy done in a second).
        now = time.monotonic()
        if quiet or now - last[0] < 1.0:
            return
        last[0] = now
        click.echo(f"  {run}: {table.replace('_', ' ')} {done:,} of {total:,}", err=True)

    if same_place(source, destination):  # before anything is opened for writing
        raise StoreError(f"{source} is both the source and the destination of the copy")
    source_store = open_store(source, read_only=True)
    try:
        for ref in runs:  # an unknown run is refused before DST is created or migrated
            source_store.find_run(ref)
        if not runs and not source_store.list_runs():
            click.echo(f"{source_store.path} holds no runs; nothing was copied")
            return
        destination_store = open_store(destination)
        try:
            copied = copy_runs(source_store, destination_store, runs, progress=progress)
        finally:
            destination_store.close()
    finally:
        source_store.close()
    if not copied:
        click.echo(f"{source_store.path} holds no runs; nothing was copied")
        return
    for run in copied:
        counts = ", ".join(f"{run.rows[t]:,} {t.replace('_', ' ')}" for t in TABLES)
        click.echo(f"copied run '{run.name}' (id {run.source_id} in SRC, id {run.copy_id} in "
                   f"DST): {counts}; the counts match in both stores")
