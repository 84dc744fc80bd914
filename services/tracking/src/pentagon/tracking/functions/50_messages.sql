-- Steps 3 and 4: insert the new messages, then the needs-human flags they set or clear.

CREATE OR REPLACE FUNCTION pentagon_insert_messages() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH ins AS (
        INSERT INTO messages (conversation_id, sender_type, content, "timestamp", confidence_score,
                              requires_human, escalation_reason, metadata, kind, channel, actor,
                              platform_message_id, event_id, reply_to_event_id)
        -- An escalating bot reply flags the user message it answers, not itself (one flag per escalation).
        SELECT conv_id, sender, content, ts, confidence,
               requires_human AND NOT (sender = 'bot' AND coalesce(reply_known, false)),
               esc_reason, metadata, kind, channel, actor, pmid, event_id, reply_to
          FROM pentagon_in_msg WHERE dup_id IS NULL ORDER BY seq
        ON CONFLICT DO NOTHING
        RETURNING id, event_id
    )
    UPDATE pentagon_in_msg i SET new_id = ins.id FROM ins WHERE i.event_id = ins.event_id;

    -- Lost a race with another replica inserting the same event: point at its row.
    UPDATE pentagon_in_msg i SET dup_id = m.id FROM messages m
     WHERE i.dup_id IS NULL AND i.new_id IS NULL AND m.event_id = i.event_id;
    UPDATE pentagon_in_msg i SET dup_id = m.id FROM messages m
     WHERE i.dup_id IS NULL AND i.new_id IS NULL AND i.pmid IS NOT NULL AND m.platform_message_id = i.pmid;
END
$$;

-- Escalation flags and human replies, honouring stream order inside the batch: a flag is
-- answered only by a human message that comes after it. No nested loops (SET clause), every
-- large-table access names its rows: flagging once read the whole messages table.
CREATE OR REPLACE FUNCTION pentagon_apply_flags() RETURNS void
LANGUAGE plpgsql SET enable_nestloop = off AS $$
BEGIN
    -- Most batches have neither: one probe instead of four statements.
    IF NOT EXISTS (SELECT 1 FROM pentagon_in_msg WHERE new_id IS NOT NULL
                      AND (sender = 'human' OR (sender = 'bot' AND requires_human AND reply_known))) THEN
        RETURN;
    END IF;
    INSERT INTO pentagon_in_human
    SELECT conv_id, max(seq), (array_agg(event_id ORDER BY seq DESC))[1]
      FROM pentagon_in_msg WHERE new_id IS NOT NULL AND sender = 'human' GROUP BY conv_id;

    INSERT INTO pentagon_in_flag (message_id, conv_id, flag_seq, reason, cause, human_replied)
    SELECT DISTINCT ON (m.id) m.id, m.conversation_id, b.seq, b.esc_reason, b.event_id,
           coalesce(h.last_seq > b.seq, false)
      FROM pentagon_in_msg b
      JOIN messages m ON m.event_id = b.reply_to
       AND m.event_id = ANY (ARRAY(SELECT reply_to FROM pentagon_in_msg
                                    WHERE new_id IS NOT NULL AND sender = 'bot' AND requires_human AND reply_known))
      LEFT JOIN pentagon_in_human h ON h.conv_id = m.conversation_id
     WHERE b.new_id IS NOT NULL AND b.sender = 'bot' AND b.requires_human AND b.reply_known
       AND NOT m.requires_human
     ORDER BY m.id, b.seq;

    WITH upd AS (
        UPDATE messages m SET requires_human = true, human_replied = f.human_replied,
                              escalation_reason = coalesce(f.reason, m.escalation_reason)
          FROM pentagon_in_flag f
         WHERE m.id = f.message_id AND m.id = ANY (ARRAY(SELECT message_id FROM pentagon_in_flag))
        RETURNING m.id, m.conversation_id, f.cause
    )
    INSERT INTO pentagon_in_changed SELECT id, conversation_id, cause FROM upd;

    WITH upd AS (
        UPDATE messages m SET human_replied = true
          FROM pentagon_in_human h
         WHERE m.conversation_id = h.conv_id AND m.requires_human AND NOT m.human_replied
           AND m.conversation_id = ANY (ARRAY(SELECT conv_id FROM pentagon_in_human))
           AND NOT EXISTS (SELECT 1 FROM pentagon_in_flag f WHERE f.message_id = m.id)
           AND NOT EXISTS (SELECT 1 FROM pentagon_in_msg x WHERE x.new_id = m.id AND x.seq > h.last_seq)
        RETURNING m.id, m.conversation_id, h.cause
    )
    INSERT INTO pentagon_in_changed SELECT id, conversation_id, cause FROM upd;
END
$$;
