-- Multi-turn probes: every assistant turn of a conversation is stored as it arrives (so a run
-- killed in the middle of a conversation resumes from its last stored turn, repeating none),
-- with the user message it answers and each judge's verdict on it. The conversation's sample
-- row is written when the conversation ends; its messages_json then holds every generated turn.
CREATE TABLE turns (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL,
    target_id          INTEGER NOT NULL,
    prompt_id          INTEGER NOT NULL,
    sample_index       INTEGER NOT NULL,
    turn               INTEGER NOT NULL CHECK (turn >= 1),
    user_text          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    text               TEXT,
    latency_ms         INTEGER,
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    finish_reason      TEXT,
    error              TEXT,
    seed               INTEGER,
    attempts           INTEGER NOT NULL,
    created_ms         INTEGER NOT NULL,
    UNIQUE (target_id, prompt_id, sample_index, turn)
);
CREATE TABLE turn_verdicts (
    id          INTEGER PRIMARY KEY,
    turn_id     INTEGER NOT NULL REFERENCES turns(id),
    judge_id    INTEGER NOT NULL REFERENCES judges(id),
    label       TEXT NOT NULL,
    score       REAL,
    rationale   TEXT,
    extra_json  TEXT,
    created_ms  INTEGER NOT NULL,
    UNIQUE (turn_id, judge_id)
);
CREATE INDEX turns_by_run ON turns (run_id, target_id, prompt_id, sample_index);
