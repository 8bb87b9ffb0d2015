-- Migration 4: the plan's platform around the chatbot (Kế hoạch 137/KH-UBND): a person when the
-- bot is not enough (handoff, a directory of officers by commune, live takeover), online surveys,
-- support requests of small and medium enterprises, legal news, and the outbound queue that
-- carries what is not a reply to a message (staff replies, notices, survey invitations).
-- Times are RFC 3339 UTC text, booleans 0/1, as in the earlier migrations.

-- Who a citizen can be sent to, by commune (after the July 2025 reorganisation: communes, wards
-- and the special zone, no districts). Provincial desks have an empty commune_code.
CREATE TABLE directory_entries (
    id           INTEGER PRIMARY KEY,
    commune_code TEXT NOT NULL DEFAULT '',    -- the official code of the commune, '' for a provincial desk
    commune      TEXT NOT NULL,               -- "Phường Cẩm Thành", or "Cấp tỉnh"
    commune_key  TEXT NOT NULL,               -- the name folded (no diacritics, no "xã"/"phường"), for matching what citizens type
    role         TEXT NOT NULL,               -- hoa_giai_vien | tu_phap_xa | tro_giup_phap_ly | so_tu_phap
    name         TEXT NOT NULL,               -- a person or a desk
    phone        TEXT NOT NULL DEFAULT '',
    hours        TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    verified     INTEGER NOT NULL DEFAULT 0,  -- staff checked name, phone and hours
    updated_at   TEXT NOT NULL
);
CREATE INDEX directory_commune ON directory_entries (commune_key);

-- What a citizen told the service about themselves: only their commune, for the handoff and the
-- plan's "people reached per commune". Keyed like everything else by channel and conversation.
CREATE TABLE citizen_profiles (
    channel         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    commune         TEXT NOT NULL,
    commune_key     TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (channel, conversation_id)
);

-- The step a conversation is at in a flow (handoff, survey, SME request), so the next message is
-- read as its answer. Expires: an abandoned flow does not capture a later question.
CREATE TABLE conversation_flows (
    channel         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    flow            TEXT NOT NULL,            -- handoff_commune | survey_offer | survey | sme
    data            TEXT NOT NULL DEFAULT '{}',
    expires_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (channel, conversation_id)
);

-- A citizen asked for a person (or accepted the offer of one). While staff hold it (`taken`),
-- the bot stays silent in that conversation and staff reply through the outbox.
CREATE TABLE handoffs (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL,
    conversation_id   TEXT NOT NULL,
    chat_id           TEXT NOT NULL,
    reason            TEXT NOT NULL,          -- human_requested | dispute | legal_aid
    message_id        INTEGER REFERENCES messages (id),
    commune           TEXT,
    status            TEXT NOT NULL,          -- open | taken | resolved | returned
    requested_at      TEXT NOT NULL,
    taken_by          INTEGER REFERENCES staff (id),
    taken_at          TEXT,
    first_response_at TEXT,
    closed_by         INTEGER REFERENCES staff (id),
    closed_at         TEXT
);
CREATE INDEX handoffs_conversation ON handoffs (channel, conversation_id, status);
CREATE INDEX handoffs_requested ON handoffs (requested_at);

-- Messages sent on the service's own initiative, delivered by the outbox worker: durable (a
-- restart resumes), paced per platform, within each platform's window. `dedupe_key` makes
-- publishing a notice (one row per subscriber) or offering a survey idempotent.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    kind            TEXT NOT NULL,            -- staff_reply | news | survey_offer | sme_reply
    source_id       INTEGER,                  -- the handoff, notice, survey or request
    dedupe_key      TEXT UNIQUE,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued', -- queued | sent | failed | outside_window | waiting_window | expired | cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TEXT NOT NULL,
    claimed_until   TEXT,
    error           TEXT,
    staff_id        INTEGER REFERENCES staff (id),
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, not_before);
CREATE INDEX outbox_conversation ON outbox (conversation_id, status);
CREATE INDEX outbox_source ON outbox (kind, source_id);

-- Short surveys staff build: single choice, a 1–5 scale, short free text.
CREATE TABLE surveys (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    intro      TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,                 -- draft | open | closed
    created_by INTEGER REFERENCES staff (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE survey_questions (
    id        INTEGER PRIMARY KEY,
    survey_id INTEGER NOT NULL REFERENCES surveys (id),
    position  INTEGER NOT NULL,
    kind      TEXT NOT NULL,                  -- single_choice | scale | text
    prompt    TEXT NOT NULL,
    options   TEXT NOT NULL DEFAULT '[]',     -- JSON array of the choices of a single-choice question
    UNIQUE (survey_id, position)
);

-- One per citizen and survey: the unique key is "at most once per user per survey".
CREATE TABLE survey_responses (
    id              INTEGER PRIMARY KEY,
    survey_id       INTEGER NOT NULL REFERENCES surveys (id),
    channel         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    status          TEXT NOT NULL,            -- offered | declined | started | completed | abandoned
    offered_at      TEXT NOT NULL,
    started_at      TEXT,
    completed_at    TEXT,
    UNIQUE (survey_id, channel, conversation_id)
);

-- Free text answers are citizens' words: masked in the console and exports, erased after
-- staff.retention_days like message texts.
CREATE TABLE survey_answers (
    id          INTEGER PRIMARY KEY,
    response_id INTEGER NOT NULL REFERENCES survey_responses (id),
    question_id INTEGER NOT NULL REFERENCES survey_questions (id),
    choice      INTEGER,
    scale       INTEGER,
    text        TEXT,
    at          TEXT NOT NULL,
    UNIQUE (response_id, question_id)
);

-- Support requests of small and medium enterprises (Luật Hỗ trợ DNNVV 04/2017/QH14, Điều 14).
CREATE TABLE sme_requests (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL,
    conversation_id   TEXT NOT NULL,
    chat_id           TEXT NOT NULL,
    company           TEXT NOT NULL,
    tax_code          TEXT NOT NULL,
    question          TEXT NOT NULL,
    contact           TEXT NOT NULL,
    status            TEXT NOT NULL,          -- new | in_progress | answered | closed
    assigned_to       INTEGER REFERENCES staff (id),
    note              TEXT,
    created_at        TEXT NOT NULL,
    first_response_at TEXT,
    closed_at         TEXT
);
CREATE INDEX sme_requests_status ON sme_requests (status, created_at);

-- Citizens who asked for legal news, per channel and chat.
CREATE TABLE news_subscriptions (
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    active          INTEGER NOT NULL,
    subscribed_at   TEXT NOT NULL,
    unsubscribed_at TEXT,
    PRIMARY KEY (channel, chat_id)
);

CREATE TABLE news_items (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL,               -- draft | published
    created_by   INTEGER REFERENCES staff (id),
    created_at   TEXT NOT NULL,
    published_at TEXT,
    recipients   INTEGER NOT NULL DEFAULT 0
);

-- Question embeddings for the listening report, by the hash of the normalised question and the
-- model: computed once, read by every later report. Deleted after staff.retention_days.
CREATE TABLE question_vectors (
    text_hash  TEXT NOT NULL,
    model_id   TEXT NOT NULL,
    vector     TEXT NOT NULL,                 -- little-endian f32, hex
    created_at TEXT NOT NULL,
    PRIMARY KEY (text_hash, model_id)
);
