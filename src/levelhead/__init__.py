"""levelhead: sample chat models many times on behaviour probes, judge every reply, and turn
the verdicts into honest statistics.

The curated public API is below (pinned by a test); everything else is reachable through the
sub-packages named in DESIGN.md: targets, probes, judges, runner, stats, store, analysis,
report, cli. A judge's verdict is a ``levelhead.judges.JudgeVerdict``; a stored one is a
``levelhead.store.VerdictRecord``.
"""

from levelhead._version import __version__
from levelhead.errors import LevelheadError, SpecError
from levelhead.records import Completion, Finding, Prompt, Sample, Turn
from levelhead.runner import RunReport, run_audit
from levelhead.spec import AuditSpec, load_spec, spec_from_dict
from levelhead.store import open_store

__all__ = [
    "AuditSpec",
    "Completion",
    "Finding",
    "LevelheadError",
    "Prompt",
    "RunReport",
    "Sample",
    "SpecError",
    "Turn",
    "__version__",
    "build_report",
    "load_spec",
    "open_store",
    "run_audit",
    "spec_from_dict",
]


def __getattr__(name: str) -> object:
    # The report (numpy, scipy, plotly's JS) loads on first use, so that `import levelhead` and
    # `levelhead run` stay quick.
    if name == "build_report":
        from levelhead.report import build_report

        return build_report
    raise AttributeError(f"module 'levelhead' has no attribute {name!r}")
