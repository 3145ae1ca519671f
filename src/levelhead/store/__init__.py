"""Store: the only place with SQL. Runs, targets, prompts, samples and verdicts, append-only.

:func:`open_store` opens the SQLite store (the default, embedded); a PostgreSQL store will
implement the same :class:`Store` protocol so that callers do not change. May import records
and errors only.
"""

from levelhead.store._lease import RunLease, acquire_lease
from levelhead.store._protocol import (
    LeaseHolder,
    PairVerdictRow,
    PromptProgress,
    RunProgress,
    RunRecord,
    SampleRow,
    Store,
    StoredSample,
    StoredTurn,
    TargetPromptSummary,
    TurnRow,
    TurnVerdictRow,
    VerdictRow,
)
from levelhead.store._sqlite import SQLiteStore, default_store_path, open_store

__all__ = [
    "LeaseHolder",
    "PairVerdictRow",
    "PromptProgress",
    "RunLease",
    "RunProgress",
    "RunRecord",
    "SQLiteStore",
    "SampleRow",
    "Store",
    "StoredSample",
    "StoredTurn",
    "TargetPromptSummary",
    "TurnRow",
    "TurnVerdictRow",
    "VerdictRow",
    "acquire_lease",
    "default_store_path",
    "open_store",
]
