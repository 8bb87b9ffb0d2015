-- Migration 3: several service replicas on one database.

-- A worker claims a message before answering it, for a lease: another replica (or a restart)
-- takes it over only once the lease has run out, so a message is answered once even when every
-- replica queues it.
ALTER TABLE messages ADD COLUMN claimed_until TEXT;
CREATE INDEX messages_conversation_received ON messages (conversation_id, received_at);

-- Only one replica refreshes a channel's single-use refresh token at a time.
ALTER TABLE channel_tokens ADD COLUMN refreshing_until TEXT;
