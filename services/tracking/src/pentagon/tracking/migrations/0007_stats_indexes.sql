-- Indexes for admin-api's /admin/stats/detailed (docs/services/admin-api.md), measured by
-- bench/admin_bench.py on 100k conversations / 1M messages: the handoff rate of a window
-- without reading every conversation (5-7 ms -> ~1 ms), and the first-human-response
-- median from the ~1 % of messages that asked for a human (4.4 -> 1.3 ms). Both are cheap
-- to maintain: one entry per new conversation, one per flagged message.
-- On a large existing database this migration blocks writes while the indexes build;
-- build them first with CREATE INDEX CONCURRENTLY (same names) to avoid that.

CREATE INDEX IF NOT EXISTS conversations_by_created ON conversations (created_at);
CREATE INDEX IF NOT EXISTS messages_requiring_human_by_time ON messages ("timestamp") WHERE requires_human;
