-- One writer per run: a process that samples or judges a run holds its lease, renewed by a
-- heartbeat. A second process finds the row and refuses (or waits); a crashed owner stops
-- renewing and its lease expires, so a resume takes over. Rows, not OS file locks, so that the
-- same guard works on a shared PostgreSQL store. Times are Unix milliseconds.
CREATE TABLE run_leases (
    run_id        INTEGER PRIMARY KEY REFERENCES runs(id),
    owner         TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    command       TEXT NOT NULL,
    acquired_ms   INTEGER NOT NULL,
    heartbeat_ms  INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    -- boot id and pid namespace: a pid is only looked up by a process on the same node
    node          TEXT NOT NULL
);
