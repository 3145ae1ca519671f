"""levelhead: sample chat models many times on behaviour probes, judge every reply, and turn
the verdicts into honest statistics.

The curated public API is below (pinned by a test); everything else is reachable through the
sub-packages named in DESIGN.md: targets, probes, judges, runner, stats, store, report, cli.
"""

from levelhead._version import __version__
from levelhead.errors import LevelheadError, SpecError
from levelhead.records import Completion, Prompt, Sample, Turn, Verdict
from levelhead.runner import RunReport, run_audit
from levelhead.spec import AuditSpec, load_spec, spec_from_dict
from levelhead.store import open_store

__all__ = [
    "AuditSpec",
    "Completion",
    "LevelheadError",
    "Prompt",
    "RunReport",
    "Sample",
    "SpecError",
    "Turn",
    "Verdict",
    "__version__",
    "load_spec",
    "open_store",
    "run_audit",
    "spec_from_dict",
]
