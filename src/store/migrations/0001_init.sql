-- 0001: sessions, the answers recorded in them, and the practice schedule per prompt.
-- Times are RFC 3339 text: session and answer times in the local time they happened at (with
-- its offset), schedule times in UTC.

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL
                CHECK (length(id) BETWEEN 1 AND 64 AND id NOT GLOB '*[^0-9A-Za-z-]*'),
    playlist    TEXT,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    status      TEXT NOT NULL
                CHECK (status IN ('running', 'complete', 'quit', 'interrupted')),
    -- The process that runs the session, so a crash can be told from a session in progress.
    pid         INTEGER NOT NULL
);

CREATE INDEX sessions_running ON sessions (status) WHERE status = 'running';

CREATE TABLE answers (
    id                  INTEGER PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- Order within the session, from 1.
    seq                 INTEGER NOT NULL CHECK (seq >= 1),
    prompt_id           TEXT NOT NULL,
    category            TEXT NOT NULL,
    -- The concept name when this answer replies to a follow-up question.
    follow_up_of        TEXT,
    -- 1 for the first try of a prompt in the session.
    try_number          INTEGER NOT NULL CHECK (try_number >= 1),
    -- Relative to VIVA_HOME when inside it.
    audio_path          TEXT NOT NULL,
    question_audio_path TEXT,
    started_at          TEXT NOT NULL,
    status              TEXT NOT NULL
                        CHECK (status IN ('recording', 'complete', 'interrupted', 'skipped')),
    transcript_json     TEXT,
    scorecard_json      TEXT,
    overall             REAL,
    UNIQUE (session_id, seq),
    -- A complete answer always has its transcript and scores.
    CHECK (status <> 'complete'
           OR (transcript_json IS NOT NULL AND scorecard_json IS NOT NULL AND overall IS NOT NULL))
);

CREATE INDEX answers_by_prompt ON answers (prompt_id, status);

CREATE TABLE practice (
    prompt_id       TEXT PRIMARY KEY NOT NULL,
    ease            REAL NOT NULL,
    interval_days   REAL NOT NULL,
    due_at          TEXT NOT NULL,
    last_score      REAL NOT NULL,
    reps            INTEGER NOT NULL CHECK (reps >= 0),
    last_practiced  TEXT NOT NULL
);
