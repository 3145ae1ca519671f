"""The records of the monitor's statistics (see :mod:`levelhead.analysis._monitor`): baselines,
slices of traffic, behaviours, weighted rates, windows, watches, the reward signal and the
status that holds them, each with ``to_dict()`` for JSON (NaN as null)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

import numpy as np

from levelhead.errors import SpecError
from levelhead.records import CorrectedEstimate
from levelhead.stats import (
    Interval,
    RateWatch,
)

__all__ = ["DEFAULT_BASELINE_TURNS", "MonitorBaseline", "MonitorBehaviour", "MonitorSource",
           "MonitorStatus", "RewardSignal", "SliceWatch", "TrafficSlice", "WeightedRate",
           "WindowRate", "Windows"]

#: The default baseline: the first 10,000 turns ingested.
DEFAULT_BASELINE_TURNS = 10_000
Windows = Literal["order", "day", "hour"]
# The watch's gates (watch_rate's defaults): no alarm before them.
MIN_N, MIN_EXPECTED = 500, 10.0
MALFORMED_SHOWN = 10
UNNAMED = "(unnamed)"  # a turn whose log named no model
_PERIOD = re.compile(r"^(?P<since>[^.]*)\.\.(?P<until>[^.]*)$")


def _plain(value: Any) -> Any:
    """JSON-ready form: dataclasses as dicts, NaN and infinities as None."""
    if isinstance(value, CorrectedEstimate):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Plain:
    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as null)."""
        return _plain(self)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class MonitorBaseline(_Plain):
    """What the live rates are compared with.

    Attributes:
        kind: ``"turns"`` (the first ``turns`` turns ingested), ``"period"`` (turns whose time
            is in ``[since, until)``; turns after ``until`` are watched) or ``"run"`` (an audit
            run's rate of each judge's bad labels; every stored turn is watched).
        turns: Baseline turns for ``"turns"``.
        since: Start of the period (UTC, ISO 8601), or None for "from the first turn".
        until: End of the period: watching starts there.
        run: The audit run's name or id.
    """

    kind: Literal["turns", "period", "run"] = "turns"
    turns: int = DEFAULT_BASELINE_TURNS
    since: str | None = None
    until: str | None = None
    run: str | None = None

    @classmethod
    def parse(cls, text: str) -> MonitorBaseline:
        """``10000`` (turns), ``2026-12-01..2026-12-05`` (a period; either end may be left
        out but not ``until``), or a run's name (``run:NAME`` when the name looks like one of
        the others).

        Raises:
            SpecError: an empty value, a turn count below 1, or a period without its end.
        """
        value = text.strip()
        if value.startswith("run:") and value[4:]:
            return cls(kind="run", run=value[4:])
        if not value:
            raise SpecError("--baseline: expected a number of turns (10000), a period "
                            "(2026-12-01..2026-12-05) or an audit run's name")
        if value.isdigit():
            if int(value) < 1:
                raise SpecError("--baseline: a baseline needs at least 1 turn")
            return cls(kind="turns", turns=int(value))
        if (m := _PERIOD.match(value)) is not None:
            if not m["until"]:
                raise SpecError(f"--baseline {value}: a period needs its end (SINCE..UNTIL): "
                                "watching starts there")
            return cls(kind="period", since=m["since"] or None, until=m["until"])
        return cls(kind="run", run=value)

    def describe(self) -> str:
        """``"the first 10,000 turns ingested"``, for headings and notes."""
        if self.kind == "turns":
            return f"the first {self.turns:,} turns ingested"
        if self.kind == "period":
            return f"turns from {self.since or 'the start'} until {self.until}"
        return f"audit run '{self.run}'"


@dataclass(frozen=True, slots=True, order=True)
class TrafficSlice(_Plain):
    """A slice of the traffic: every turn, one model, one language, or one model in one language.

    Attributes:
        model: The model named in the logs (``(unnamed)`` when none was), or None for every model.
        language: The conversation's language, or None for every language.
    """

    model: str | None = None
    language: str | None = None

    @property
    def name(self) -> str:
        """``all``, ``model=v2``, ``lang=zh`` or ``model=v2 lang=zh``."""
        parts = ([f"model={self.model}"] if self.model is not None else []) + (
            [f"lang={self.language}"] if self.language is not None else [])
        return " ".join(parts) or "all"


@dataclass(frozen=True, slots=True)
class MonitorBehaviour(_Plain):
    """A judge identity and one of the labels it declares a failure.

    Attributes:
        judge: The identity as shown: its name, ``#2`` and so on for later settings of a name.
        judge_name: The registered name.
        judge_version: Its version.
        judge_id: Its row id in the store.
        label: The bad label.
    """

    judge: str
    judge_name: str
    judge_version: str
    judge_id: int
    label: str

    @property
    def name(self) -> str:
        """``flattery.lexicon = flattering``."""
        return f"{self.judge} = {self.label}"


@dataclass(frozen=True, slots=True)
class WeightedRate(_Plain):
    """A behaviour's rate in some turns, each verdict weighted by 1 / its inclusion probability.

    Attributes:
        bad: Weighted verdicts with the label.
        judged: Weighted usable verdicts (``judge_error`` left out).
        verdicts: Usable verdicts, unweighted.
        effective_n: Kish's effective number of verdicts, ``judged^2 / sum of squared weights``
            (``verdicts`` when every weight is equal).
        estimate: ``bad / judged`` (Hajek).
        interval: Wilson's interval on ``effective_n``.
    """

    bad: float
    judged: float
    verdicts: int
    effective_n: float
    estimate: float
    interval: Interval


@dataclass(frozen=True, slots=True)
class WindowRate(_Plain):
    """A rate in one time window (a day, an hour, or ``step`` turns in ingest order).

    Attributes:
        window: ``2026-12-07``, ``2026-12-07T10`` or ``turns 1-1000``.
        rate: The rate in it.
    """

    window: str
    rate: WeightedRate


@dataclass(frozen=True, slots=True)
class SliceWatch(_Plain):
    """One behaviour in one slice: its rates and its always-valid alarm.

    Attributes:
        behaviour: The behaviour.
        slice: The slice.
        baseline: The baseline's rate (None: nothing to compare with).
        baseline_source: ``"slice"`` (this slice's own baseline turns), ``"all"`` (the slice
            had no baseline turns: the behaviour's baseline over all traffic) or
            ``"run:NAME"``.
        monitored: The rate in every turn watched since the baseline.
        latest: The rate in the latest window holding a verdict.
        windows: Every window's rate, oldest first.
        watch: The mSPRT's state at the latest check (None when not watched).
        adjusted_p_value: Benjamini-Hochberg adjusted p-value over every watched behaviour x
            slice at the latest check.
        alarm: ``adjusted_p_value <= q``.
        first_alarm_turn: The last turn (in ingest order) of the check at which the watch's
            own p-value first reached ``alpha``; None when it never did.
        corrected: The monitored rate corrected for the judge's measured errors, when a
            calibration of the judge was given.
        corrected_baseline: The baseline's rate, corrected the same way.
    """

    behaviour: MonitorBehaviour
    slice: TrafficSlice
    baseline: WeightedRate | None
    baseline_source: str
    monitored: WeightedRate | None
    latest: WindowRate | None
    windows: tuple[WindowRate, ...]
    watch: RateWatch | None
    adjusted_p_value: float | None
    alarm: bool
    first_alarm_turn: int | None
    corrected: CorrectedEstimate | None = None
    corrected_baseline: CorrectedEstimate | None = None

    def line(self) -> str:
        """One line for a terminal, a log or a webhook: what alarmed, and how sure."""
        assert self.watch is not None and self.monitored is not None and self.baseline is not None
        w = self.watch
        bound = (f"lower bound {100 * w.interval.low:+.2f}" if w.alternative == "greater" else
                 f"{100 * w.interval.low:+.2f} to {100 * w.interval.high:+.2f}")
        first = f", first at turn {self.first_alarm_turn:,}" if self.first_alarm_turn else ""
        return (f"ALARM {self.behaviour.name} [{self.slice.name}]: {100 * self.monitored.estimate:.2f} % "
                f"since the baseline vs {100 * self.baseline.estimate:.2f} % in it "
                f"({100 * (self.monitored.estimate - self.baseline.estimate):+.2f} pts, "
                f"{100 * w.interval.confidence:g} % {bound}); always-valid p {w.p_value:.2g}, "
                f"BH-adjusted {self.adjusted_p_value:.2g}{first}")


@dataclass(frozen=True, slots=True)
class RewardSignal(_Plain):
    """What users' thumbs reward: a behaviour's rate among thumbs-up vs thumbs-down replies.

    Attributes:
        behaviour: The behaviour.
        slice: The slice.
        up: Its rate among the replies users gave a thumbs-up.
        down: Its rate among the thumbs-down replies.
        difference: ``up - down`` (None without replies on both sides).
        interval: Newcombe's hybrid score interval of the difference (Wilson ends on each side's
            effective number of verdicts).
        p_value: One-sided p-value for "more common among thumbs-up": the pooled score z-test,
            or Fisher's exact test when a cell expects fewer than 5.
        adjusted_p_value: Benjamini-Hochberg adjusted over every behaviour x slice tested.
        favoured: ``adjusted_p_value <= q``: users' approval favours the behaviour.
        test: The test used.
    """

    behaviour: MonitorBehaviour
    slice: TrafficSlice
    up: WeightedRate | None
    down: WeightedRate | None
    difference: float | None
    interval: Interval | None
    p_value: float | None
    adjusted_p_value: float | None
    favoured: bool
    test: str

    def line(self) -> str:
        """``REWARD users' approval favours flattery.lexicon = flattering [all]: ...``."""
        assert self.up is not None and self.down is not None and self.interval is not None
        return (f"REWARD users' approval favours {self.behaviour.name} [{self.slice.name}]: "
                f"{100 * self.up.estimate:.2f} % of thumbs-up replies vs "
                f"{100 * self.down.estimate:.2f} % of thumbs-down "
                f"({100 * (self.difference or 0.0):+.2f} pts, {100 * self.interval.confidence:g} % "
                f"{100 * self.interval.low:+.2f} to {100 * self.interval.high:+.2f}); one-sided p "
                f"{self.p_value:.2g}, BH-adjusted {self.adjusted_p_value:.2g}")


@dataclass(frozen=True, slots=True)
class MonitorSource(_Plain):
    """A log (or the guard) the monitor ingests from, and the lines it could not read.

    Attributes:
        source: The source's name, as ingested.
        records: Conversations ingested from it.
        line: The last line taken.
        malformed: Lines that could not be read, all told.
        newest_malformed: The newest of them kept, ``(line, reason)``, at most ten.
        updated_at: When it was last ingested from (UTC).
    """

    source: str
    records: int
    line: int
    malformed: int
    newest_malformed: tuple[tuple[int, str], ...]
    updated_at: str


@dataclass(frozen=True, slots=True)
class MonitorStatus(_Plain):
    """Every behaviour's live rates, alarms and reward signal, as of now.

    Attributes:
        turns: Turns the store holds.
        baseline: What the rates are compared with.
        baseline_turns: Turns in the baseline (for a run: its judged samples and turns).
        monitored_turns: Turns watched since the baseline (the most verdicts any judge gave).
        checks: Checks of the watch so far (one per ``step`` turns, the last maybe partial).
        step: Turns per check.
        by: The windows: ``order`` (``step`` turns), ``day`` or ``hour``.
        q: False discovery rate of the alarms and of the reward findings.
        alpha: The mSPRT's level per watch (its chance of ever alarming on a steady rate).
        alternative: ``"greater"`` (alarm on a rise) or ``"two-sided"``.
        confidence: Confidence of every interval.
        watches: Every behaviour x slice.
        rewards: The reward signal of every behaviour x slice with thumbs on both sides.
        notes: What could not be watched, and why.
        sources: The logs ingested from, with their malformed lines.
    """

    turns: int
    baseline: MonitorBaseline
    baseline_turns: int
    monitored_turns: int
    checks: int
    step: int
    by: str
    q: float
    alpha: float
    alternative: str
    confidence: float
    watches: tuple[SliceWatch, ...]
    rewards: tuple[RewardSignal, ...]
    notes: tuple[str, ...] = field(default=())
    sources: tuple[MonitorSource, ...] = field(default=())

    @property
    def alarms(self) -> tuple[SliceWatch, ...]:
        """The behaviour x slices alarming at the latest check."""
        return tuple(w for w in self.watches if w.alarm)

    @property
    def favoured(self) -> tuple[RewardSignal, ...]:
        """The behaviour x slices that users' approval favours."""
        return tuple(r for r in self.rewards if r.favoured)

    def alarm_lines(self) -> list[str]:
        """One line per active alarm: each rate alarm, then per behaviour that approval
        favours one line for its broadest slice that names the other slices."""
        by_behaviour: dict[str, list[RewardSignal]] = defaultdict(list)
        for r in self.favoured:  # broadest slice first: all, models, languages, both
            by_behaviour[r.behaviour.name].append(r)
        return [w.line() for w in self.alarms] + [
            found[0].line() + (f"; also in {len(found) - 1} slices: "
                               + ", ".join(r.slice.name for r in found[1:]) if found[1:] else "")
            for found in by_behaviour.values()]

    def alarms_json(self) -> dict[str, Any]:
        """What ``levelhead monitor check --webhook`` posts: the active alarms, each with its
        kind (``rate`` or ``reward``), behaviour, slice, line and every number (``detail``)."""
        return {"alarms": [{"kind": "rate", "behaviour": w.behaviour.name, "slice": w.slice.name,
                            "line": w.line(), "detail": w.to_dict()} for w in self.alarms]
                + [{"kind": "reward", "behaviour": r.behaviour.name, "slice": r.slice.name,
                    "line": r.line(), "detail": r.to_dict()} for r in self.favoured],
                "turns": self.turns, "baseline": self.baseline.describe(), "q": self.q,
                "alpha": self.alpha}
