"""Store: the only place with SQL. Runs, targets, prompts, samples and verdicts, append-only;
review queues and reviewers' labels; the guard's decisions; the monitor's turns.

:func:`open_store` opens the SQLite store (the default, embedded); a PostgreSQL store will
implement the same :class:`Store` protocol so that callers do not change. May import records
and errors only.
"""

from levelhead.store._lease import RunLease, acquire_lease, claim_lease
from levelhead.store._protocol import SampleWriter, Store
from levelhead.store._records import (
    BrowsedSample,
    GuardDecisionRecord,
    GuardFinding,
    LeaseHolder,
    MonitorCountRecord,
    MonitorSourceRecord,
    PairVerdictRecord,
    PromptProgress,
    ReviewItemRecord,
    ReviewLabelRecord,
    ReviewQueueRecord,
    RunProgress,
    RunRecord,
    SampleVerdictRecord,
    StoredSample,
    StoredTurn,
    TaggedSample,
    TargetPromptSummary,
    TurnRecord,
    TurnVerdictRecord,
    VerdictRecord,
)
from levelhead.store._rows import (
    GuardDecisionRow,
    MonitorTurnRow,
    PairVerdictRow,
    SampleRow,
    TurnRow,
    TurnVerdictRow,
    VerdictRow,
)
from levelhead.store._sqlite import SQLiteStore, default_store_path, open_store

__all__ = [
    "BrowsedSample",
    "GuardDecisionRecord",
    "GuardDecisionRow",
    "GuardFinding",
    "LeaseHolder",
    "MonitorCountRecord",
    "MonitorSourceRecord",
    "MonitorTurnRow",
    "PairVerdictRecord",
    "PairVerdictRow",
    "PromptProgress",
    "ReviewItemRecord",
    "ReviewLabelRecord",
    "ReviewQueueRecord",
    "RunLease",
    "RunProgress",
    "RunRecord",
    "SQLiteStore",
    "SampleRow",
    "SampleVerdictRecord",
    "SampleWriter",
    "Store",
    "StoredSample",
    "StoredTurn",
    "TaggedSample",
    "TargetPromptSummary",
    "TurnRecord",
    "TurnRow",
    "TurnVerdictRecord",
    "TurnVerdictRow",
    "VerdictRecord",
    "VerdictRow",
    "acquire_lease",
    "claim_lease",
    "default_store_path",
    "open_store",
]
