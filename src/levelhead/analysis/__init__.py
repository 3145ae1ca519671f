"""Analysis: the public layer below both the probes and the report.

A run as findings see it (:class:`RunData`, read from a store by :func:`load_run_data`); the one
counter of verdicts (:class:`Counts`, :func:`usable_label`), which owns the rule that errors and
missing verdicts are never counted as good replies; per-prompt counts of a behaviour
(:class:`BehaviourCounts`) for compare and gate; findings built from counts
(:func:`rate_finding`, :func:`finding_from_rate` ...); a judge's calibration against human gold
labels and the corrected rates it gives (:class:`Calibration`, :func:`corrected_estimate`);
what needs attention — for each finding, whether it is flagged, its no-problem value, how far its
interval is from it and one plain sentence (:func:`attention`, :class:`Assessment`); how often
a content filter withheld replies, and withheld benign ones, on each side of a comparison
(:func:`content_filter_rows`); the reader's language and its catalogue of strings
(:func:`say`, :func:`default_language`); the guard's decisions as block rates per language,
judge and model (:func:`guard_summary`); live rates of the monitor's traffic with windows,
always-valid alarms against a baseline and the reward signal of users' thumbs
(:func:`monitor_status`); and what a report page is made of
(:class:`ReportSection` and its blocks, :func:`percent`, :func:`figure_label`).

A behaviour package (``levelhead.probes.politics`` ...) computes its findings and report
sections with these; ``levelhead.report`` renders, compares and gates on the same types.
May import records, errors, stats, store (to read a run) and judges (what a judge declares
about its labels) — never probes, report, runner or cli.
"""

from levelhead.analysis._attention import (
    Assessment,
    AssessmentStatus,
    Thresholds,
    assess,
    attention,
    flagged,
    thresholds_by_key,
)
from levelhead.analysis._calibration import (
    Calibration,
    LabelCounts,
    corrected_estimate,
    load_calibrations,
    match_calibrations,
)
from levelhead.analysis._content_filter import (
    CONTENT_FILTER,
    BlockedShare,
    ContentFilterRow,
    content_filter_rows,
)
from levelhead.analysis._counting import (
    BehaviourCounts,
    BehaviourKey,
    Counts,
    count_label,
    count_labels,
    label_test,
    paired_counts,
    usable,
    usable_label,
)
from levelhead.analysis._data import RunData, SampleKey, SampleView, TurnKey, TurnView, load_run_data
from levelhead.analysis._findings import (
    by_language,
    by_target,
    empty_finding,
    finding_from_rate,
    paired_finding,
    rate_by_prompt,
    rate_finding,
)
from levelhead.analysis._guard import GuardSlice, GuardSummary, guard_summary
from levelhead.analysis._labels import judge_bad_labels, judge_labels
from levelhead.analysis._language import (
    LANGUAGES,
    Language,
    default_language,
    language,
    pct,
    pct_range,
    say,
    say_note,
)
from levelhead.analysis._monitor import (
    DEFAULT_BASELINE_TURNS,
    MonitorBaseline,
    MonitorBehaviour,
    MonitorSource,
    MonitorStatus,
    RewardSignal,
    SliceWatch,
    TrafficSlice,
    WeightedRate,
    WindowRate,
    monitor_status,
)
from levelhead.analysis._page import (
    Block,
    Bullet,
    Card,
    Chart,
    Paragraph,
    ReportSection,
    Table,
    Transcript,
    figure_label,
    known,
    percent,
    probe_section,
    sample_transcripts,
)

__all__ = [
    "CONTENT_FILTER",
    "DEFAULT_BASELINE_TURNS",
    "LANGUAGES",
    "Assessment",
    "AssessmentStatus",
    "BehaviourCounts",
    "BehaviourKey",
    "Block",
    "BlockedShare",
    "Bullet",
    "Calibration",
    "Card",
    "Chart",
    "ContentFilterRow",
    "Counts",
    "GuardSlice",
    "GuardSummary",
    "LabelCounts",
    "Language",
    "MonitorBaseline",
    "MonitorBehaviour",
    "MonitorSource",
    "MonitorStatus",
    "Paragraph",
    "ReportSection",
    "RewardSignal",
    "RunData",
    "SampleKey",
    "SampleView",
    "SliceWatch",
    "Table",
    "Thresholds",
    "TrafficSlice",
    "Transcript",
    "TurnKey",
    "TurnView",
    "WeightedRate",
    "WindowRate",
    "assess",
    "attention",
    "by_language",
    "by_target",
    "content_filter_rows",
    "corrected_estimate",
    "count_label",
    "count_labels",
    "default_language",
    "empty_finding",
    "figure_label",
    "finding_from_rate",
    "flagged",
    "guard_summary",
    "judge_bad_labels",
    "judge_labels",
    "known",
    "label_test",
    "language",
    "load_calibrations",
    "load_run_data",
    "match_calibrations",
    "monitor_status",
    "paired_counts",
    "paired_finding",
    "pct",
    "pct_range",
    "percent",
    "probe_section",
    "rate_by_prompt",
    "rate_finding",
    "sample_transcripts",
    "say",
    "say_note",
    "thresholds_by_key",
    "usable",
    "usable_label",
]
