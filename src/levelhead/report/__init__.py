"""Report: turn a run's samples and verdicts into findings (via ``levelhead.stats``), and
findings into tables, JSON, Markdown and one self-contained HTML page; compare two runs or
targets; gate a release on a policy. May import stats, store, probes, judges and records.
"""

from levelhead.report._behaviours import BehaviourCounts, behaviour_counts
from levelhead.report._compare import Comparison, Comparisons, compare_runs, comparison_section
from levelhead.report._data import RunData, load_run_data
from levelhead.report._findings import compute_findings, findings_markdown
from levelhead.report._gate import GateResult, evaluate_gate, gate_junit, gate_markdown, gate_section
from levelhead.report._html import render_report, write_report
from levelhead.report._page import ReportSection
from levelhead.report._policy import Policy, load_policy

__all__ = [
    "BehaviourCounts",
    "Comparison",
    "Comparisons",
    "GateResult",
    "Policy",
    "ReportSection",
    "RunData",
    "behaviour_counts",
    "compare_runs",
    "comparison_section",
    "compute_findings",
    "evaluate_gate",
    "findings_markdown",
    "gate_junit",
    "gate_markdown",
    "gate_section",
    "load_policy",
    "load_run_data",
    "render_report",
    "write_report",
]
