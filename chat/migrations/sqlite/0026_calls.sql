-- Every call that reached the IVR, answered or not: one row per SIP Call-ID, written when
-- the call ends (deflect_config::CallRecord). Times in ms since the Unix epoch; `path` is
-- the JSON array of the flow's steps the caller went through.
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL UNIQUE,
    trunk TEXT NOT NULL,
    caller TEXT,
    dialled_number TEXT,
    flow TEXT,
    language TEXT,
    started_at INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    input_method TEXT,
    transcript TEXT,
    path TEXT NOT NULL,
    callback_number TEXT
);
CREATE INDEX calls_started ON calls (started_at);
