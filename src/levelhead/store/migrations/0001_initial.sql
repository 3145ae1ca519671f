-- levelhead store, first schema. Append-only: runs, targets, prompts, samples, judges, verdicts.
-- A sample's transcript is its prompt's messages (prompts), preceded by its target's system
-- message (targets.settings_json) unless the prompt has its own, followed by the reply (text);
-- messages_json holds only turns generated beyond that (multi-turn probes), else NULL.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    spec_json   TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    samples     INTEGER NOT NULL,
    planned     INTEGER NOT NULL DEFAULT 0,
    version     TEXT NOT NULL
);
CREATE TABLE targets (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    settings_json  TEXT NOT NULL,
    settings_hash  TEXT NOT NULL,
    UNIQUE (run_id, name)
);
CREATE TABLE prompts (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id),
    probe          TEXT NOT NULL,
    prompt_id      TEXT NOT NULL,
    messages_json  TEXT NOT NULL,
    tags_json      TEXT NOT NULL,
    UNIQUE (run_id, probe, prompt_id)
);
CREATE TABLE samples (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL,
    target_id          INTEGER NOT NULL,
    prompt_id          INTEGER NOT NULL,
    sample_index       INTEGER NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    text               TEXT,
    messages_json      TEXT,
    latency_ms         INTEGER,
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    finish_reason      TEXT,
    error              TEXT,
    seed               INTEGER,
    attempts           INTEGER NOT NULL,
    created_ms         INTEGER NOT NULL,
    UNIQUE (target_id, prompt_id, sample_index)
);
CREATE TABLE judges (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    args_json  TEXT NOT NULL,
    UNIQUE (name, version, args_json)
);
CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY,
    sample_id   INTEGER NOT NULL REFERENCES samples(id),
    judge_id    INTEGER NOT NULL REFERENCES judges(id),
    label       TEXT NOT NULL,
    score       REAL,
    rationale   TEXT,
    extra_json  TEXT,
    created_ms  INTEGER NOT NULL,
    UNIQUE (sample_id, judge_id)
);
