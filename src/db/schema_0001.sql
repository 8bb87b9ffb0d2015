-- Migration 1: what the channels need to lose nothing and answer each message once.
-- Times are RFC 3339 UTC text; ids of platform users are stored as given (pseudonymous ids, not
-- names), and never logged at info level.

-- One row per message a citizen sent, written before the webhook is acknowledged. The unique key
-- makes a duplicated delivery (Zalo and Telegram retry) a no-op.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,            -- text | follow | unsupported | command
    text            TEXT NOT NULL DEFAULT '',
    received_at     TEXT NOT NULL,
    -- received → answered | failed | rate_limited | ignored
    status          TEXT NOT NULL DEFAULT 'received',
    error           TEXT,
    UNIQUE (channel, external_id)
);
CREATE INDEX messages_status ON messages (status);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- What the service answered. `public_id` is what clients send back with feedback (unguessable).
CREATE TABLE answers (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT NOT NULL UNIQUE,
    message_id      INTEGER NOT NULL REFERENCES messages (id),
    conversation_id TEXT NOT NULL,
    status          TEXT NOT NULL,            -- answered | declined | notice
    decline_reason  TEXT,
    text            TEXT NOT NULL,
    citations       TEXT NOT NULL DEFAULT '[]', -- JSON array of article ids and references
    confidence      REAL NOT NULL DEFAULT 0,
    needs_review    INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX answers_message ON answers (message_id);

-- Each part of each reply sent to a platform, with its outcome: a failure is recorded, not dropped.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages (id),
    answer_id   INTEGER REFERENCES answers (id),
    part        INTEGER NOT NULL,
    parts       INTEGER NOT NULL,
    status      TEXT NOT NULL,                -- sent | failed | outside_window
    attempts    INTEGER NOT NULL,
    error       TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX deliveries_message ON deliveries (message_id);

-- 👍 / 👎 / report / ask for a human, per answer.
CREATE TABLE feedback (
    id         INTEGER PRIMARY KEY,
    answer_id  INTEGER NOT NULL REFERENCES answers (id),
    channel    TEXT NOT NULL,
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down', 'report', 'human')),
    comment    TEXT,
    at         TEXT NOT NULL,
    UNIQUE (answer_id, rating)
);

-- End-of-conversation satisfaction, 1 (very unhappy) .. 5 (very happy).
CREATE TABLE satisfaction (
    id              INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    score           INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    at              TEXT NOT NULL
);

-- OAuth token pairs of channels (Zalo OA): the refresh token is single-use, so the new pair is
-- written in one transaction before it is used.
CREATE TABLE channel_tokens (
    channel       TEXT PRIMARY KEY,
    access_token  TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
