-- How long a customer has been waiting for a person: the time of the oldest message that
-- asked for one and has no staff reply yet (NULL when none is pending). Kept by the same
-- statements that keep pending_human_count (functions/), read through the index
-- messages_pending_human, so the panel can show "waiting 12 min" without a query per row.

ALTER TABLE conversations ADD COLUMN IF NOT EXISTS waiting_since timestamptz;

UPDATE conversations c
   SET waiting_since = (SELECT min(p."timestamp") FROM messages p
                         WHERE p.conversation_id = c.id AND p.requires_human AND NOT p.human_replied)
 WHERE c.pending_human_count > 0;
