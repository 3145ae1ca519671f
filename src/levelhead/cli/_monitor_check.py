"""``levelhead monitor status`` and ``levelhead monitor check``: live rates against their baseline,
always-valid alarms across slices, and what users' thumbs reward (issue 19).

Both read the monitor's store (``levelhead monitor ingest`` fills it) through
:func:`levelhead.analysis.monitor_status`; ``check`` is for cron and CI: one line per active
alarm, exit 1 while any is active, and an optional webhook POST of the alarms' JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

#: Seconds the webhook may take before it counts as failed.
WEBHOOK_TIMEOUT_S = 10.0


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``status`` and ``check`` share."""
    for option in reversed([
        click.option("--baseline", "baseline_text", default="10000", show_default=True,
                     metavar="N|SINCE..UNTIL|RUN",
                     help="What the live rates are compared with: the first N turns ingested, "
                          "a period (2026-12-01..2026-12-05; turns after it are watched), or an "
                          "audit run's name (run:NAME when it looks like a number or period)."),
        click.option("--by", type=click.Choice(["day", "hour", "order"]), default="day",
                     show_default=True,
                     help="Windows of the rates over time: a day, an hour, or --step turns in "
                          "the order ingested."),
        click.option("--step", type=click.IntRange(min=1), default=1_000, show_default=True,
                     help="Turns per check of the sequential test (a baseline of N turns must "
                          "be a multiple)."),
        click.option("--q", "q", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                     default=0.05, show_default=True,
                     help="False discovery rate over every behaviour x slice (Benjamini-"
                          "Hochberg), for the alarms and the reward findings."),
        click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                     default=0.05, show_default=True,
                     help="Each watch's chance of ever alarming while its rate holds steady."),
        click.option("--two-sided", is_flag=True,
                     help="Alarm on a fall as well as a rise (e.g. refusals that collapse)."),
        click.option("--calibration", "calibration_paths", multiple=True, metavar="FILE",
                     help="A judge's calibration (`levelhead judge eval --save-calibration "
                          "FILE`): its rates are also corrected for its measured errors."),
    ]):
        command = option(command)
    return command


def _status(obj: dict[str, Any], baseline_text: str, by: str, step: int, q: float, alpha: float,
            two_sided: bool, calibration_paths: tuple[str, ...]) -> Any:
    from levelhead.analysis import MonitorBaseline, load_calibrations, monitor_status
    from levelhead.store import open_store

    baseline = MonitorBaseline.parse(baseline_text)
    calibrations = load_calibrations(calibration_paths)  # a bad file fails before the work
    store = open_store(obj["store"], read_only=True)
    try:
        return monitor_status(store, baseline=baseline, by=by, step=step, q=q,  # type: ignore[arg-type]
                              alpha=alpha, alternative="two-sided" if two_sided else "greater",
                              calibrations=calibrations)
    finally:
        store.close()


def _warn(status: Any) -> None:
    from levelhead.cli._render import printable

    for note in status.notes:  # notes name judges and runs: shown, never obeyed by the terminal
        click.secho(f"note: {printable(note)}", fg="yellow", err=True)


@click.command("status")
@_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_obj
def monitor_status(obj: dict[str, Any], baseline_text: str, by: str, step: int, q: float,
                   alpha: float, two_sided: bool, calibration_paths: tuple[str, ...],
                   fmt: str) -> None:
    """Every behaviour's live rate per slice (all; each model; each language; each model and
    language): in the baseline and since it, with intervals; the latest window; the always-valid
    p-value of the sequential test and its Benjamini-Hochberg adjustment, alarms marked; and
    the reward signal (each behaviour's rate among thumbs-up vs thumbs-down replies)."""
    status = _status(obj, baseline_text, by, step, q, alpha, two_sided, calibration_paths)
    if fmt == "json":
        click.echo(json.dumps(status.to_dict(), ensure_ascii=False, indent=1, allow_nan=False))
        return
    _warn(status)
    _print_status(status)


@click.command("check")
@_options
@click.option("--webhook", metavar="URL",
              help="POST the alarms' JSON to this http(s) URL while any alarm is active (10 s "
                   "timeout). A failed POST is reported on stderr; the exit code stays 1.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: the alarms' JSON (what the webhook receives).")
@click.pass_context
def monitor_check(ctx: click.Context, baseline_text: str, by: str, step: int, q: float,
                  alpha: float, two_sided: bool, calibration_paths: tuple[str, ...],
                  webhook: str | None, fmt: str) -> None:
    """For cron and CI: print one line per active alarm (a rate risen above its baseline, or
    users' approval favouring a bad behaviour) and exit 1 while any is active, 0 otherwise.
    Expected errors (a bad option, no store) exit 2."""
    from levelhead.cli._render import printable

    if webhook is not None and not webhook.lower().startswith(("http://", "https://")):
        raise click.BadParameter(f"expected an http:// or https:// URL, not "
                                 f"{printable(webhook_origin(webhook))!r} (the rest not shown)",
                                 param_hint="--webhook")
    status = _status(ctx.obj, baseline_text, by, step, q, alpha, two_sided, calibration_paths)
    _warn(status)
    lines = status.alarm_lines()
    if fmt == "json":
        click.echo(json.dumps(status.alarms_json(), ensure_ascii=False, indent=1, allow_nan=False))
    elif lines:
        for line in lines:  # model and language names come from the logs: no escape sequences
            click.echo(printable(line))
    else:
        watched = sum(w.watch is not None for w in status.watches)
        click.echo(printable(f"no alarm: {watched} watches (behaviour x slice) over "
                             f"{status.monitored_turns:,} turns after the baseline "
                             f"({status.baseline.describe()}), {len(status.rewards)} reward "
                             "signals"))
    if not lines:
        return
    if webhook is not None:
        failure = post_alarms(webhook, status.alarms_json())
        if failure is not None:
            click.secho(f"webhook failed: {printable(failure)}; the alarms stand", fg="red",
                        err=True)
    ctx.exit(1)


def webhook_origin(url: str) -> str:
    """``scheme://host[:port]`` of a webhook URL: what may be shown of it. The path, query and
    any user and password stay out (a Slack-style URL carries its secret in the path)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is no number, a bracket left open: show the scheme alone
        return f"{url.split(':', 1)[0]}://…" if ":" in url else "…"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def post_alarms(url: str, payload: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT_S) -> str | None:
    """POST ``payload`` as JSON to ``url``; None when it was accepted (2xx), else why not. The
    URL is named only as ``scheme://host[:port]``: its path (a Slack-style URL's secret), query
    and password are kept out of the reason too."""
    import http.client
    import urllib.error
    import urllib.request

    origin = webhook_origin(url)

    def hidden(reason: object) -> str:
        text = str(reason).replace(url, origin)
        for part in _secret_parts(url):
            text = text.replace(part, "…")
        return f"POST {origin}: {text}"

    try:
        request = urllib.request.Request(
            url, data=json.dumps(payload, ensure_ascii=False, allow_nan=False).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "levelhead-monitor"},
            method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        return hidden(f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        return hidden(getattr(exc, "reason", exc))
    return None


def _secret_parts(url: str) -> list[str]:
    """The pieces of ``url`` beyond its origin, longest first (never a bare ``/``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        pieces = [parts.path, parts.query, parts.fragment, parts.username or "",
                  parts.password or ""]
    except ValueError:
        pieces = [url.split("://", 1)[-1]]
    return sorted({p for p in pieces if len(p) > 1}, key=len, reverse=True)


def _cell(rate: Any) -> str:
    """``2.1 % [1.8–2.3]``: a rate and its interval, in few columns."""
    from levelhead.analysis import percent

    if rate is None:
        return "–"
    ends = "–".join(percent(x).removesuffix(" %") for x in (rate.interval.low, rate.interval.high))
    return f"{percent(rate.estimate)} [{ends}]"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"


def _print_status(status: Any) -> None:
    from rich.table import Table

    from levelhead.analysis import percent
    from levelhead.cli._render import cell, printable, wide_console

    # Every name here may come from a log (models, languages, sources, malformed lines): each
    # line goes through printable() and never through rich markup, each name in a table is a cell().
    console = wide_console()
    level = f"{100 * status.confidence:g} %"
    console.print(f"{status.turns:,} turns; baseline: {printable(status.baseline.describe())} "
                  f"({status.baseline_turns:,}); watched since: {status.monitored_turns:,} turns, "
                  f"{status.checks} checks of {status.step:,}; {level} intervals; alarm: "
                  f"always-valid p adjusted over every slice (BH) <= {status.q:g}",
                  markup=False, highlight=False)
    for src in status.sources:
        console.print(f"source {printable(src.source)}: {src.records:,} conversations to line "
                      f"{src.line:,}, {src.malformed:,} malformed lines"
                      + (", the newest:" if src.malformed else ""),
                      markup=False, highlight=False, soft_wrap=True)
        for line, reason in src.newest_malformed:
            console.print(f"  line {line}: {printable(reason)}", markup=False, highlight=False,
                          soft_wrap=True)
    if not status.watches:
        console.print("nothing to watch yet: `levelhead monitor ingest FILE` stores judged turns",
                      markup=False)
        return
    corrected = any(w.corrected is not None for w in status.watches)
    by_behaviour: dict[str, list[Any]] = {}
    for w in status.watches:
        by_behaviour.setdefault(w.behaviour.name, []).append(w)
    for name, watches in by_behaviour.items():
        table = Table(title=cell(name), title_justify="left")
        heads = ["slice", "baseline", "since baseline", f"latest {status.by}", "diff (pts)", "p",
                 "adj. p", ""] + (["corrected since"] if corrected else [])
        for i, head in enumerate(heads):
            table.add_column(head, justify="left" if i in (0, 7) else "right", no_wrap=i != 0)
        for w in watches:
            diff = (f"{100 * (w.monitored.estimate - w.baseline.estimate):+.2f}"
                    if w.monitored and w.baseline else "–")
            latest = "–" if w.latest is None else _cell(w.latest.rate)
            mark = "ALARM" if w.alarm else ("not watched" if w.watch is None else "")
            row: list[Any] = [cell(w.slice.name), _cell(w.baseline), _cell(w.monitored), latest,
                              diff, _p(w.watch.p_value if w.watch else None),
                              _p(w.adjusted_p_value), mark]
            if corrected:
                c = w.corrected
                row.append("–" if c is None or c.estimate is None else
                           f"{percent(c.estimate)} [{percent(c.ci_low).removesuffix(' %')}–"
                           f"{percent(c.ci_high).removesuffix(' %')}]")
            table.add_row(*row, style="bold red" if w.alarm else None)
        console.print(table)
    # The reward signal: each behaviour over all traffic, then the other slices approval favours.
    for r in status.rewards:
        if r.slice.name != "all":
            continue
        interval = r.interval
        console.print(printable(
            f"reward {r.behaviour.name} [all]: {percent(r.up.estimate)} of thumbs-up replies vs "
            f"{percent(r.down.estimate)} of thumbs-down, {100 * (r.difference or 0):+.2f} pts "
            f"({level} {100 * interval.low:+.2f} to {100 * interval.high:+.2f}), one-sided p "
            f"{_p(r.p_value)}, adj. {_p(r.adjusted_p_value)}"
            + ("  <- users' approval favours it" if r.favoured else "")),
            markup=False, highlight=False, soft_wrap=True, style="bold red" if r.favoured else None)
        also = [x for x in status.favoured if x.behaviour == r.behaviour and x.slice.name != "all"]
        if also:
            console.print(printable(
                f"  {'also ' if r.favoured else ''}favoured in {len(also)} slices: " + ", ".join(
                    f"{x.slice.name} ({100 * (x.difference or 0):+.2f} pts)" for x in also)),
                markup=False, highlight=False, soft_wrap=True, style="bold red")
    for w in status.alarms:  # the reward findings are marked above
        console.print(printable(w.line()), markup=False, highlight=False, soft_wrap=True,
                      style="bold red")
