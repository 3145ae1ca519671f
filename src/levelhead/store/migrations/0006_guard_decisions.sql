-- The guard's decisions (issue 18): one row per screened reply (per choice of a completion),
-- passes included, so that block rates have their denominators. `verdicts_json` lists every
-- rule's finding: [{"judge", "label" (null: not judged), "action", "error"}]. The reply's text
-- is kept only when the guard's policy says `store_text = true`; keys are never kept.
CREATE TABLE guard_decisions (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    choice       INTEGER NOT NULL DEFAULT 0 CHECK (choice >= 0),
    model        TEXT,
    language     TEXT NOT NULL,
    streamed     INTEGER NOT NULL CHECK (streamed IN (0, 1)),
    action       TEXT NOT NULL CHECK (action IN ('pass', 'flag', 'redact', 'block')),
    judged       INTEGER NOT NULL CHECK (judged IN (0, 1)),
    latency_ms   REAL NOT NULL CHECK (latency_ms >= 0),
    judge_ms     REAL NOT NULL CHECK (judge_ms >= 0),
    verdicts_json TEXT NOT NULL,
    text         TEXT
);
CREATE INDEX guard_decisions_by_time ON guard_decisions (at);
