"""Runner: plan the missing work of a run, sample it concurrently, retry what is retryable,
store every sample as it arrives, and resume after a crash. May import targets, probes,
store, records and errors.
"""

from levelhead.runner._execute import RunReport, execute, run_audit
from levelhead.runner._judging import (
    JudgePlan,
    JudgingReport,
    judge_input,
    judge_stored,
    plan_judges,
    safe_verdict,
)
from levelhead.runner._planning import describe_plan
from levelhead.runner._progress import PlainProgress, Progress, RichProgress, choose_progress
from levelhead.runner._ray import Executor
from levelhead.runner._sampling import sample_seed

__all__ = [
    "Executor",
    "JudgePlan",
    "JudgingReport",
    "PlainProgress",
    "Progress",
    "RichProgress",
    "RunReport",
    "choose_progress",
    "describe_plan",
    "execute",
    "judge_input",
    "judge_stored",
    "plan_judges",
    "run_audit",
    "safe_verdict",
    "sample_seed",
]
