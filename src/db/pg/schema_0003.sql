-- Migration 3 for PostgreSQL: several service replicas on one database, as ../schema_0003.sql.

ALTER TABLE messages ADD COLUMN claimed_until TEXT;
CREATE INDEX messages_conversation_received ON messages (conversation_id, received_at);

ALTER TABLE channel_tokens ADD COLUMN refreshing_until TEXT;
