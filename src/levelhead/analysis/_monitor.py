"""Live behaviour rates from the monitor's store: windows with intervals, always-valid alarms
against a baseline, and what users' thumbs reward.

Every behaviour is a judge identity and one of its bad labels (``flattery.lexicon =
flattering``); its rate is the weighted bad verdicts over the weighted usable verdicts (Hajek:
each verdict counts 1 / the probability its turn had of being judged, so a judge run on a random
sample stays unbiased; ``judge_error`` is never counted). Rates are read per slice of traffic:
all, each model, each language, each model x language.

* **Windows** (by day, hour or ``step`` turns in ingest order) carry a Wilson interval on the
  *effective* number of verdicts (Kish: ``(sum w)^2 / sum w^2``; for a judge that judged every
  turn, or a sample with one probability, it is the plain count).
* **Alarms**: the turns after the baseline are watched with the mSPRT of
  ``levelhead.stats.watch_rate_stream`` (the same numbers as ``watch_rate``, checked after every
  ``step`` turns), and Benjamini-Hochberg (``flag_slices``) runs over every behaviour x slice at
  the latest check. The baseline is the first 10,000 turns ingested, a period, or an audit run.
* **The reward signal**: per behaviour and slice, its rate among thumbs-up replies against
  thumbs-down ones (Newcombe's interval for the difference, a one-sided test, BH over all of
  them): users' approval that favours a bad behaviour is the mechanism of incident 4.

See docs/monitor.md, "Rates, alarms and the reward signal".
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from levelhead.analysis._calibration import Calibration, corrected_estimate
from levelhead.analysis._counting import Counts, count_label
from levelhead.analysis._data import load_run_data
from levelhead.analysis._labels import judge_bad_labels
from levelhead.analysis._monitor_records import (
    DEFAULT_BASELINE_TURNS,
    MALFORMED_SHOWN,
    MIN_EXPECTED,
    MIN_N,
    UNNAMED,
    MonitorBaseline,
    MonitorBehaviour,
    MonitorSource,
    MonitorStatus,
    RewardSignal,
    SliceWatch,
    TrafficSlice,
    WeightedRate,
    WindowRate,
    Windows,
)
from levelhead.errors import CalibrationError, SpecError
from levelhead.judges import JUDGE_ERROR
from levelhead.records import CorrectedEstimate
from levelhead.stats import (
    Interval,
    RateWatch,
    adjust_p_values,
    flag_slices,
    watch_rate_stream,
)
from levelhead.store import MonitorCountRecord, Store

__all__ = ["DEFAULT_BASELINE_TURNS", "MonitorBaseline", "MonitorBehaviour", "MonitorSource",
           "MonitorStatus", "RewardSignal", "SliceWatch", "TrafficSlice", "WeightedRate",
           "WindowRate", "monitor_status"]


# --- counting ------------------------------------------------------------------------------


class _Sum:
    """Verdicts, the sum of their weights and the sum of their squared weights (as the store
    sums them verdict by verdict: weights may differ within a count record)."""

    __slots__ = ("n", "q", "w")

    def __init__(self) -> None:
        self.n, self.w, self.q = 0, 0.0, 0.0

    def add(self, n: int, weighted: float, squares: float) -> None:
        self.n += n
        self.w += weighted
        self.q += squares

    def merge(self, other: _Sum | None) -> None:
        if other is not None:
            self.n, self.w, self.q = self.n + other.n, self.w + other.w, self.q + other.q


_TINY = sys.float_info.min  # the smallest positive normal float: a p-value never reaches 0.0
_Key = tuple[int, TrafficSlice, Hashable]
_BadKey = tuple[int, str, TrafficSlice, Hashable]


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's interval ends for a rate ``p`` on ``n`` (possibly fractional) verdicts."""
    z2 = z * z
    centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = z * math.sqrt(max(p * (1.0 - p), 0.0) / n + z2 / (4.0 * n * n)) / (1.0 + z2 / n)
    return (0.0 if p <= 0.0 else max(0.0, centre - half)), (1.0 if p >= 1.0 else min(1.0, centre + half))


def _rate(bad: _Sum | None, judged: _Sum | None, confidence: float) -> WeightedRate | None:
    if judged is None or judged.w <= 0.0:
        return None
    b_w = bad.w if bad is not None else 0.0
    n_eff = judged.w * judged.w / judged.q
    p = min(max(b_w / judged.w, 0.0), 1.0)
    low, high = _wilson(p, n_eff, NormalDist().inv_cdf(0.5 + confidence / 2.0))
    method = "wilson" if math.isclose(n_eff, judged.n) else "wilson (effective n)"
    return WeightedRate(b_w, judged.w, judged.n, n_eff, p, Interval(low, high, confidence, method))


def _whole(bad: float, judged: float, squares: float) -> tuple[int, int]:
    """Whole ``(k, n)`` worth the same as weighted counts (``n`` the effective number of
    verdicts): exact for unweighted ones, which is what the sequential and exact tests take."""
    n_eff = judged * judged / squares
    n = max(int(round(n_eff)), 1)
    return min(int(round(bad / judged * n_eff)), n), n


def _effective_counts(rate: WeightedRate) -> tuple[int, int]:
    return _whole(rate.bad, rate.judged, rate.judged * rate.judged / rate.effective_n)


class _Tally:
    """Usable verdicts per judge, slice and bucket, and bad ones per label too."""

    def __init__(self) -> None:
        self.judged: dict[_Key, _Sum] = defaultdict(_Sum)
        self.bad: dict[_BadKey, _Sum] = defaultdict(_Sum)
        self.verdicts: dict[int, int] = defaultdict(int)  # every verdict, judge errors too

    def add(self, records: Iterable[MonitorCountRecord], slices: Callable[[MonitorCountRecord],
            Sequence[TrafficSlice]], key: Callable[[MonitorCountRecord], Hashable | None],
            bad_labels: dict[int, frozenset[str]]) -> _Tally:
        for r in records:
            bucket = key(r)
            if bucket is None or r.judge_id not in bad_labels:
                continue
            self.verdicts[r.judge_id] += r.n
            if r.label == JUDGE_ERROR:
                continue
            bad = r.label in bad_labels[r.judge_id]
            for s in slices(r):
                self.judged[(r.judge_id, s, bucket)].add(r.n, r.weighted, r.weighted_squares)
                if bad:
                    self.bad[(r.judge_id, r.label, s, bucket)].add(r.n, r.weighted,
                                                                   r.weighted_squares)
        return self

    def rate(self, b: MonitorBehaviour, s: TrafficSlice, bucket: Hashable,
             confidence: float) -> WeightedRate | None:
        return _rate(self.bad.get((b.judge_id, b.label, s, bucket)),
                     self.judged.get((b.judge_id, s, bucket)), confidence)

    def buckets(self) -> list[Hashable]:
        return sorted({k[2] for k in self.judged}, key=str)


# --- the status ----------------------------------------------------------------------------


def monitor_status(store: Store, *, baseline: MonitorBaseline | None = None, by: Windows = "day",
                   step: int = 1_000, q: float = 0.05, alpha: float = 0.05,
                   alternative: Literal["greater", "two-sided"] = "greater",
                   confidence: float = 0.95, calibrations: Sequence[Calibration] = ()
                   ) -> MonitorStatus:
    """Every behaviour's live rates, alarms and reward signal, read from the monitor's store.

    Args:
        store: A store the monitor ingested into (read-only is enough).
        baseline: What to compare with (default: the first 10,000 turns ingested).
        by: The windows of the rates over time: ``day``, ``hour`` or ``order`` (``step`` turns).
        step: Turns per check of the watch (and per window with ``by="order"``); a baseline of
            turns must be a multiple of it.
        q: False discovery rate over every behaviour x slice (alarms; reward findings).
        alpha: Level of each watch's mSPRT.
        alternative: ``"greater"`` (a rise is what hurts) or ``"two-sided"``.
        confidence: Confidence of every interval.
        calibrations: Judges' calibrations: a judge with the same name and version gets
            corrected rates (its settings cannot be compared: the monitor's counts carry none).

    Returns:
        A :class:`MonitorStatus`.

    Raises:
        SpecError: a step below 1, a baseline of turns that is no multiple of ``step``, or a
            setting out of range.
        RunNotFoundError: a baseline run the store does not hold.
        CalibrationError: a calibration for a judge the monitor does not run.
    """
    baseline = baseline or MonitorBaseline()
    if step < 1:
        raise SpecError(f"--step: a check needs at least 1 turn (got {step})")
    if baseline.kind == "turns" and baseline.turns % step:
        raise SpecError(f"--baseline {baseline.turns}: the baseline must be a whole number of "
                        f"checks of --step {step} turns (e.g. {step * max(1, baseline.turns // step)})")
    if not 0.0 < q < 1.0 or not 0.0 < alpha < 1.0 or not 0.0 < confidence < 1.0:
        raise SpecError("--q, --alpha and the confidence must be between 0 and 1, e.g. 0.05")
    if by not in ("order", "day", "hour"):
        raise SpecError(f"--by: expected order, day or hour (got {by!r})")
    notes: list[str] = []
    every = store.monitor_counts(by="order", step=step)
    if not every:
        notes.append("no turns ingested yet: `levelhead monitor ingest FILE` stores judged turns")
    behaviours, bad_labels = _behaviours(every, notes)
    models = sorted({r.model or UNNAMED for r in every})
    languages = sorted({r.language for r in every})

    def slices(r: MonitorCountRecord) -> tuple[TrafficSlice, ...]:
        model = r.model or UNNAMED
        out = [TrafficSlice()]
        if len(models) > 1:
            out.append(TrafficSlice(model=model))
        if len(languages) > 1:
            out.append(TrafficSlice(language=r.language))
        if len(models) > 1 and len(languages) > 1:
            out.append(TrafficSlice(model, r.language))
        return tuple(out)

    # The baseline's counts (one bucket) and the watched turns' (a bucket per check).
    first_check = 0
    run_rates: dict[tuple[str, str], tuple[WeightedRate, str]] = {}
    if baseline.kind == "turns":
        first_check = baseline.turns // step
        base = _Tally().add(every, slices, lambda r: 0 if int(r.bucket) < first_check else None,
                            bad_labels)
        watched_records: list[MonitorCountRecord] = [r for r in every if int(r.bucket) >= first_check]
    elif baseline.kind == "period":
        base = _Tally().add(store.monitor_counts(by="order", step=1 << 62, since=baseline.since,
                                                 until=baseline.until), slices, lambda r: 0,
                            bad_labels)
        watched_records = store.monitor_counts(by="order", step=step, since=baseline.until)
        first_check = min((int(r.bucket) for r in watched_records), default=0)
    else:
        base = _Tally()
        run_rates = _run_rates(store, str(baseline.run), behaviours, confidence, notes)
        watched_records = every
    watched = _Tally().add(watched_records, slices, lambda r: int(r.bucket), bad_labels)
    last_check = max((int(r.bucket) for r in watched_records), default=first_check - 1)
    checks = last_check - first_check + 1
    if baseline.kind == "turns":
        baseline_turns = min(baseline.turns, store.monitor_turn_count())
        if 0 < baseline_turns < baseline.turns:
            notes.append(f"the baseline is still filling: {baseline_turns:,} of "
                         f"{baseline.turns:,} turns ingested; nothing is watched yet")
    else:
        baseline_turns = max(base.verdicts.values(), default=0)
        if baseline.kind == "period" and not baseline_turns:
            notes.append(f"no turns in the baseline ({baseline.describe()}): nothing is watched")
    windows = (watched if by == "order" and baseline.kind == "run" else
               _Tally().add(every if by == "order" else store.monitor_counts(by=by), slices,
                            (lambda r: int(r.bucket)) if by == "order" else (lambda r: r.bucket),
                            bad_labels))
    reward = _Tally().add(every, slices, lambda r: r.feedback, bad_labels)

    slice_list = sorted({s for (_, s, _) in watched.judged} | {s for (_, s, _) in base.judged},
                        key=lambda s: (s.model is not None, s.language is not None, s.model or "",
                                       s.language or ""))
    rows = _watch_rows(behaviours, slice_list, base, watched, run_rates, first_check, checks,
                       step, alpha, alternative, confidence)
    watches = _flag(rows, windows, by, step, q, confidence)
    if calibrations:
        watches = _corrected(watches, calibrations, confidence)
    rewards = _rewards(behaviours, slice_list, reward, q, confidence)
    return MonitorStatus(
        turns=store.monitor_turn_count(), baseline=baseline, baseline_turns=baseline_turns,
        monitored_turns=max(watched.verdicts.values(), default=0), checks=max(checks, 0),
        step=step, by=by, q=q, alpha=alpha, alternative=alternative, confidence=confidence,
        watches=tuple(watches), rewards=tuple(rewards), notes=tuple(notes),
        sources=tuple(MonitorSource(x.source, x.records, x.line, x.malformed,
                                    tuple(store.monitor_malformed(x.source)[-MALFORMED_SHOWN:]),
                                    x.updated_at) for x in store.monitor_sources()))


def _behaviours(records: Sequence[MonitorCountRecord], notes: list[str]
                ) -> tuple[list[MonitorBehaviour], dict[int, frozenset[str]]]:
    identities = sorted({(r.judge_id, r.judge, r.judge_version) for r in records})
    seen: dict[str, int] = defaultdict(int)
    behaviours, bad_labels = [], {}
    for judge_id, name, version in identities:
        seen[name] += 1
        shown = name if seen[name] == 1 else f"{name}#{seen[name]}"
        bad = judge_bad_labels(name)
        if not bad:
            notes.append(f"{shown} declares no bad labels: its rates are not watched")
            continue
        bad_labels[judge_id] = frozenset(bad)
        behaviours += [MonitorBehaviour(shown, name, version, judge_id, label) for label in bad]
    return behaviours, bad_labels


def _run_rates(store: Store, run_ref: str, behaviours: Sequence[MonitorBehaviour],
               confidence: float, notes: list[str]) -> dict[tuple[str, str], tuple[WeightedRate, str]]:
    """Each behaviour's overall rate in an audit run: its samples and turns, usable verdicts."""
    run = store.find_run(run_ref)
    data = load_run_data(store, run.id)
    out: dict[tuple[str, str], tuple[WeightedRate, str]] = {}
    for b in behaviours:
        named = [i for i, (name, _) in data.judge_versions.items() if name == b.judge_name]
        if not named:
            notes.append(f"run '{run.name}' has no verdict of {b.judge_name}: "
                         f"{b.name} is not watched")
            continue
        same = [i for i in named if data.judge_versions[i][1] == b.judge_version]
        identity = (same or named)[0]
        if not same:
            notes.append(f"run '{run.name}' judged with {b.judge_name} version "
                         f"{data.judge_versions[identity][1]}, the monitor with "
                         f"{b.judge_version}: {b.name} is compared across versions")
        k = n = 0
        for items, verdicts in ((data.samples, data.verdicts.get(identity, {})),
                                (data.turns, data.turn_verdicts.get(identity, {}))):
            counts: Counts = count_label(items, verdicts, [b.label])
            k += sum(counts.k.values())
            n += counts.total_n
        if n == 0:
            notes.append(f"run '{run.name}' has no usable verdict of {b.judge_name}: "
                         f"{b.name} is not watched")
            continue
        judged, bad = _Sum(), _Sum()
        judged.add(n, float(n), float(n))
        if k:
            bad.add(k, float(k), float(k))
        rate = _rate(bad, judged, confidence)
        assert rate is not None
        out[(b.judge, b.label)] = (rate, f"run:{run.name}")
    return out


@dataclass(frozen=True, slots=True)
class _Row:
    behaviour: MonitorBehaviour
    slice: TrafficSlice
    baseline: WeightedRate | None
    source: str
    monitored: WeightedRate | None
    watch: RateWatch | None
    first_alarm_turn: int | None


def _watch_rows(behaviours: Sequence[MonitorBehaviour], slice_list: Sequence[TrafficSlice],
                base: _Tally, watched: _Tally, run_rates: dict[tuple[str, str], tuple[WeightedRate, str]],
                first_check: int, checks: int, step: int, alpha: float, alternative: str,
                confidence: float) -> list[_Row]:
    """Baseline and watched rates of every behaviour x slice, and the mSPRT over the checks
    (all watches at once through ``watch_rate_stream``)."""
    rows: list[_Row] = []
    streams: list[tuple[int, tuple[int, int], np.ndarray, np.ndarray]] = []
    for b in behaviours:
        for s in slice_list:
            if (b.judge_id, s, 0) not in base.judged and not any(
                    (b.judge_id, s, c) in watched.judged for c in range(first_check, first_check + checks)):
                continue  # the judge never judged this slice
            if run_rates:
                found = run_rates.get((b.judge, b.label))
                rate0, source = found if found else (None, "")
            else:
                rate0, source = base.rate(b, s, 0, confidence), "slice"
                if rate0 is None:
                    rate0, source = base.rate(b, TrafficSlice(), 0, confidence), "all"
            cum_bad, cum_judged = _Sum(), _Sum()
            k_path, n_path = np.zeros(max(checks, 0), np.int64), np.zeros(max(checks, 0), np.int64)
            for i in range(max(checks, 0)):
                cum_judged.merge(watched.judged.get((b.judge_id, s, first_check + i)))
                cum_bad.merge(watched.bad.get((b.judge_id, b.label, s, first_check + i)))
                if cum_judged.w > 0.0:
                    k_path[i], n_path[i] = _whole(cum_bad.w, cum_judged.w, cum_judged.q)
            monitored = _rate(cum_bad, cum_judged, confidence)
            rows.append(_Row(b, s, rate0, source, monitored, None, None))
            if rate0 is not None and checks > 0:
                # Effective counts may dip when a heavy weight arrives: keep them cumulative.
                n_path = np.maximum.accumulate(n_path)
                k_path = np.minimum(np.maximum.accumulate(k_path), n_path)
                streams.append((len(rows) - 1, _effective_counts(rate0), k_path, n_path))
    if not streams:
        return rows
    k0 = np.array([c[0] for _, c, _, _ in streams])
    n0 = np.array([c[1] for _, c, _, _ in streams])
    result = watch_rate_stream(np.stack([k for _, _, k, _ in streams]),
                               np.stack([n for _, _, _, n in streams]), k0, n0,
                               alternative=alternative, alpha=alpha)  # type: ignore[arg-type]
    side = "lower bound" if alternative == "greater" else "two-sided"
    for j, (i, _, k_path, _) in enumerate(streams):
        row, first, tau = rows[i], int(result.first_alarm[j]), float(result.tau[j])
        watch = RateWatch(
            baseline_k=int(k0[j]), baseline_n=int(n0[j]), k=int(k_path[-1]),
            n=int(result.n[j, -1]), estimate=float(result.estimate[j, -1]),
            baseline=float(k0[j] / n0[j]), difference=float(result.difference[j, -1]),
            p_value=float(result.p_value[j, -1]),
            interval=Interval(float(result.low[j, -1]), float(result.high[j, -1]), 1.0 - alpha,
                              f"mSPRT confidence sequence ({side}, normal mixture, tau={tau:.4g})"),
            ready=bool(result.ready[j, -1]), alarm=bool(result.alarm[j, -1]),
            first_alarm_n=int(result.first_alarm_n[j]) if first >= 0 else None, checks=checks,
            alternative=alternative, alpha=alpha, tau=tau, min_n=MIN_N, min_expected=MIN_EXPECTED)
        rows[i] = dataclasses.replace(
            row, watch=watch, first_alarm_turn=(first_check + first + 1) * step if first >= 0 else None)
    return rows


def _window_name(bucket: Hashable, by: str, step: int) -> str:
    if by == "order":
        b = int(str(bucket))
        return f"turns {b * step + 1}-{(b + 1) * step}"
    return str(bucket)


def _flag(rows: Sequence[_Row], windows: _Tally, by: str, step: int, q: float,
          confidence: float) -> list[SliceWatch]:
    """Benjamini-Hochberg over every watch at the latest check; windows beside each."""
    watched: dict[Hashable, float | RateWatch] = {i: r.watch for i, r in enumerate(rows)
                                                  if r.watch is not None}
    flags = {a.slice: a for a in flag_slices(watched, q=q)} if watched else {}
    buckets = windows.buckets()
    if by == "order":
        buckets = sorted(buckets, key=lambda b: int(str(b)))
    out = []
    for i, r in enumerate(rows):
        series = tuple(WindowRate(_window_name(b, by, step), rate) for b in buckets
                       if (rate := windows.rate(r.behaviour, r.slice, b, confidence)) is not None)
        flag = flags.get(i)
        out.append(SliceWatch(r.behaviour, r.slice, r.baseline, r.source, r.monitored,
                              series[-1] if series else None, series, r.watch,
                              flag.adjusted_p_value if flag else None,
                              bool(flag and flag.alarm), r.first_alarm_turn))
    return out


def _corrected(watches: Sequence[SliceWatch], calibrations: Sequence[Calibration],
               confidence: float) -> list[SliceWatch]:
    """Corrected rates for the judges a calibration measured (same name and version)."""
    judges = {(w.behaviour.judge_name, w.behaviour.judge_version) for w in watches}
    by_judge: dict[tuple[str, str], Calibration] = {}
    for cal in calibrations:
        if (cal.judge, cal.judge_version) not in judges:
            ran = ", ".join(sorted(f"{n} {v}" for n, v in judges)) or "none"
            raise CalibrationError(f"the {cal.describe()} is for a judge the monitor did not "
                                   f"run (its judges: {ran})")
        by_judge[(cal.judge, cal.judge_version)] = cal

    def corrected(rate: WeightedRate | None, cal: Calibration, label: str) -> CorrectedEstimate | None:
        if rate is None:
            return None
        counts = Counts()
        counts.k["all"], counts.n["all"] = _effective_counts(rate)
        return corrected_estimate(counts, label, cal, confidence)

    out = []
    for w in watches:
        measured = by_judge.get((w.behaviour.judge_name, w.behaviour.judge_version))
        out.append(w if measured is None else dataclasses.replace(
            w, corrected=corrected(w.monitored, measured, w.behaviour.label),
            corrected_baseline=corrected(w.baseline, measured, w.behaviour.label)))
    return out


def _one_sided(up: WeightedRate, down: WeightedRate) -> tuple[float, str]:
    """P-value for "more common among thumbs-up", on effective counts."""
    from scipy import stats

    k1, n1 = _effective_counts(up)
    k2, n2 = _effective_counts(down)
    pooled = (k1 + k2) / (n1 + n2)
    expected = min(n1, n2) * min(pooled, 1.0 - pooled)
    if expected < 5:
        table = [[k1, n1 - k1], [k2, n2 - k2]]
        return (_positive(float(stats.fisher_exact(table, alternative="greater").pvalue)),
                "fisher exact (one-sided)")
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (k1 / n1 - k2 / n2) / se
    # norm.sf underflows to 0.0 past z ~ 38 (common at production volumes): through its log,
    # floored at the smallest positive float, the strongest findings keep a p-value above 0.
    return _positive(math.exp(float(stats.norm.logsf(z)))), "score z-test (pooled, one-sided)"


def _positive(p: float) -> float:
    """A p-value in (0, 1]: one that underflowed to 0.0 becomes the smallest positive float."""
    return min(max(p, _TINY), 1.0)


def _rewards(behaviours: Sequence[MonitorBehaviour], slice_list: Sequence[TrafficSlice],
             reward: _Tally, q: float, confidence: float) -> list[RewardSignal]:
    found: list[RewardSignal] = []
    for b in behaviours:
        for s in slice_list:
            up = reward.rate(b, s, "up", confidence)
            down = reward.rate(b, s, "down", confidence)
            if up is None or down is None:
                continue
            diff = up.estimate - down.estimate
            interval = Interval(
                diff - math.hypot(up.estimate - up.interval.low, down.interval.high - down.estimate),
                diff + math.hypot(up.interval.high - up.estimate, down.estimate - down.interval.low),
                confidence, "newcombe hybrid score")
            p, test = _one_sided(up, down)
            found.append(RewardSignal(b, s, up, down, diff, interval, min(p, 1.0), None, False, test))
    if not found:
        return found
    adjusted = adjust_p_values([1.0 if r.p_value is None else r.p_value for r in found],
                               method="bh", alpha=q)
    return [dataclasses.replace(r, adjusted_p_value=a.adjusted_p_value,
                                favoured=a.significant and (r.difference or 0.0) > 0.0)
            for r, a in zip(found, adjusted, strict=True)]
