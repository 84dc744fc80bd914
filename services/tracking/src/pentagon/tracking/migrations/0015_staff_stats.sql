-- The team's statistics (admin-api GET /admin/stats/staff): staff replies in a period, by who
-- wrote them and where. Partial: staff write a few messages among the customers' and the bot's,
-- so the report reads only theirs (from the index alone: actor and conversation are in it), and
-- no other message's write touches it.

CREATE INDEX IF NOT EXISTS messages_staff_by_time ON messages ("timestamp") INCLUDE (actor, conversation_id)
 WHERE sender_type = 'human';
