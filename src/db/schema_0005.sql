-- Migration 5: reviewed answers go through the durable delivery queue, and follow-ups remember
-- the question they followed.

-- A reviewed answer is stored with its delivery `pending`; a worker claims it for a lease (as it
-- claims a message) before sending, so it is sent once, and one whose worker died is taken over.
ALTER TABLE reviews ADD COLUMN claimed_until TEXT;
CREATE INDEX reviews_delivery_status ON reviews (delivery_status);

-- A follow-up's answer keeps the question it followed ("Nộp hồ sơ ở đâu?" after "Thủ tục đăng ký
-- kết hôn cần giấy tờ gì?"), and a curated answer approved for it keeps that context: it is given
-- only to the same follow-up of a question close to that one.
ALTER TABLE answers ADD COLUMN follows TEXT;
ALTER TABLE curated_answers ADD COLUMN context TEXT;
