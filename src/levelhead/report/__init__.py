"""Report: turn a run's samples and verdicts into findings (each probe adds its own through its
hooks), and findings into tables, JSON, Markdown and one self-contained HTML page; compare two
runs or targets; gate a release on a policy. It renders, compares and gates: the run's data,
the counting and the page elements are ``levelhead.analysis``'s, the statistics (the gate's
too) ``levelhead.stats``'s. May import analysis, stats, store, probes (their hooks), judges,
spec, registry, errors and records — never runner or cli.
"""

from levelhead.analysis import BehaviourCounts, ReportSection, RunData, load_run_data
from levelhead.report._behaviours import behaviour_counts
from levelhead.report._build import BuiltReport, build_report
from levelhead.report._compare import Comparison, Comparisons, compare_runs, comparison_section
from levelhead.report._findings import compute_findings, findings_markdown
from levelhead.report._gate import GateResult, evaluate_gate
from levelhead.report._gate_render import gate_junit, gate_markdown, gate_section
from levelhead.report._html import render_report, write_report
from levelhead.report._policy import Policy, load_policy

__all__ = [
    "BehaviourCounts",
    "BuiltReport",
    "Comparison",
    "Comparisons",
    "GateResult",
    "Policy",
    "ReportSection",
    "RunData",
    "behaviour_counts",
    "build_report",
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
