-- Migration 2: staff in the loop — flags, reviews, staff accounts and sessions, curated answers,
-- and an audit log of every staff action.

-- Why an answer needs a person: one row per reason, so the queue can be filtered by reason.
CREATE TABLE flags (
    id         INTEGER PRIMARY KEY,
    answer_id  INTEGER NOT NULL REFERENCES answers (id),
    -- low_confidence | declined | thumbs_down | reported | human_requested | sensitive_topic | delivery_failed
    reason     TEXT NOT NULL,
    detail     TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (answer_id, reason)
);
CREATE INDEX flags_created ON flags (created_at);

-- Topic (lĩnh vực) of an answer for statistics: the cited document's title, or the decline category.
ALTER TABLE answers ADD COLUMN topic TEXT;

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,              -- argon2id PHC string
    role          TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- Only a hash of the session token is stored: a leaked database does not leak live sessions.
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   INTEGER NOT NULL REFERENCES staff (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- One decision per answer. `delivery_*` says whether the corrected answer reached the citizen.
CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    answer_id       INTEGER NOT NULL UNIQUE REFERENCES answers (id),
    staff_id        INTEGER NOT NULL REFERENCES staff (id),
    decision        TEXT NOT NULL CHECK (decision IN ('approved', 'edited', 'rejected')),
    text            TEXT,
    citations       TEXT NOT NULL DEFAULT '[]',
    note            TEXT,
    delivery_status TEXT,                     -- sent | failed | not_applicable
    delivery_error  TEXT,
    created_at      TEXT NOT NULL
);

-- Staff-approved answers, given first to later questions close enough to `question`.
CREATE TABLE curated_answers (
    id          INTEGER PRIMARY KEY,
    question    TEXT NOT NULL,
    answer_text TEXT NOT NULL,
    citations   TEXT NOT NULL DEFAULT '[]',
    review_id   INTEGER REFERENCES reviews (id),
    active      INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER NOT NULL REFERENCES staff (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    staff_id INTEGER REFERENCES staff (id),
    action   TEXT NOT NULL,
    target   TEXT,
    detail   TEXT,
    at       TEXT NOT NULL
);
CREATE INDEX audit_at ON audit_log (at);
