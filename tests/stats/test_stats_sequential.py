"""Watching a rate over time: honest false alarms under peeking, detection delay, slices, edges.

The simulations follow issue 19: a behaviour at 2 %, a baseline of the first 10,000 records, then
100,000 records monitored and checked after every 1,000. Every simulation is seeded and
vectorised over streams (one binomial draw per batch), so each test takes about a second.
"""

import json
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from levelhead.stats import (
    CusumPlan,
    RateWatch,
    SliceAlarm,
    bernoulli_cusum,
    cusum_plan,
    flag_slices,
    watch_rate,
    watch_rate_stream,
)

BASELINE_N = 10_000
MONITORED = 100_000
EVERY = 1_000
CHECKS = MONITORED // EVERY
# Log index (records since ingestion began, baseline included) at the end of each check.
CHECK_ENDS = BASELINE_N + EVERY * np.arange(1, CHECKS + 1)


def simulate(streams, seed, *, before=0.02, after=None, change_at=50_000):
    """Baseline counts and cumulative live counts per check for ``streams`` seeded streams.

    The rate is ``before`` up to log record ``change_at`` and ``after`` from there on (no change
    when ``after`` is None). Returns (baseline_k, k, n), k and n shaped (streams, checks).
    """
    rng = np.random.default_rng(seed)
    baseline_k = rng.binomial(BASELINE_N, before, streams)
    starts = CHECK_ENDS - EVERY
    rates = np.full(CHECKS, before) if after is None else np.where(starts >= change_at, after, before)
    batches = rng.binomial(EVERY, rates, (streams, CHECKS))
    n = np.broadcast_to(EVERY * np.arange(1, CHECKS + 1), (streams, CHECKS))
    return baseline_k, np.cumsum(batches, axis=1), n


def naive_peeking_alarms(baseline_k, k, n, alpha=0.05):
    """Streams on which a fixed-sample two-proportion z-test (pooled, one-sided) read at every
    check ever rejects: the alarm a dashboard threshold gives."""
    p0 = baseline_k[:, None] / BASELINE_N
    pooled = (k + baseline_k[:, None]) / (n + BASELINE_N)
    z = (k / n - p0) / np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / BASELINE_N))
    return int((z > scipy_stats.norm.ppf(1 - alpha)).any(axis=1).sum())


def false_alarms(streams=100, seed=19, alternative="greater"):
    """mSPRT and naive false-alarm counts over ``streams`` streams with no change."""
    baseline_k, k, n = simulate(streams, seed)
    watched = watch_rate_stream(k, n, baseline_k, BASELINE_N, alternative=alternative)
    return int(watched.alarm[:, -1].sum()), naive_peeking_alarms(baseline_k, k, n)


def detection(streams=100, seed=6):
    """The 2 % -> 6 % rise at record 50,000: streams that alarm, alarms before the change, and
    the median delay (records after the change up to the check that alarmed)."""
    baseline_k, k, n = simulate(streams, seed, after=0.06)
    watched = watch_rate_stream(k, n, baseline_k, BASELINE_N)
    fired = watched.first_alarm >= 0
    alarm_at = np.where(fired, CHECK_ENDS[np.maximum(watched.first_alarm, 0)], -1)
    after_change = fired & (alarm_at > 50_000)
    delays = alarm_at[after_change] - 50_000
    return {"fired": int(fired.sum()), "early": int((fired & ~after_change).sum()),
            "median_delay": float(np.median(delays)),
            "delay_5_95": tuple(float(x) for x in np.percentile(delays, [5, 95]))}


# --- the guarantee ----------------------------------------------------------------------------


def test_no_change_false_alarms_stay_within_alpha_while_naive_peeking_does_not():
    msprt, naive = false_alarms()
    print(f"\nno change, 100 streams checked 100 times: mSPRT false alarms {msprt}/100, "
          f"naive z-test at every check {naive}/100")
    # With a false-alarm rate of 5 % the count exceeds 10 of 100 with chance 1.1 %.
    assert scipy_stats.binom.sf(10, 100, 0.05) < 0.012
    assert msprt <= 10
    # Peeking at a fixed-sample test inflates its 5 % several-fold.
    assert naive >= 10
    assert naive >= 3 * max(msprt, 1)


def test_the_baselines_own_error_must_count():
    # The same mSPRT with the baseline treated as known (its counts scaled 1,000-fold, same rate):
    # the baseline's error is shared by every later check, so the false alarms pile up.
    baseline_k, k, n = simulate(100, 19)
    ignored = watch_rate_stream(k, n, baseline_k * 1000, BASELINE_N * 1000).alarm[:, -1].sum()
    print(f"\nno change, baseline error ignored: false alarms {ignored}/100")
    assert ignored > 10


@pytest.mark.parametrize("alternative", ["greater", "two-sided"])
def test_false_alarm_rate_over_2000_streams_is_at_most_alpha(alternative):
    msprt, naive = false_alarms(streams=2000, seed=7, alternative=alternative)
    print(f"\n{alternative}: mSPRT {msprt}/2000, naive {naive}/2000")
    assert msprt <= scipy_stats.binom.ppf(0.999, 2000, 0.05)  # 127: the rate is at most 5 %
    assert naive > scipy_stats.binom.ppf(0.999, 2000, 0.05)


def test_checking_after_every_ten_records_does_not_inflate_false_alarms():
    rng = np.random.default_rng(11)
    streams, checks = 500, 2_000
    baseline_k = rng.binomial(2_000, 0.05, streams)
    k = np.cumsum(rng.binomial(10, 0.05, (streams, checks)), axis=1)
    n = np.broadcast_to(10 * np.arange(1, checks + 1), (streams, checks))
    watched = watch_rate_stream(k, n, baseline_k, 2_000, alternative="two-sided")
    assert watched.alarm[:, -1].sum() <= scipy_stats.binom.ppf(0.999, streams, 0.05)


def test_confidence_sequences_cover_the_steady_difference_at_every_check():
    baseline_k, k, n = simulate(1000, 23)
    for alternative in ("greater", "two-sided"):
        watched = watch_rate_stream(k, n, baseline_k, BASELINE_N, alternative=alternative)
        always = ((watched.low <= 0.0) & (watched.high >= 0.0)).all(axis=1)
        assert always.mean() >= 0.95
        assert np.all(watched.low <= watched.difference)
        assert np.all(watched.high >= watched.difference)
    assert np.all(watched.high <= 1.0) and np.all(watched.low >= -1.0)


# --- detection --------------------------------------------------------------------------------


def test_a_rise_from_2_to_6_percent_is_found_within_a_few_thousand_records():
    found = detection()
    print(f"\n2 % -> 6 % at record 50,000, 100 streams: alarm in {found['fired']}, "
          f"{found['early']} before the change; median delay {found['median_delay']:.0f} records "
          f"(5-95 %: {found['delay_5_95'][0]:.0f}-{found['delay_5_95'][1]:.0f})")
    assert found["fired"] >= 95
    assert found["early"] <= 10
    assert found["median_delay"] < 20_000


def test_a_fall_alarms_only_when_watched_two_sided():
    rng = np.random.default_rng(5)
    k = np.cumsum(rng.binomial(EVERY, 0.005, CHECKS))
    n = EVERY * np.arange(1, CHECKS + 1)
    assert not watch_rate_stream(k, n, 200, BASELINE_N).alarm.any()
    two_sided = watch_rate_stream(k, n, 200, BASELINE_N, alternative="two-sided")
    assert two_sided.alarm[-1] and two_sided.high[-1] < 0
    assert two_sided.first_alarm_n == n[two_sided.first_alarm]


def test_updates_one_batch_at_a_time_give_the_streams_numbers():
    baseline_k, k, n = simulate(3, 2, after=0.06)
    for alternative in ("greater", "two-sided"):
        watched = watch_rate_stream(k, n, baseline_k, BASELINE_N, alternative=alternative, tau=0.02)
        for stream in range(3):
            state = watch_rate(int(baseline_k[stream]), BASELINE_N, alternative=alternative, tau=0.02)
            batches = np.diff(k[stream], prepend=0)
            for check, new in enumerate(batches):
                state = state.update(int(new), EVERY)
                assert state.p_value == pytest.approx(watched.p_value[stream, check], rel=1e-12)
                assert state.interval.low == pytest.approx(watched.low[stream, check], abs=1e-12)
                assert state.interval.high == pytest.approx(watched.high[stream, check], abs=1e-12)
                assert state.ready == watched.ready[stream, check]
            assert state.checks == CHECKS and state.n == MONITORED and state.k == k[stream, -1]
            assert state.alarm and state.first_alarm_n == watched.first_alarm_n[stream]
            assert state.estimate == k[stream, -1] / MONITORED
            assert state.difference == pytest.approx(state.estimate - state.baseline)


def test_an_alarm_stays_raised_and_remembers_when_it_fired():
    state = watch_rate(200, BASELINE_N).update(90, 1_000)
    assert state.alarm and state.first_alarm_n == 1_000 and state.p_value <= 0.05
    state = state.update(0, 5_000)  # the live rate falls back below the baseline
    assert state.alarm and state.first_alarm_n == 1_000 and state.interval.contains(0.0)


def test_the_default_tau_follows_the_relative_rise_of_interest():
    assert watch_rate(200, BASELINE_N).tau == pytest.approx(0.5 * 200.5 / 10_001)
    assert watch_rate(200, BASELINE_N, rise=1.0).tau == pytest.approx(200.5 / 10_001)
    assert watch_rate(200, BASELINE_N, tau=0.03).tau == 0.03
    # A rare baseline sizes the mixture as if it were at 1 %.
    assert watch_rate(3, BASELINE_N).tau == pytest.approx(0.005)


# --- many slices at once ----------------------------------------------------------------------

LANGUAGES = ["en", "zh", "es", "de", "fr", "ja", "pt", "ru"]


def test_a_rise_in_chinese_conversations_alone_is_the_slice_benjamini_hochberg_flags():
    replicates = 20
    p_by_slice = np.zeros((replicates, len(LANGUAGES)))
    for slot, language in enumerate(LANGUAGES):
        after = 0.06 if language == "zh" else None
        baseline_k, k, n = simulate(replicates, 100 + slot, after=after)
        p_by_slice[:, slot] = watch_rate_stream(k, n, baseline_k, BASELINE_N).p_value[:, -1]
    flagged = np.array([[alarm.alarm for alarm in flag_slices(dict(zip(LANGUAGES, p, strict=True)))]
                        for p in p_by_slice])
    zh = LANGUAGES.index("zh")
    assert flagged[:, zh].all()
    # BH's threshold for a second slice is 2q/8 = 1.25 %, so at most about 7 x 20 x 1.25 % = 1.75
    # false flags are expected in all (2 with this seed).
    assert flagged[:, [i for i in range(len(LANGUAGES)) if i != zh]].sum() <= 4


def test_flag_slices_takes_the_watches_themselves_and_keeps_input_order():
    rng = np.random.default_rng(8)
    watches: dict[str, RateWatch] = {}
    for language in LANGUAGES:
        rate = 0.06 if language == "zh" else 0.02
        state = watch_rate(int(rng.binomial(BASELINE_N, 0.02)), BASELINE_N)
        for batch in rng.binomial(EVERY, rate, 30):
            state = state.update(int(batch), EVERY)
        watches[(language, "v2", "flattery")] = state
    alarms = flag_slices(watches)
    assert [alarm.slice for alarm in alarms] == list(watches)
    assert [alarm.slice[0] for alarm in alarms if alarm.alarm] == ["zh"]
    assert all(isinstance(a, SliceAlarm) and a.slices == 8 and a.method == "bh" for a in alarms)
    zh = alarms[LANGUAGES.index("zh")]
    assert zh.p_value == watches[("zh", "v2", "flattery")].p_value
    assert zh.adjusted_p_value == pytest.approx(min(1.0, 8 * zh.p_value))
    plain = flag_slices([0.001, 0.02, 0.04, 0.5], q=0.05)
    assert [a.alarm for a in plain] == [True, True, False, False]
    assert [a.slice for a in plain] == [0, 1, 2, 3]
    assert plain[2].adjusted_p_value == pytest.approx(0.04 * 4 / 3)


# --- the CUSUM: quickest alarm, with an in-control run length instead of a bound ------------


def test_the_cusum_threshold_gives_the_in_control_run_length_asked_for():
    plan = cusum_plan(0.02)
    assert plan.rate_to_detect == 0.04 and plan.batch == 1_000
    assert plan.simulated_arl >= plan.in_control_arl == 1_000_000
    assert 0 < plan.threshold < math.log(1_000)  # Lorden: run length >= e^h checks
    rng = np.random.default_rng(9)
    k = np.cumsum(rng.binomial(EVERY, 0.02, (1_000, 1_000)), axis=1)
    n = np.broadcast_to(EVERY * np.arange(1, 1_001), k.shape)
    quiet = (bernoulli_cusum(k, n, plan).first_alarm < 0).mean()
    # Run lengths are near-geometric: P(no alarm in 1,000 checks) = exp(-1,000 / ARL in checks).
    arl = -1_000 / math.log(quiet) * EVERY
    print(f"\nCUSUM h={plan.threshold}: run length asked 1,000,000, simulated "
          f"{plan.simulated_arl:,.0f}, checked on fresh streams {arl:,.0f}")
    assert 0.75 * plan.simulated_arl <= arl <= 1.33 * plan.simulated_arl


def cusum_detection(steady_before, streams=100, seed=12):
    """Records from a 2 % -> 6 % rise (after ``steady_before`` monitored records at 2 %) to the
    first alarm, for the CUSUM and the mSPRT, over the streams where each alarmed after it."""
    rng = np.random.default_rng(seed)
    checks = (steady_before + 60_000) // EVERY
    rates = np.where(EVERY * np.arange(checks) >= steady_before, 0.06, 0.02)
    baseline_k = rng.binomial(BASELINE_N, 0.02, streams)
    k = np.cumsum(rng.binomial(EVERY, rates, (streams, checks)), axis=1)
    n = np.broadcast_to(EVERY * np.arange(1, checks + 1), k.shape)
    out = {}
    for name, first in [("cusum", bernoulli_cusum(k, n, cusum_plan(0.02)).first_alarm),
                        ("msprt", watch_rate_stream(k, n, baseline_k, BASELINE_N).first_alarm)]:
        after = first * EVERY >= steady_before
        delays = (first[after] + 1) * EVERY - steady_before
        out[name] = (int(after.sum()), int(((first >= 0) & ~after).sum()),
                     float(np.median(delays)) if delays.size else math.inf)
    return out


def test_the_cusum_finds_a_late_rise_the_msprt_dilutes():
    early, late = cusum_detection(40_000), cusum_detection(490_000)
    print(f"\n2 % -> 6 % after 40,000 steady records (found, false before, median delay): {early}"
          f"\nafter 490,000: {late}")
    assert early["cusum"][0] >= 90 and early["cusum"][2] <= 3_000
    assert late["cusum"][2] <= 3_000 < 20_000 < late["msprt"][2]
    assert late["msprt"][0] < 90  # diluted: many streams not yet found 60,000 records on
    assert late["cusum"][1] > late["msprt"][1]  # the price: the CUSUM alarms on steady streams


def test_cusum_settings_and_inputs_are_checked():
    assert cusum_plan(0.7, in_control_arl=20_000).rate_to_detect == pytest.approx(0.85)
    plan = cusum_plan(0.02, 0.05, batch=100, in_control_arl=5_000, paths=50, seed=3)
    assert isinstance(plan, CusumPlan) and plan.weights[0] == pytest.approx(math.log(2.5))
    assert plan.weights[1] == pytest.approx(math.log(0.95 / 0.98))
    stream = bernoulli_cusum([0, 10, 30], [100, 200, 300], plan)
    assert stream.statistic[0] == 0.0 and stream.alarm[-1] and stream.first_alarm_n == 200
    assert json.loads(json.dumps(stream.to_dict()))["threshold"] == plan.threshold
    for kwargs, message in [({"baseline": 0.0}, "baseline must be a rate in \\(0, 1\\)"),
                            ({"rate_to_detect": 0.01}, "rate_to_detect must be above"),
                            ({"batch": 0}, "batch must be at least 1"),
                            ({"in_control_arl": 5_000}, "in_control_arl at least 10 batches"),
                            ({"in_control_arl": True}, "in_control_arl at least 10 batches"),
                            ({"paths": 5}, "paths must be at least 10")]:
        with pytest.raises(ValueError, match=message):
            cusum_plan(**({"baseline": 0.02} | kwargs))
    with pytest.raises(ValueError, match="k and n must have the same shape"):
        bernoulli_cusum([1, 2], [10], plan)


# --- edges ------------------------------------------------------------------------------------


def test_a_fresh_watch_and_an_empty_batch_change_nothing():
    state = watch_rate(200, BASELINE_N)
    assert state.n == 0 and state.p_value == 1.0 and not state.alarm and state.checks == 0
    assert math.isnan(state.estimate) and state.baseline == 0.02
    assert (state.interval.low, state.interval.high) == (-1.0, 1.0)
    empty = state.update(0, 0)
    assert empty.n == 0 and empty.checks == 1 and empty.p_value == 1.0
    assert math.isnan(empty.estimate) and math.isnan(empty.difference)
    assert (empty.interval.low, empty.interval.high) == (-1.0, 1.0)


def test_no_events_at_all_never_alarm():
    state = watch_rate(0, BASELINE_N, alternative="two-sided")
    for _ in range(200):
        state = state.update(0, 10_000)
    assert state.n == 2_000_000 and state.p_value == 1.0 and not state.alarm and not state.ready


def test_a_baseline_of_zero_still_detects_a_rise():
    assert watch_rate(0, BASELINE_N).tau == pytest.approx(0.005)
    state = watch_rate(0, BASELINE_N).update(3, 10)
    assert not state.ready and not state.alarm  # 3 of 10: no alarm on a tiny sample
    assert watch_rate(0, BASELINE_N, min_n=0, min_expected=0).update(3, 10).alarm
    for _ in range(5):
        state = state.update(10, 1_000)
    # Alarmed at the first check with 10 events expected on each side (4,010 x 0.31 %).
    assert state.ready and state.alarm and state.first_alarm_n == 4_010
    assert state.interval.low > 0.0 and math.isfinite(state.interval.low)


def test_minimum_counts_hold_the_alarm_until_the_normal_approximation_is_fair():
    # 6 of 100 against 2 % is a big jump, but 100 records are below min_n = 500.
    state = watch_rate(200, BASELINE_N).update(6, 100)
    assert not state.ready and state.p_value == 1.0
    # Even with min_n = 100, 100 records at about 2 % expect 2 events, short of 10; 600 expect 13.
    assert not watch_rate(200, BASELINE_N, min_n=100).update(12, 100).ready
    assert watch_rate(200, BASELINE_N, min_n=100).update(72, 600).ready
    # A 0.1 % baseline: 2,000 live records expect 2.4 events, so 4 of them cannot alarm yet.
    rare = watch_rate(10, BASELINE_N).update(4, 2_000)
    assert not rare.ready and not rare.alarm
    assert rare.update(30, 8_000).ready


def test_huge_counts_stay_finite_and_precise():
    state = watch_rate(10**9, 5 * 10**10).update(2 * 10**10, 10**12)
    assert state.p_value == 1.0 and not state.alarm and state.ready
    assert math.isfinite(state.interval.low) and state.interval.low < 0.0
    risen = watch_rate(10**9, 5 * 10**10).update(20_100_000_000, 10**12)
    assert risen.alarm and risen.p_value == 0.0
    assert risen.difference == pytest.approx(1e-4, rel=1e-9)
    assert risen.interval.low == pytest.approx(1e-4, abs=5e-6)


def test_results_serialise_to_json():
    state = watch_rate(200, BASELINE_N).update(30, 1_000)
    payload = json.loads(json.dumps(state.to_dict()))
    assert payload["interval"]["method"].startswith("mSPRT confidence sequence (lower bound")
    assert payload["n"] == 1_000 and payload["method"] == "mSPRT (normal mixture)"
    stream = watch_rate_stream([10, 30], [1_000, 2_000], 200, BASELINE_N, alternative="two-sided")
    payload = json.loads(json.dumps(stream.to_dict()))
    assert payload["n"] == [1_000, 2_000] and payload["first_alarm"] == -1
    assert payload["alternative"] == "two-sided"
    assert json.loads(json.dumps(flag_slices({"zh": 0.01})[0].to_dict()))["slice"] == "zh"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"baseline_k": 0, "baseline_n": 0}, "baseline_n must be at least 1"),
    ({"baseline_k": 11, "baseline_n": 10}, "baseline_k must be between 0 and baseline_n"),
    ({"baseline_k": -1, "baseline_n": 10}, "baseline_k must be a whole number"),
    ({"baseline_k": 1.5, "baseline_n": 10}, "baseline_k must be a whole number"),
    ({"alternative": "less"}, "alternative must be 'greater' or 'two-sided'"),
    ({"alpha": 0}, "alpha must be between 0 and 1"),
    ({"alpha": True}, "alpha must be between 0 and 1"),
    ({"tau": 0.0}, "tau must be a number > 0"),
    ({"tau": math.inf}, "tau must be a number > 0"),
    ({"rise": -0.5}, "rise must be a number > 0"),
    ({"min_n": -1}, "min_n must be a whole number"),
    ({"min_expected": -1}, "min_expected must be a number >= 0"),
])
def test_invalid_settings_are_refused_with_what_to_pass(kwargs, message):
    args = {"baseline_k": 200, "baseline_n": BASELINE_N} | kwargs
    with pytest.raises(ValueError, match=message):
        watch_rate(args.pop("baseline_k"), args.pop("baseline_n"), **args)


@pytest.mark.parametrize(("k_new", "n_new", "message"), [
    (11, 10, "k_new must be between 0 and n_new"),
    (-1, 10, "k_new must be a whole number"),
    (1, 2.5, "n_new must be a whole number"),
])
def test_invalid_batches_are_refused(k_new, n_new, message):
    with pytest.raises(ValueError, match=message):
        watch_rate(200, BASELINE_N).update(k_new, n_new)


@pytest.mark.parametrize(("k", "n", "baseline_k", "baseline_n", "message"), [
    ([1, 2], [10, 20, 30], 1, 10, "k and n must have the same shape"),
    ([], [], 1, 10, "k must be cumulative counts"),
    ([[[1]]], [[[10]]], 1, 10, "k must be cumulative counts"),
    ([1, 0], [10, 20], 1, 10, "k must be cumulative"),
    ([1.5, 2], [10, 20], 1, 10, "k must hold whole numbers"),
    (["a"], [10], 1, 10, "k must hold whole numbers"),
    ([11, 12], [10, 20], 1, 10, "k must be between 0 and n"),
    ([[1, 2]], [[10, 20]], [1, 2], 10, "one number or one per stream"),
    ([1, 2], [10, 20], 11, 10, "every baseline needs"),
    ([1, 2], [10, 20], 0, 0, "every baseline needs"),
])
def test_invalid_streams_are_refused(k, n, baseline_k, baseline_n, message):
    with pytest.raises(ValueError, match=message):
        watch_rate_stream(k, n, baseline_k, baseline_n)


def test_invalid_stream_settings_are_refused():
    with pytest.raises(ValueError, match="tau must be a number > 0"):
        watch_rate_stream([1], [10], 1, 10, tau=-1.0)
    with pytest.raises(ValueError, match="alternative must be"):
        watch_rate_stream([1], [10], 1, 10, alternative="less")


@pytest.mark.parametrize(("p_values", "q", "message"), [
    ({}, 0.05, "p_values is empty"),
    ([], 0.05, "p_values is empty"),
    ({"zh": 1.5}, 0.05, "the p-value of slice 'zh' must be a rate"),
    ([0.01], 0.0, "q must be between 0 and 1"),
    ([0.01], 1.0, "q must be between 0 and 1"),
])
def test_invalid_slices_are_refused(p_values, q, message):
    with pytest.raises(ValueError, match=message):
        flag_slices(p_values, q=q)
