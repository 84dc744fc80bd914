-- Rows as the update publisher and the admin panel get them (JSON text built in Postgres, so
-- the consumer forwards rows without decoding and re-encoding them).

-- UTC, microseconds, Z: identical in content to pentagon.common.jsonrow.row_to_dict.
-- STABLE like to_char (not IMMUTABLE): only then can the planner inline it into the row
-- builders, which made building the rows' JSON about a third cheaper.
CREATE OR REPLACE FUNCTION pentagon_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE OR REPLACE FUNCTION pentagon_message_json(m messages) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', m.id, 'conversation_id', m.conversation_id, 'sender_type', m.sender_type, 'content', m.content,
        'timestamp', pentagon_ts(m."timestamp"), 'confidence_score', m.confidence_score,
        'requires_human', m.requires_human, 'human_replied', m.human_replied, 'escalation_reason', m.escalation_reason,
        'metadata', m.metadata, 'kind', m.kind, 'channel', m.channel, 'actor', m.actor,
        'platform_message_id', m.platform_message_id, 'event_id', m.event_id, 'reply_to_event_id', m.reply_to_event_id,
        'delivery_status', m.delivery_status, 'delivery_error', m.delivery_error,
        'delivered_at', pentagon_ts(m.delivered_at), 'read_at', pentagon_ts(m.read_at), 'created_at', pentagon_ts(m.created_at))
$$;

CREATE OR REPLACE FUNCTION pentagon_conversation_json(c conversations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', c.id, 'user_id', c.user_id, 'platform', c.platform, 'status', c.status, 'priority', c.priority,
        'bot_paused', c.bot_paused, 'assigned_to', c.assigned_to, 'escalation_reason', c.escalation_reason,
        'created_at', pentagon_ts(c.created_at), 'updated_at', pentagon_ts(c.updated_at),
        'last_message_at', pentagon_ts(c.last_message_at), 'closed_at', pentagon_ts(c.closed_at),
        'message_count', c.message_count, 'user_message_count', c.user_message_count,
        'bot_message_count', c.bot_message_count, 'human_message_count', c.human_message_count,
        'pending_human_count', c.pending_human_count, 'waiting_since', pentagon_ts(c.waiting_since),
        'labels', c.labels, 'metadata', c.metadata)
$$;

-- A changed message as the update publisher needs it: where to publish, and the row as JSON text.
CREATE OR REPLACE FUNCTION pentagon_message_out(m messages, c conversations, cause text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', m.id, 'conversation_id', m.conversation_id, 'platform', c.platform,
                             'user_id', c.user_id, 'status', c.status, 'cause', cause,
                             'row_json', pentagon_message_json(m)::text)
$$;

CREATE OR REPLACE FUNCTION pentagon_conversation_out(c conversations, mode_changed boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', c.id, 'platform', c.platform, 'user_id', c.user_id, 'status', c.status,
                             'updated_at', pentagon_ts(c.updated_at), 'row_json', pentagon_conversation_json(c)::text,
                             'mode_changed', mode_changed, 'mode_version', c.mode_version)
$$;

-- The delivery changes of the batch for the admin panel, found through the batch's ids.
-- plpgsql, not sql: it reads a session temp table that does not exist when this file is applied.
CREATE OR REPLACE FUNCTION pentagon_deliveries_out() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id), '[]'::json)
              FROM pentagon_in_dlv_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = ANY (ARRAY(SELECT message_id FROM pentagon_in_dlv_changed)));
END
$$;
