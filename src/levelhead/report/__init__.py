"""Report: turn a run's samples and verdicts into findings (via ``levelhead.stats``), and
findings into tables, JSON and Markdown (the HTML report comes later). May import stats,
store, probes and records.
"""

from levelhead.report._data import RunData, load_run_data
from levelhead.report._findings import compute_findings, findings_markdown

__all__ = ["RunData", "compute_findings", "findings_markdown", "load_run_data"]
