-- The totals of GET /admin/stats (conversations, open ones, messages, messages and conversations
-- waiting for a person) without a pass over every conversation: 25 ms on 100,000 conversations,
-- over the 20 ms every admin query must stay under, and growing with the table.
--
-- Every statement that inserts, updates or deletes conversations appends one row holding what it
-- changed (statement triggers with transition tables: one row per statement, not per conversation,
-- in the statement's own transaction, so the totals are exactly as committed). Rows are only ever
-- appended, so concurrent batches never wait for each other here; the sum over the table is the
-- total. Tracking's sweep folds the rows into one every few seconds
-- (pentagon_fold_conversation_counts in ../functions/90_maintenance.sql).

CREATE TABLE conversation_counts (
    id            bigserial PRIMARY KEY,
    conversations bigint NOT NULL DEFAULT 0,
    open          bigint NOT NULL DEFAULT 0,  -- status <> 'closed'
    messages      bigint NOT NULL DEFAULT 0,  -- sum of message_count
    pending_human bigint NOT NULL DEFAULT 0,  -- sum of pending_human_count
    needs_human   bigint NOT NULL DEFAULT 0   -- open, with pending_human_count > 0
);

-- Here because the triggers need it; its current code is in ../functions/90_maintenance.sql.
CREATE FUNCTION pentagon_count_conversations() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM conversation_counts;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO conversation_counts (conversations, open, messages, pending_human, needs_human)
        SELECT count(*), count(*) FILTER (WHERE status <> 'closed'), coalesce(sum(message_count), 0),
               coalesce(sum(pending_human_count), 0),
               count(*) FILTER (WHERE status <> 'closed' AND pending_human_count > 0)
          FROM pentagon_new_conversations HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO conversation_counts (conversations, open, messages, pending_human, needs_human)
        SELECT -count(*), -count(*) FILTER (WHERE status <> 'closed'), -coalesce(sum(message_count), 0),
               -coalesce(sum(pending_human_count), 0),
               -count(*) FILTER (WHERE status <> 'closed' AND pending_human_count > 0)
          FROM pentagon_old_conversations HAVING count(*) > 0;
    ELSE
        INSERT INTO conversation_counts (open, messages, pending_human, needs_human)
        SELECT d.open, d.messages, d.pending_human, d.needs_human
          FROM (SELECT sum(s * (status <> 'closed')::int) AS open, sum(s * message_count) AS messages,
                       sum(s * pending_human_count) AS pending_human,
                       sum(s * (status <> 'closed' AND pending_human_count > 0)::int) AS needs_human
                  FROM (SELECT 1 AS s, status, message_count, pending_human_count FROM pentagon_new_conversations
                        UNION ALL
                        SELECT -1, status, message_count, pending_human_count FROM pentagon_old_conversations) r) d
         WHERE (d.open, d.messages, d.pending_human, d.needs_human) <> (0, 0, 0, 0);
    END IF;
    RETURN NULL;
END
$$;

-- No conversation changes between the count below and the triggers' start.
LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO conversation_counts (conversations, open, messages, pending_human, needs_human)
SELECT count(*), count(*) FILTER (WHERE status <> 'closed'), coalesce(sum(message_count), 0),
       coalesce(sum(pending_human_count), 0), count(*) FILTER (WHERE status <> 'closed' AND pending_human_count > 0)
  FROM conversations;

CREATE TRIGGER conversations_count_insert AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS pentagon_new_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION pentagon_count_conversations();
CREATE TRIGGER conversations_count_update AFTER UPDATE ON conversations
    REFERENCING OLD TABLE AS pentagon_old_conversations NEW TABLE AS pentagon_new_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION pentagon_count_conversations();
CREATE TRIGGER conversations_count_delete AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS pentagon_old_conversations
    FOR EACH STATEMENT EXECUTE FUNCTION pentagon_count_conversations();
CREATE TRIGGER conversations_count_truncate AFTER TRUNCATE ON conversations
    FOR EACH STATEMENT EXECUTE FUNCTION pentagon_count_conversations();

-- The other half of GET /admin/stats: since when the customer who has waited longest for a person
-- has waited (the panel's badge). One probe of this index instead of a visit to every conversation
-- waiting for a person (20,000 of 100,000 in bench/admin_bench.py).
CREATE INDEX conversations_waiting ON conversations (waiting_since) WHERE pending_human_count > 0 AND status <> 'closed';
