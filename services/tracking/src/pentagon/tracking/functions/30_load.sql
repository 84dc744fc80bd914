-- Step 1 of a batch: load its events into the scratch tables, recognising duplicates.

-- The batch's events into the scratch tables; duplicates (same event id or platform message
-- id, already stored or twice in the batch) are recognised here.
CREATE OR REPLACE FUNCTION pentagon_load(p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pentagon_in_msg (seq, event_id, platform, user_id, sender, content, ts, pmid, confidence,
                                 requires_human, esc_reason, metadata, conv_meta, kind, channel, reply_to, actor,
                                 dup_id, reply_conv)
    SELECT e.*, coalesce(d1.id, d2.id),
           CASE WHEN e.sender <> 'user' THEN r.conversation_id  -- replies join the conversation they answer
                -- A customer's rating joins the (closed) conversation of the question it answers, if that
                -- question went to this very customer: a forged payload rates nobody else's conversation.
                WHEN e.kind = 'rating' THEN (SELECT c.id FROM conversations c WHERE c.id = r.conversation_id
                                              AND c.platform = e.platform AND c.user_id = e.user_id) END
      FROM (SELECT DISTINCT ON (e.event_id)
                   e.seq, e.event_id, e.platform, e.user_id, e.sender, coalesce(e.content, '') AS content, e.ts,
                   nullif(e.pmid, '') AS pmid, e.confidence, coalesce(e.requires_human, false) AS requires_human,
                   nullif(e.esc_reason, '') AS esc_reason, coalesce(e.metadata, '{}'::jsonb) AS metadata, e.conv_meta,
                   coalesce(nullif(e.kind, ''), 'text') AS kind, coalesce(nullif(e.channel, ''), 'messaging') AS channel,
                   nullif(e.reply_to, '') AS reply_to, nullif(e.actor, '') AS actor
              FROM jsonb_to_recordset(p_events) AS e(
                   t text, seq bigint, event_id text, platform text, user_id text, sender text, content text,
                   ts timestamptz, pmid text, confidence double precision, requires_human boolean, esc_reason text,
                   metadata jsonb, conv_meta jsonb, kind text, channel text, reply_to text, actor text)
             WHERE e.t = 'm'
             ORDER BY e.event_id, e.seq) e
      LEFT JOIN messages d1 ON d1.event_id = e.event_id
      LEFT JOIN messages d2 ON d2.platform_message_id = e.pmid
      LEFT JOIN messages r ON r.event_id = e.reply_to;

    -- The same platform message id twice in one batch: the first in stream order wins.
    IF EXISTS (SELECT pmid FROM pentagon_in_msg WHERE pmid IS NOT NULL GROUP BY pmid HAVING count(*) > 1) THEN
        DELETE FROM pentagon_in_msg a USING pentagon_in_msg b WHERE a.pmid = b.pmid AND b.seq < a.seq;
    END IF;
    UPDATE pentagon_in_msg SET reply_conv = NULL WHERE dup_id IS NOT NULL AND reply_conv IS NOT NULL;
    -- The thank-you for a rating in the same batch as the rating goes where the rating goes, not to
    -- the customer's open conversation (the bot's other replies join the open one like their message).
    IF EXISTS (SELECT 1 FROM pentagon_in_msg WHERE kind = 'rating' AND reply_conv IS NOT NULL) THEN
        UPDATE pentagon_in_msg b SET reply_conv = u.reply_conv FROM pentagon_in_msg u
         WHERE u.kind = 'rating' AND u.reply_conv IS NOT NULL AND b.reply_to = u.event_id
           AND b.reply_conv IS NULL AND b.dup_id IS NULL;
    END IF;
    -- Uncorrelated: one hashed pass over the batch, not one scan of it per reply.
    UPDATE pentagon_in_msg i SET reply_known = i.reply_conv IS NOT NULL
        OR i.reply_to IN (SELECT event_id FROM pentagon_in_msg WHERE event_id IS NOT NULL)
     WHERE i.dup_id IS NULL AND i.reply_to IS NOT NULL AND i.sender = 'bot' AND i.requires_human;

    IF NOT p_events @? '$[*] ? (@.t == "c")' THEN
        RETURN;
    END IF;
    PERFORM pentagon_load_escalations(p_events);
END
$$;

-- Escalation events (ConversationEvent), each applied once: processed_events remembers them.
-- No nested loops (SET clause): joining the events with those newly recorded was one pass over
-- the batch per event.
CREATE OR REPLACE FUNCTION pentagon_load_escalations(p_events jsonb) RETURNS void
LANGUAGE plpgsql SET enable_nestloop = off AS $$
BEGIN
    -- Conversation events are not rows of their own: processed_events makes a replay a no-op.
    WITH e AS (
        SELECT e.seq, e.event_id, e.platform, e.user_id, nullif(e.reason, '') AS reason
        FROM jsonb_to_recordset(p_events) AS e(t text, seq bigint, event_id text, platform text,
                                                user_id text, action text, reason text)
        WHERE e.t = 'c' AND e.action = 'escalate'
    ), fresh AS (
        INSERT INTO processed_events (event_id) SELECT DISTINCT event_id FROM e
        ON CONFLICT DO NOTHING RETURNING event_id
    )
    INSERT INTO pentagon_in_esc SELECT e.seq, e.event_id, e.platform, e.user_id, e.reason
    FROM e JOIN fresh USING (event_id);
END
$$;
