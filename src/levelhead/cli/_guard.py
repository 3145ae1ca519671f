"""``levelhead guard``: an OpenAI-compatible proxy that judges every reply (see docs/guard.md)."""

from __future__ import annotations

import os
from typing import Any

import click

from levelhead.errors import SpecError

LOCAL = ("127.0.0.1", "localhost", "::1")
TOKEN_ENV = "LEVELHEAD_GUARD_TOKEN"


@click.command()
@click.option("--upstream", required=True, metavar="URL",
              help="Base URL of the OpenAI-compatible API to guard, e.g. http://127.0.0.1:8000/v1.")
@click.option("--policy", "policy_path", metavar="FILE",
              help="Policy TOML (default: block abusive replies in English and Chinese; "
                   "see examples/guard.toml).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help=f"Where to listen. Any host other than 127.0.0.1 needs {TOKEN_ENV} (16+ "
                   "characters), checked on every request in the X-Levelhead-Guard-Token header.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-store", is_flag=True,
              help="Keep no record of the decisions (by default every one goes to the store: "
                   "--store, LEVELHEAD_STORE or levelhead.db; see `levelhead guard-stats`).")
@click.pass_obj
def guard(obj: dict[str, Any], upstream: str, policy_path: str | None, host: str, port: int,
          no_store: bool) -> None:
    """Stand in front of a chat model's API and judge every reply before the user sees it:
    block, redact or flag what the policy's judges find (streamed replies are held back by a
    window of characters until judged). Every decision is recorded in the store."""
    from aiohttp import web

    from levelhead.guard import create_app, default_policy, load_policy
    from levelhead.store import open_store

    if not upstream.startswith(("http://", "https://")):
        raise SpecError(f"--upstream: expected an http:// or https:// URL, not {upstream!r}")
    token = os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < 16:
        raise SpecError(f"{TOKEN_ENV} is too short to guard a server: use 16 characters or more "
                        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    if host not in LOCAL and token is None:
        raise SpecError(f"--host {host} is reachable from other machines: set {TOKEN_ENV} "
                        "(16+ characters) so that every request must carry it")
    policy = load_policy(policy_path) if policy_path else default_policy()
    store = None if no_store else open_store(obj["store"])
    app = create_app(upstream, policy, token=token, store=store)
    shown = f"[{host}]" if ":" in host else host
    where = "not recorded" if store is None else f"decisions recorded in {store.path}" + (
        " with the replies' text" if policy.store_text else "")
    click.echo(f"levelhead guards {upstream} at http://{shown}:{port}/v1, {where} "
               "(Ctrl-C to stop)", err=True)
    # No access log: it would show request paths and clients, and it is not where keys belong.
    # handler_cancellation: a client that hangs up stops its request at once, judges included.
    # backlog: a burst of clients (1,000 streams at once) must not wait on the listen queue.
    web.run_app(app, host=host, port=port, access_log=None, print=None, handler_cancellation=True,
                backlog=2048)


@click.command("guard-stats")
@click.option("--since", metavar="TIME", help="Only decisions at or after this UTC time "
              "(ISO 8601: 2026-12-07 or 2026-12-07T10:00).")
@click.option("--until", metavar="TIME", help="Only decisions before this UTC time.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True, help="Confidence of each interval.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_obj
def guard_stats(obj: dict[str, Any], since: str | None, until: str | None, confidence: float,
                fmt: str) -> None:
    """What the guard did: its block rate overall, per language, per judge and per model, each
    with its interval, and how long the judges took (from the decisions in the store)."""
    import json

    from levelhead.analysis import guard_summary
    from levelhead.store import open_store

    for name, value in (("--since", since), ("--until", until)):
        if value is not None:
            _check_time(name, value)
    store = open_store(obj["store"], read_only=True)
    try:  # one pass over the store's pages: memory for the counts, not for every decision
        summary = guard_summary(_decisions(store, since, until), confidence)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        return
    if not summary.decisions:
        click.echo(f"no guard decisions in {obj['store']}"
                   + (" in that period" if since or until else "")
                   + "; `levelhead guard --upstream URL` records them as it screens replies")
        return
    _print_summary(summary)


#: Decisions read from the store at a time by ``guard-stats``.
PAGE_ROWS = 50_000


def _decisions(store: Any, since: str | None, until: str | None) -> Any:
    """The decisions in the period, read ``PAGE_ROWS`` at a time in the order written."""
    last_id = 0
    while True:
        page = store.guard_decisions(since=since, until=until, after_id=last_id, limit=PAGE_ROWS)
        yield from page
        if len(page) < PAGE_ROWS:
            return
        last_id = page[-1].id


def _check_time(option: str, value: str) -> None:
    from datetime import datetime

    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a time in ISO 8601 (2026-12-07 or "
                                 f"2026-12-07T10:00), not {value!r}", param_hint=option) from None


def _print_summary(summary: Any) -> None:
    from rich.table import Table

    from levelhead.analysis import percent
    from levelhead.cli._render import cell, printable, wide_console

    # Languages, judges and models come from requests and upstream replies: each is a cell()
    # (never rich markup, no control characters).
    console = wide_console()
    level = round(summary.confidence * 100)
    console.print(printable(f"{summary.decisions} replies screened, {summary.first} to "
                            f"{summary.last}"), markup=False, highlight=False)
    for title, what, slices in (
            ("Blocked, by language", "blocked", summary.by_language),
            ("Rule triggered, by judge (of the replies it judged)", "triggered",
             summary.by_judge),
            ("Blocked, by model", "blocked", summary.by_model)):
        table = Table(title=title, title_justify="left")
        for column in ("", "replies", what, f"rate ({level}% interval)", "flag", "redact",
                       "not judged"):
            table.add_column(column, justify="left" if not column else "right")
        for s in slices:
            shown = ("-" if s.n == 0 else f"{percent(s.estimate)} "
                     f"({percent(s.interval.low)} – {percent(s.interval.high)})")
            table.add_row(cell(s.key), str(s.n), str(s.k), shown, str(s.actions.get("flag", 0)),
                          str(s.actions.get("redact", 0)), str(s.not_judged))
        console.print(table)
    lat, jud = summary.latency_ms, summary.judge_ms
    console.print(f"request to decision: median {lat['median']:.1f} ms, p99 {lat['p99']:.1f} ms; "
                  f"in the judges: median {jud['median']:.2f} ms, p99 {jud['p99']:.2f} ms")
