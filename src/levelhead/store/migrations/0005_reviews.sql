-- Spot-check review (issue 17): a queue of a run's samples drawn for people to label, so that a
-- judge identity's labels can be checked against theirs. A queue names the judge it checks, the
-- labels reviewers choose from (JSON list) and how it was drawn (JSON: seed, size, strata with
-- N_h and n_h), which is what weights each reviewed item when agreement is estimated for the
-- whole run. Its items are in the order reviewers see them, each with its stratum (the judge's
-- label when drawn) and its probability of being drawn.
CREATE TABLE review_queues (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    name         TEXT NOT NULL,
    judge_id     INTEGER NOT NULL REFERENCES judges(id),
    labels_json  TEXT NOT NULL,
    design_json  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (run_id, name)
);
CREATE TABLE review_items (
    queue_id        INTEGER NOT NULL REFERENCES review_queues(id),
    position        INTEGER NOT NULL CHECK (position >= 0),
    sample_id       INTEGER NOT NULL REFERENCES samples(id),
    stratum         TEXT NOT NULL,
    inclusion_prob  REAL NOT NULL CHECK (inclusion_prob > 0 AND inclusion_prob <= 1),
    PRIMARY KEY (queue_id, position),
    UNIQUE (queue_id, sample_id)
);
-- Labels are appended and never changed, except to be marked undone: a reviewer who labels an
-- item again supersedes their earlier label (a reviewer's newest label on an item that is not
-- undone is the one that counts), and an undo marks the reviewer's newest live label in the
-- queue undone, so the label before it counts again. The history stays.
CREATE TABLE review_labels (
    id          INTEGER PRIMARY KEY,
    queue_id    INTEGER NOT NULL,
    sample_id   INTEGER NOT NULL,
    reviewer    TEXT NOT NULL,
    label       TEXT NOT NULL,
    note        TEXT,
    created_at  TEXT NOT NULL,
    undone      INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
    FOREIGN KEY (queue_id, sample_id) REFERENCES review_items (queue_id, sample_id)
);
CREATE INDEX review_labels_by_item ON review_labels (queue_id, sample_id);
CREATE INDEX review_labels_by_reviewer ON review_labels (queue_id, reviewer);
