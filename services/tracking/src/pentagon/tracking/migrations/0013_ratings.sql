-- Customer ratings (admin-api GET /admin/stats/detailed "ratings"): conversations whose metadata
-- holds {"rating": {"score", "rated_at"}}, merged by tracking from the customer's answer to the
-- question staff's close sent (pentagon.common.rating). Partial: only rated conversations, by the
-- time of their last message (the rating, or its thank-you), which bounds when they were rated.

CREATE INDEX IF NOT EXISTS conversations_rated ON conversations (last_message_at) WHERE metadata ? 'rating';
