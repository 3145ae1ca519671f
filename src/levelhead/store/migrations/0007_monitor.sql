-- The monitor (issue 19): production conversations judged as they are ingested. One row per
-- assistant turn, numbered in the order ingested (`id`), unique per source, conversation and turn
-- so a conversation logged again with more turns adds only its new ones. `text` and `text_hash`
-- are kept as the user chose (--store-text none | hash | full). `feedback` is the user's thumbs,
-- on one turn of a conversation: the last assistant turn of the newest log of it that carries
-- feedback (null on the others). Times are UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
CREATE TABLE monitor_turns (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    conversation  TEXT NOT NULL,
    turn          INTEGER NOT NULL CHECK (turn >= 1),
    at            TEXT,
    model         TEXT,
    language      TEXT NOT NULL,
    feedback      TEXT CHECK (feedback IN ('up', 'down')),
    text          TEXT,
    text_hash     TEXT,
    ingested_at   TEXT NOT NULL,
    UNIQUE (source, conversation, turn)
);
CREATE INDEX monitor_turns_by_time ON monitor_turns (at);
-- A judge's verdict on a turn. A costly judge runs on a random sample of the turns: each verdict
-- records the probability its turn had of being judged, which weights it in every rate.
CREATE TABLE monitor_verdicts (
    turn_id         INTEGER NOT NULL REFERENCES monitor_turns(id),
    judge_id        INTEGER NOT NULL REFERENCES judges(id),
    label           TEXT NOT NULL,
    inclusion_prob  REAL NOT NULL CHECK (inclusion_prob > 0 AND inclusion_prob <= 1),
    PRIMARY KEY (turn_id, judge_id)
);
CREATE INDEX monitor_verdicts_by_judge ON monitor_verdicts (judge_id, label);
-- Where ingesting a source got to (a file's device, inode, first-line fingerprint, byte offset
-- and line), so that a restart reads every line once; with the counts of lines ingested and
-- malformed.
CREATE TABLE monitor_sources (
    source      TEXT PRIMARY KEY,
    device      INTEGER,
    inode       INTEGER,
    fingerprint TEXT NOT NULL DEFAULT '',
    offset      INTEGER NOT NULL DEFAULT 0,
    line        INTEGER NOT NULL DEFAULT 0,
    records     INTEGER NOT NULL DEFAULT 0,
    malformed   INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL
);
-- Malformed lines, with their line numbers and why (the newest are kept; see the monitor).
CREATE TABLE monitor_malformed (
    id      INTEGER PRIMARY KEY,
    source  TEXT NOT NULL,
    line    INTEGER NOT NULL,
    reason  TEXT NOT NULL,
    at      TEXT NOT NULL
);
