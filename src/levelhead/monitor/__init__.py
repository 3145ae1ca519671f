"""The monitor: production conversations, read from live logs, judged and watched over time.

:func:`read_log` yields each JSONL conversation as a :class:`LogRecord` (or a
:class:`Malformed` report with its line number), with the :class:`Position` after it, following
a growing file through rotation and truncation; :func:`parse_line` parses one line. A
:class:`Monitor` judges every assistant turn (costly judges on a random sample, each verdict
with its inclusion probability) and :func:`ingest_batches` stores batches of them with where
reading got to, so every line is ingested once. See ``docs/monitor.md`` (issue 19).
May import errors, records, judges (language detection), stats and store; ``import levelhead`` never
loads it.
"""

from levelhead.monitor._ingest import (
    DEFAULT_JUDGES,
    UNDETERMINED,
    Batch,
    Conversation,
    IngestTotals,
    Monitor,
    MonitorJudge,
    StoreText,
    TurnJudges,
    inclusion,
    ingest_batches,
)
from levelhead.monitor._source import (
    MAX_LINE_BYTES,
    Item,
    LogRecord,
    Malformed,
    MalformedLine,
    Position,
    parse_line,
    read_log,
)

__all__ = [
    "DEFAULT_JUDGES",
    "MAX_LINE_BYTES",
    "UNDETERMINED",
    "Batch",
    "Conversation",
    "IngestTotals",
    "Item",
    "LogRecord",
    "Malformed",
    "MalformedLine",
    "Monitor",
    "MonitorJudge",
    "Position",
    "StoreText",
    "TurnJudges",
    "inclusion",
    "ingest_batches",
    "parse_line",
    "read_log",
]
