-- Verdicts on a pair of samples (a mirrored pair, or baseline vs candidate), and an index to
-- find a run's verdicts by judge quickly.
CREATE TABLE pair_verdicts (
    id           INTEGER PRIMARY KEY,
    sample_a     INTEGER NOT NULL REFERENCES samples(id),
    sample_b     INTEGER NOT NULL REFERENCES samples(id),
    judge_id     INTEGER NOT NULL REFERENCES judges(id),
    label        TEXT NOT NULL,
    score        REAL,
    rationale    TEXT,
    extra_json   TEXT,
    created_ms   INTEGER NOT NULL,
    UNIQUE (sample_a, sample_b, judge_id)
);
CREATE INDEX verdicts_by_judge ON verdicts (judge_id, sample_id);
