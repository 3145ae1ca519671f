"""The monitor page (``/monitor``): every behaviour's live rate per slice of traffic, window by
window, with its interval band, the baseline's rate, and a marker where the always-valid alarm
first fired; a table of slices with their adjusted p-values; what users' thumbs reward; and the
sources ingested, with their newest malformed lines.

The numbers are :func:`levelhead.analysis.monitor_status`'s, computed on every request (nothing
is cached). The charts are inline SVG drawn here (no script: the app's Content-Security-Policy
allows none inline, and the page needs no network); every string on the page, a malformed
line's reason above all, goes through the templates' autoescape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from levelhead.analysis import (
    MonitorBaseline,
    MonitorStatus,
    RewardSignal,
    SliceWatch,
    WindowRate,
    monitor_status,
    percent,
)
from levelhead.errors import LevelheadError
from levelhead.store import Store
from levelhead.web._context import Web

BY = ("day", "hour", "order")
# Chart geometry (SVG user units; the chart is drawn at this size).
WIDTH, HEIGHT = 540, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 26, 34


def routes(web: Web) -> list[Route]:
    """The monitor's route."""
    async def monitor(request: Request) -> Response:
        params = request.query_params
        by = params.get("by", "day").strip() or "day"
        baseline_text = params.get("baseline", "").strip()
        step_text = params.get("step", "").strip()
        form = {"by": by, "baseline": baseline_text, "step": step_text}
        try:
            if by not in BY:
                raise LevelheadError(f"by: expected day, hour or order (got {by[:20]!r})")
            step = _step(step_text)
            baseline = MonitorBaseline.parse(baseline_text) if baseline_text else None
        except LevelheadError as exc:
            return web.page(request, "monitor.html.j2", status_code=400, form=form,
                            problem=str(exc), by_choices=BY)
        try:
            context = await web.use(lambda s: _context(s, baseline, by, step))
        except LevelheadError as exc:  # a run the store does not hold, a baseline off --step
            return web.page(request, "monitor.html.j2", status_code=400, form=form,
                            problem=str(exc), by_choices=BY)
        return web.page(request, "monitor.html.j2", form=form, by_choices=BY, **context)

    return [Route("/monitor", monitor, methods=["GET"])]


def _step(text: str) -> int:
    if not text:
        return 1_000
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or int(text) < 1:
        raise LevelheadError(f"step: expected a number of turns, 1 or more (got {text[:20]!r})")
    return int(text)


# --- what the template shows ----------------------------------------------------------------


@dataclass
class Point:
    """One window on a chart: its place and its numbers as text."""

    x: float
    y: float
    low: float
    high: float
    title: str


@dataclass
class ChartView:
    """One behaviour x slice drawn: the rate per window, its band, the baseline, the alarm."""

    slice: str
    alarm: bool
    points: list[Point]
    band: str  # the interval band's polygon points
    line: str  # the rate's polyline points
    baseline_y: float | None
    baseline_label: str
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]  # (x, anchor, text)
    marker: Point | None = None
    marker_window: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


@dataclass
class BehaviourView:
    """One behaviour: its slices' rows and charts."""

    name: str
    alarm: bool
    watches: list[SliceWatch]
    charts: list[ChartView] = field(default_factory=list)


def _context(s: Store, baseline: MonitorBaseline | None, by: str, step: int) -> dict[str, Any]:
    status = monitor_status(s, baseline=baseline, by=by, step=step)  # type: ignore[arg-type]
    if status.turns == 0:
        return {"status": status, "empty": True, "behaviours": [], "rewards": []}
    behaviours: dict[str, BehaviourView] = {}
    alarmed = status.by != "order" and any(w.first_alarm_turn for w in status.watches)
    checks = _check_windows(s, status) if alarmed else {}
    for w in status.watches:
        view = behaviours.setdefault(w.behaviour.name, BehaviourView(w.behaviour.name, False, []))
        view.watches.append(w)
        view.alarm = view.alarm or w.alarm
        # Charts: all, each model, each language, and any other slice that alarms.
        if w.windows and (w.slice.model is None or w.slice.language is None or w.alarm):
            view.charts.append(_chart(status, w, checks))
    shown = sorted(behaviours.values(), key=lambda b: not b.alarm)  # alarming ones first
    untimed = by != "order" and bool(status.watches) and not any(w.windows for w in status.watches)
    return {"status": status, "empty": False, "behaviours": shown, "untimed": untimed,
            "rewards": [_reward_sentence(r, status.confidence) for r in status.rewards]}


def _span(w: WindowRate) -> tuple[float, float, float]:
    r = w.rate
    return r.estimate, r.interval.low, r.interval.high


def _ends(rate: Any) -> str:
    return f"{percent(rate.interval.low)}–{percent(rate.interval.high)}"


def _chart(status: MonitorStatus, w: SliceWatch, checks: dict[int, str]) -> ChartView:
    windows = w.windows
    top = max([hi for _, _, hi in map(_span, windows)]
              + ([w.baseline.estimate] if w.baseline is not None else []) + [1e-4])
    ymax = _nice(top * 1.1)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(i: int) -> float:
        return LEFT + (inner_w / 2 if len(windows) == 1 else inner_w * i / (len(windows) - 1))

    def y_of(v: float) -> float:
        return TOP + inner_h * (1.0 - min(max(v / ymax, 0.0), 1.0))

    points = []
    for i, win in enumerate(windows):
        est, low, high = _span(win)
        points.append(Point(round(x_of(i), 1), round(y_of(est), 1), round(y_of(low), 1),
                            round(y_of(high), 1),
                            f"{win.window}: {percent(est)} ({_ends(win.rate)}), "
                            f"{win.rate.verdicts:,} verdicts"))
    band = " ".join(f"{p.x},{p.high}" for p in points) + " " + " ".join(
        f"{p.x},{p.low}" for p in reversed(points))
    if len(points) == 1:  # a lone window: a band as wide as a bar
        p = points[0]
        band = f"{p.x - 6},{p.high} {p.x + 6},{p.high} {p.x + 6},{p.low} {p.x - 6},{p.low}"
    line = " ".join(f"{p.x},{p.y}" for p in points)
    marker, marker_window = None, ""
    if w.first_alarm_turn is not None:
        index = _alarm_window(status, w, checks)
        if index is not None:
            marker, marker_window = points[index], windows[index].window
    last = len(windows) - 1
    x_labels = [(points[0].x, "start", windows[0].window)]
    if last:
        x_labels.append((points[last].x, "end", windows[last].window))
    return ChartView(
        slice=w.slice.name, alarm=w.alarm, points=points, band=band, line=line,
        baseline_y=None if w.baseline is None else round(y_of(w.baseline.estimate), 1),
        baseline_label="" if w.baseline is None else f"baseline {percent(w.baseline.estimate)}",
        y_ticks=[(round(y_of(v), 1), percent(v)) for v in (0.0, ymax / 2, ymax)],
        x_labels=x_labels, marker=marker, marker_window=marker_window)


def _nice(x: float) -> float:
    """The next round number at or above ``x`` (1, 2, 2.5 or 5 times a power of ten)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(float(m * power) for m in (1, 2, 2.5, 5, 10) if m * power >= x - 1e-12)


def _alarm_window(status: MonitorStatus, w: SliceWatch, checks: dict[int, str]) -> int | None:
    """The index of the window holding the turn at whose check the alarm first fired.

    In ingest order the window is exact. By day or hour it is the latest window holding a turn
    of that check (``checks``: see :func:`_check_windows`), which is the alarm turn's own window
    for a log written in time order; a window this slice has no verdict in gives the slice's
    window before it.
    """
    turn = w.first_alarm_turn
    assert turn is not None
    if status.by == "order":
        for i, win in enumerate(w.windows):
            first, _, last = win.window.removeprefix("turns ").partition("-")
            if first.isdigit() and last.isdigit() and int(first) <= turn <= int(last):
                return i
        return None
    window = checks.get((turn - 1) // status.step)
    if window is None:
        return None
    earlier = [i for i, win in enumerate(w.windows) if win.window <= window]
    return earlier[-1] if earlier else None


def _check_windows(s: Store, status: MonitorStatus) -> dict[int, str]:
    """For windows by day or hour: each check of the watch (``step`` turns in ingest order) at
    which an alarm first fired, and the latest window holding a turn of it. One query per
    window, each over that window's turns alone (the store indexes the turns' times), from the
    latest window back until every such check is placed: alarms are mostly recent."""
    needed = {(w.first_alarm_turn - 1) // status.step for w in status.watches
              if w.first_alarm_turn is not None}
    names = sorted({win.window for w in status.watches for win in w.windows})
    latest: dict[int, str] = {}
    for i in range(len(names) - 1, -1, -1):
        if needed <= latest.keys():
            break
        until = names[i + 1] if i + 1 < len(names) else None
        held = {int(r.bucket) for r in s.monitor_counts(by="order", step=status.step,
                                                         since=names[i], until=until)}
        for check in (needed & held) - latest.keys():
            latest[check] = names[i]
    return latest


def _reward_sentence(r: RewardSignal, confidence: float) -> dict[str, Any]:
    """A reward signal as a sentence: more, or less, common among thumbs-up replies."""
    assert r.up is not None and r.down is not None and r.interval is not None
    level = f"{100 * confidence:g} %"
    diff = r.difference or 0.0
    more = "more" if diff > 0 else "less" if diff < 0 else "as"
    text = (f"{r.behaviour.name} [{r.slice.name}]: {percent(r.up.estimate)} of thumbs-up "
            f"replies ({_ends(r.up)}) vs {percent(r.down.estimate)} of thumbs-down "
            f"({_ends(r.down)}): {abs(100 * diff):.2f} pts {more} common where users approved "
            f"({level} interval {100 * r.interval.low:+.2f} to {100 * r.interval.high:+.2f} pts); "
            f"one-sided p {_p(r.p_value)}, adjusted {_p(r.adjusted_p_value)}")
    if more == "as":
        text = text.replace("0.00 pts as common", "as common")
    return {"text": text, "favoured": r.favoured, "slice": r.slice.name,
            "behaviour": r.behaviour.name}


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.2g}"
