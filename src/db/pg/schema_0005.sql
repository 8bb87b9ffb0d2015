-- Migration 5 for PostgreSQL: the durable delivery of reviewed answers, and the question a
-- follow-up followed, as ../schema_0005.sql.

ALTER TABLE reviews ADD COLUMN claimed_until TEXT;
CREATE INDEX reviews_delivery_status ON reviews (delivery_status);

ALTER TABLE answers ADD COLUMN follows TEXT;
ALTER TABLE curated_answers ADD COLUMN context TEXT;
