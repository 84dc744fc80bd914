-- The questions the bot could not answer (admin-api GET /admin/stats/unanswered): customers'
-- messages handed to a person because no knowledge covered them. Partial: a few rows among many,
-- so the report reads only those, and other messages' writes never touch it.

CREATE INDEX IF NOT EXISTS messages_unanswered ON messages ("timestamp")
 WHERE sender_type = 'user' AND escalation_reason = 'low_confidence';
