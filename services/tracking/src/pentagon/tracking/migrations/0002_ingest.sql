-- The batch write: one function, called by asyncpg (`select pentagon_ingest($1)`) and
-- by the Supabase client (`rpc('pentagon_ingest', {"events": [...]})`), so the rules
-- of docs/architecture.md "Conversation lifecycle" live in one place.
--
-- Input: a JSON array of normalised events (built by pentagon.tracking.decode), each
-- with "seq" (JetStream stream sequence) and "t": 'm' message, 'd' delivery,
-- 'c' conversation event. Output: {"parts": [...]} describing what changed, in order,
-- so the consumer can publish UpdateEvents after the commit.

CREATE AGGREGATE pentagon_jsonb_merge(jsonb) (sfunc = jsonb_concat, stype = jsonb, initcond = '{}');

CREATE FUNCTION pentagon_delivery_rank(state text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE state WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE 0 END
$$;

-- Session-local scratch tables, created once per connection and emptied at every commit.
CREATE FUNCTION pentagon_scratch() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.pentagon_in_msg') IS NULL THEN
        CREATE TEMP TABLE pentagon_in_msg (
            seq bigint, event_id text, platform text, user_id text, sender text, content text,
            ts timestamptz, pmid text, confidence double precision, requires_human boolean,
            esc_reason text, metadata jsonb, conv_meta jsonb, kind text, channel text,
            reply_to text, actor text,
            dup_id bigint, reply_conv bigint, reply_known boolean, conv_id bigint, new_id bigint
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_esc (
            seq bigint, event_id text, platform text, user_id text, reason text
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_key (platform text, user_id text) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_conv (
            id bigint PRIMARY KEY, platform text, user_id text, status_before text, created boolean
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_flag (
            message_id bigint, conv_id bigint, flag_seq bigint, reason text, cause text, human_replied boolean
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_human (conv_id bigint, last_seq bigint, cause text) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_changed (message_id bigint, conv_id bigint, cause text) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_touch (conv_id bigint, changed boolean) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_dlv (
            message_id bigint, state text, pmid text, reason text, ts timestamptz, seq bigint, cause text
        ) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_dlv_changed (message_id bigint, cause text) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE pentagon_in_dev (
            seq bigint, event_id text, platform text, user_id text, state text, msg_event_id text,
            pmid text, pmids text[], watermark timestamptz, reason text, ts timestamptz
        ) ON COMMIT DELETE ROWS;
    ELSE
        -- Several segments in one transaction (a user deletion in the middle of a batch).
        DELETE FROM pentagon_in_msg; DELETE FROM pentagon_in_esc; DELETE FROM pentagon_in_key;
        DELETE FROM pentagon_in_conv; DELETE FROM pentagon_in_flag; DELETE FROM pentagon_in_human;
        DELETE FROM pentagon_in_changed; DELETE FROM pentagon_in_touch; DELETE FROM pentagon_in_dlv;
        DELETE FROM pentagon_in_dlv_changed; DELETE FROM pentagon_in_dev;
    END IF;
END
$$;

-- Rows as JSON text identical in content to pentagon.common.jsonrow.row_to_dict (UTC, microseconds, Z),
-- built here so the consumer forwards them without decoding and re-encoding every row.
CREATE FUNCTION pentagon_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION pentagon_message_json(m messages) RETURNS json
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

CREATE FUNCTION pentagon_conversation_json(c conversations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', c.id, 'user_id', c.user_id, 'platform', c.platform, 'status', c.status, 'priority', c.priority,
        'bot_paused', c.bot_paused, 'assigned_to', c.assigned_to, 'escalation_reason', c.escalation_reason,
        'created_at', pentagon_ts(c.created_at), 'updated_at', pentagon_ts(c.updated_at),
        'last_message_at', pentagon_ts(c.last_message_at), 'closed_at', pentagon_ts(c.closed_at),
        'message_count', c.message_count, 'user_message_count', c.user_message_count,
        'bot_message_count', c.bot_message_count, 'human_message_count', c.human_message_count,
        'pending_human_count', c.pending_human_count, 'metadata', c.metadata)
$$;

-- A changed message as the update publisher needs it: where to publish, and the row as JSON text.
CREATE FUNCTION pentagon_message_out(m messages, c conversations, cause text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', m.id, 'conversation_id', m.conversation_id, 'platform', c.platform,
                             'user_id', c.user_id, 'status', c.status, 'cause', cause,
                             'row_json', pentagon_message_json(m)::text)
$$;

-- Load the segment's events into the scratch tables; duplicates are recognised here.
CREATE FUNCTION pentagon_load(p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pentagon_in_msg (seq, event_id, platform, user_id, sender, content, ts, pmid, confidence,
                                 requires_human, esc_reason, metadata, conv_meta, kind, channel, reply_to, actor,
                                 dup_id, reply_conv)
    SELECT e.*, coalesce(d1.id, d2.id),
           CASE WHEN e.sender <> 'user' THEN r.conversation_id END  -- replies join the conversation they answer
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
    UPDATE pentagon_in_msg i SET reply_known = i.reply_conv IS NOT NULL OR EXISTS (
        SELECT 1 FROM pentagon_in_msg x WHERE x.event_id = i.reply_to)
     WHERE i.dup_id IS NULL AND i.reply_to IS NOT NULL AND i.sender = 'bot' AND i.requires_human;

    IF NOT p_events @? '$[*] ? (@.t == "c")' THEN
        RETURN;
    END IF;
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

-- Get or create the open conversation of every user that needs one, and lock every
-- conversation this segment changes, in id order (replicas serialise per conversation).
CREATE FUNCTION pentagon_lock_conversations() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_missing int;
    v_try int := 0;
BEGIN
    INSERT INTO pentagon_in_key
    SELECT DISTINCT platform, user_id FROM (
        SELECT platform, user_id FROM pentagon_in_msg WHERE dup_id IS NULL AND reply_conv IS NULL
        UNION ALL SELECT platform, user_id FROM pentagon_in_esc) k;

    LOOP
        v_try := v_try + 1;
        WITH created AS (
            INSERT INTO conversations (platform, user_id)
            SELECT k.platform, k.user_id FROM pentagon_in_key k
             WHERE NOT EXISTS (SELECT 1 FROM pentagon_in_conv c
                                WHERE c.platform = k.platform AND c.user_id = k.user_id
                                  AND c.status_before IS DISTINCT FROM 'closed')
             ORDER BY k.platform, k.user_id
            ON CONFLICT (platform, user_id) WHERE status <> 'closed' DO NOTHING
            RETURNING id, platform, user_id
        )
        INSERT INTO pentagon_in_conv SELECT id, platform, user_id, NULL, true FROM created;

        WITH locked AS (
            SELECT c.id, c.platform, c.user_id, c.status FROM conversations c
             WHERE c.id IN (SELECT reply_conv FROM pentagon_in_msg WHERE reply_conv IS NOT NULL)
                OR (c.status <> 'closed' AND (c.platform, c.user_id) IN (SELECT platform, user_id FROM pentagon_in_key))
             ORDER BY c.id
             FOR UPDATE
        )
        INSERT INTO pentagon_in_conv SELECT id, platform, user_id, status, false FROM locked
        ON CONFLICT (id) DO UPDATE SET status_before = CASE WHEN pentagon_in_conv.created
                                                            THEN NULL ELSE excluded.status_before END;

        SELECT count(*) INTO v_missing FROM pentagon_in_key k
         WHERE NOT EXISTS (SELECT 1 FROM pentagon_in_conv c
                            WHERE c.platform = k.platform AND c.user_id = k.user_id
                              AND c.status_before IS DISTINCT FROM 'closed');
        EXIT WHEN v_missing = 0;
        -- A conversation we saw open was closed by a concurrent command: try again.
        IF v_try >= 20 THEN
            RAISE EXCEPTION 'could not get an open conversation' USING ERRCODE = '40001';
        END IF;
        DELETE FROM pentagon_in_conv WHERE status_before = 'closed' AND NOT created
           AND id NOT IN (SELECT reply_conv FROM pentagon_in_msg WHERE reply_conv IS NOT NULL);
    END LOOP;

    UPDATE pentagon_in_msg i SET conv_id = i.reply_conv WHERE i.dup_id IS NULL AND i.reply_conv IS NOT NULL;
    UPDATE pentagon_in_msg i SET conv_id = c.id FROM pentagon_in_conv c
     WHERE i.dup_id IS NULL AND i.reply_conv IS NULL AND c.platform = i.platform AND c.user_id = i.user_id
       AND c.status_before IS DISTINCT FROM 'closed';
END
$$;

CREATE FUNCTION pentagon_insert_messages() RETURNS void
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

-- Escalation flags and human replies, honouring stream order inside the batch:
-- a flag is answered only by a human message that comes after it.
CREATE FUNCTION pentagon_apply_flags() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pentagon_in_flag (message_id, conv_id, flag_seq, reason, cause)
    SELECT DISTINCT ON (m.id) m.id, m.conversation_id, b.seq, b.esc_reason, b.event_id
      FROM pentagon_in_msg b JOIN messages m ON m.event_id = b.reply_to
     WHERE b.new_id IS NOT NULL AND b.sender = 'bot' AND b.requires_human AND b.reply_known
       AND NOT m.requires_human
     ORDER BY m.id, b.seq;

    INSERT INTO pentagon_in_human
    SELECT conv_id, max(seq), (array_agg(event_id ORDER BY seq DESC))[1]
      FROM pentagon_in_msg WHERE new_id IS NOT NULL AND sender = 'human' GROUP BY conv_id;

    UPDATE pentagon_in_flag f SET human_replied = EXISTS (
        SELECT 1 FROM pentagon_in_human h WHERE h.conv_id = f.conv_id AND h.last_seq > f.flag_seq);

    WITH upd AS (
        UPDATE messages m SET requires_human = true, human_replied = f.human_replied,
                              escalation_reason = coalesce(f.reason, m.escalation_reason)
          FROM pentagon_in_flag f WHERE m.id = f.message_id
        RETURNING m.id, m.conversation_id, f.cause
    )
    INSERT INTO pentagon_in_changed SELECT id, conversation_id, cause FROM upd;

    WITH upd AS (
        UPDATE messages m SET human_replied = true
          FROM pentagon_in_human h
         WHERE m.conversation_id = h.conv_id AND m.requires_human AND NOT m.human_replied
           AND NOT EXISTS (SELECT 1 FROM pentagon_in_flag f WHERE f.message_id = m.id)
           AND NOT EXISTS (SELECT 1 FROM pentagon_in_msg x WHERE x.new_id = m.id AND x.seq > h.last_seq)
        RETURNING m.id, m.conversation_id, h.cause
    )
    INSERT INTO pentagon_in_changed SELECT id, conversation_id, cause FROM upd;
END
$$;

-- Counters, recency, metadata and status of every conversation the segment changed.
CREATE FUNCTION pentagon_update_conversations() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pentagon_in_touch
    SELECT conv_id, bool_or(changed) FROM (
        SELECT conv_id, true AS changed FROM pentagon_in_msg WHERE new_id IS NOT NULL
        UNION ALL SELECT conv_id, true FROM pentagon_in_changed
        UNION ALL SELECT c.id, true FROM pentagon_in_conv c WHERE c.created
        UNION ALL SELECT c.id, true FROM pentagon_in_esc e JOIN pentagon_in_conv c
                   ON c.platform = e.platform AND c.user_id = e.user_id AND c.status_before IS DISTINCT FROM 'closed'
        UNION ALL SELECT m.conversation_id, false FROM pentagon_in_msg i JOIN messages m ON m.id = i.dup_id
    ) t GROUP BY conv_id;

    WITH a AS (
        SELECT conv_id,
               count(*) AS n,
               count(*) FILTER (WHERE sender = 'user') AS n_user,
               count(*) FILTER (WHERE sender = 'bot') AS n_bot,
               count(*) FILTER (WHERE sender = 'human') AS n_human,
               max(ts) AS last_ts,
               bool_or(sender = 'human') AS has_human,
               bool_or(sender = 'bot' AND requires_human) AS escalated,
               (array_agg(esc_reason ORDER BY seq DESC)
                    FILTER (WHERE sender = 'bot' AND requires_human AND esc_reason IS NOT NULL))[1] AS reason,
               pentagon_jsonb_merge(conv_meta ORDER BY seq) FILTER (WHERE jsonb_typeof(conv_meta) = 'object') AS meta
          FROM pentagon_in_msg WHERE new_id IS NOT NULL GROUP BY conv_id
    ), e AS (
        SELECT c.id AS conv_id, (array_agg(e.reason ORDER BY e.seq DESC) FILTER (WHERE e.reason IS NOT NULL))[1] AS reason
          FROM pentagon_in_esc e JOIN pentagon_in_conv c
            ON c.platform = e.platform AND c.user_id = e.user_id AND c.status_before IS DISTINCT FROM 'closed'
         GROUP BY c.id
    ), t AS (
        SELECT t.conv_id, a.n, a.n_user, a.n_bot, a.n_human, a.last_ts, a.meta,
               coalesce(a.has_human, false) AS has_human,
               coalesce(a.escalated, false) OR e.conv_id IS NOT NULL AS escalated,
               coalesce(a.reason, e.reason) AS reason
          FROM pentagon_in_touch t LEFT JOIN a USING (conv_id) LEFT JOIN e USING (conv_id)
         WHERE t.changed
    )
    UPDATE conversations c SET
        message_count       = c.message_count + coalesce(t.n, 0),
        user_message_count  = c.user_message_count + coalesce(t.n_user, 0),
        bot_message_count   = c.bot_message_count + coalesce(t.n_bot, 0),
        human_message_count = c.human_message_count + coalesce(t.n_human, 0),
        last_message_at     = greatest(c.last_message_at, t.last_ts),
        metadata            = c.metadata || coalesce(t.meta, '{}'::jsonb),
        status              = CASE WHEN c.status = 'active' AND (t.has_human OR t.escalated) THEN 'human' ELSE c.status END,
        bot_paused          = CASE WHEN c.status <> 'closed' AND (t.has_human OR t.escalated) THEN true ELSE c.bot_paused END,
        escalation_reason   = CASE WHEN t.escalated THEN coalesce(t.reason, c.escalation_reason) ELSE c.escalation_reason END,
        pending_human_count = (SELECT count(*) FROM messages p
                                WHERE p.conversation_id = c.id AND p.requires_human AND NOT p.human_replied),
        updated_at          = now()
      FROM t WHERE c.id = t.conv_id;
END
$$;

-- Delivery receipts: SENT/FAILED by our event id, DELIVERED by mids or watermark, READ by
-- watermark. State only moves forward (sent < failed < delivered < read): never read -> delivered.
CREATE FUNCTION pentagon_apply_deliveries(p_events jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_deferred jsonb;
BEGIN
    IF NOT p_events @? '$[*] ? (@.t == "d")' THEN
        RETURN '[]'::jsonb;
    END IF;
    INSERT INTO pentagon_in_dev
    SELECT e.seq, e.event_id, e.platform, e.user_id, e.state, nullif(e.msg_event_id, ''), nullif(e.pmid, ''),
           e.pmids, e.watermark, nullif(e.reason, ''), e.ts
      FROM jsonb_to_recordset(p_events) AS e(t text, seq bigint, event_id text, platform text, user_id text,
           state text, msg_event_id text, pmid text, pmids text[], watermark timestamptz, reason text, ts timestamptz)
     WHERE e.t = 'd';

    IF NOT FOUND THEN
        RETURN '[]'::jsonb;
    END IF;

    INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause)
    SELECT m.id, d.state, CASE WHEN d.state = 'sent' THEN d.pmid END, d.reason, d.ts, d.seq, d.event_id
      FROM pentagon_in_dev d JOIN messages m ON m.event_id = d.msg_event_id
     WHERE d.state IN ('sent', 'failed')
    UNION ALL
    SELECT m.id, d.state, NULL, NULL, d.ts, d.seq, d.event_id
      FROM pentagon_in_dev d JOIN messages m ON m.platform_message_id = ANY (d.pmids)
     WHERE d.state = 'delivered' AND d.pmids IS NOT NULL
    UNION ALL
    SELECT m.id, d.state, NULL, NULL, d.ts, d.seq, d.event_id
      FROM pentagon_in_dev d
      JOIN conversations c ON c.platform = d.platform AND c.user_id = d.user_id
      JOIN messages m ON m.conversation_id = c.id
     WHERE d.state IN ('delivered', 'read') AND d.watermark IS NOT NULL
       AND m.sender_type IN ('bot', 'human') AND m."timestamp" <= d.watermark
       AND m.delivery_status IS DISTINCT FROM 'failed'
       AND pentagon_delivery_rank(m.delivery_status) < pentagon_delivery_rank(d.state);

    -- SENT/FAILED for a message not stored yet (its event is in another replica's batch):
    -- handed back to the consumer to be redelivered a little later.
    SELECT coalesce(jsonb_agg(d.event_id), '[]'::jsonb) INTO v_deferred
      FROM pentagon_in_dev d
     WHERE d.state IN ('sent', 'failed')
       AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.event_id = d.msg_event_id);

    WITH best AS (
        SELECT DISTINCT ON (message_id) message_id, state, reason, ts, cause
          FROM pentagon_in_dlv ORDER BY message_id, pentagon_delivery_rank(state) DESC, seq DESC
    ), mid AS (
        SELECT message_id, min(pmid) AS pmid FROM pentagon_in_dlv WHERE pmid IS NOT NULL GROUP BY message_id
    ), upd AS (
        UPDATE messages m SET
            delivery_status = CASE WHEN pentagon_delivery_rank(b.state) > pentagon_delivery_rank(m.delivery_status)
                                   THEN b.state ELSE m.delivery_status END,
            delivery_error  = CASE WHEN b.state = 'failed' AND pentagon_delivery_rank(m.delivery_status) < 2
                                   THEN b.reason ELSE m.delivery_error END,
            delivered_at    = CASE WHEN b.state IN ('delivered', 'read') THEN coalesce(m.delivered_at, b.ts)
                                   ELSE m.delivered_at END,
            read_at         = CASE WHEN b.state = 'read' THEN coalesce(m.read_at, b.ts) ELSE m.read_at END,
            platform_message_id = CASE
                WHEN m.platform_message_id IS NULL AND mid.pmid IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.platform_message_id = mid.pmid)
                THEN mid.pmid ELSE m.platform_message_id END
          FROM best b LEFT JOIN mid USING (message_id)
         WHERE m.id = b.message_id
           AND (pentagon_delivery_rank(b.state) > pentagon_delivery_rank(m.delivery_status)
                OR (m.platform_message_id IS NULL AND mid.pmid IS NOT NULL))
        RETURNING m.id, b.cause
    )
    INSERT INTO pentagon_in_dlv_changed SELECT id, cause FROM upd;
    RETURN v_deferred;
END
$$;

-- One segment of a batch (no user deletion inside it).
CREATE FUNCTION pentagon_apply(p_events jsonb) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    v_deferred jsonb;
BEGIN
    PERFORM pentagon_scratch();
    PERFORM pentagon_load(p_events);
    PERFORM pentagon_lock_conversations();
    PERFORM pentagon_insert_messages();
    PERFORM pentagon_apply_flags();
    PERFORM pentagon_update_conversations();
    v_deferred := pentagon_apply_deliveries(p_events);

    RETURN json_build_object(
        'inserted', (SELECT count(*) FROM pentagon_in_msg WHERE new_id IS NOT NULL),
        'messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, NULL) ORDER BY m.id)
              FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id IN (SELECT coalesce(new_id, dup_id) FROM pentagon_in_msg)), '[]'::json),
        'changed_messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id)
              FROM pentagon_in_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id
             WHERE NOT EXISTS (SELECT 1 FROM pentagon_in_msg i WHERE i.new_id = x.message_id)), '[]'::json),
        'conversations', coalesce((
            SELECT json_agg(json_build_object(
                       'id', c.id, 'platform', c.platform, 'user_id', c.user_id, 'status', c.status,
                       'updated_at', pentagon_ts(c.updated_at), 'row_json', pentagon_conversation_json(c)::text,
                       'mode_changed', NOT t.changed OR k.created IS TRUE
                                       OR (k.id IS NOT NULL AND k.status_before IS DISTINCT FROM c.status))
                   ORDER BY c.id)
              FROM pentagon_in_touch t JOIN conversations c ON c.id = t.conv_id
              LEFT JOIN pentagon_in_conv k ON k.id = c.id), '[]'::json),
        'deliveries', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id)
              FROM pentagon_in_dlv_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id), '[]'::json),
        'deferred', v_deferred);
END
$$;

-- Erase a user (Messenger data deletion): conversations and, by cascade, messages;
-- the audit trail keeps who did what but loses the rows' contents.
CREATE FUNCTION pentagon_delete_user(p_platform text, p_user_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    WITH gone AS (
        DELETE FROM conversations WHERE platform = p_platform AND user_id = p_user_id RETURNING id
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_ids FROM gone;
    UPDATE admin_actions SET "before" = NULL, "after" = NULL WHERE conversation_id = ANY (v_ids);
    RETURN jsonb_build_object('platform', p_platform, 'user_id', p_user_id, 'conversation_ids', to_jsonb(v_ids));
END
$$;

CREATE FUNCTION pentagon_ingest(events jsonb) RETURNS json
LANGUAGE plpgsql SET timezone TO 'UTC' AS $$
DECLARE
    v_parts json[] := '{}';
    v_prev bigint := -1;
    v_del record;
    v_segment jsonb;
BEGIN
    IF jsonb_typeof(events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'pentagon_ingest expects a JSON array' USING ERRCODE = '22023';
    END IF;
    FOR v_del IN
        SELECT e.seq, e.event_id, e.platform, e.user_id
          FROM jsonb_to_recordset(events) AS e(t text, seq bigint, event_id text, platform text,
                                               user_id text, action text)
         WHERE e.t = 'c' AND e.action = 'delete_user' ORDER BY e.seq
    LOOP
        SELECT coalesce(jsonb_agg(x), '[]'::jsonb) INTO v_segment FROM jsonb_array_elements(events) x
         WHERE (x->>'seq')::bigint > v_prev AND (x->>'seq')::bigint < v_del.seq;
        IF jsonb_array_length(v_segment) > 0 THEN
            v_parts := v_parts || pentagon_apply(v_segment);
        END IF;
        INSERT INTO processed_events (event_id) VALUES (v_del.event_id) ON CONFLICT DO NOTHING;
        IF FOUND THEN
            v_parts := v_parts || json_build_object(
                'deleted', pentagon_delete_user(v_del.platform, v_del.user_id), 'cause', v_del.event_id);
        END IF;
        v_prev := v_del.seq;
    END LOOP;

    IF v_prev < 0 THEN
        v_segment := events;
    ELSE
        SELECT coalesce(jsonb_agg(x), '[]'::jsonb) INTO v_segment FROM jsonb_array_elements(events) x
         WHERE (x->>'seq')::bigint > v_prev;
    END IF;
    IF jsonb_array_length(v_segment) > 0 THEN
        v_parts := v_parts || pentagon_apply(v_segment);
    END IF;
    RETURN json_build_object('parts', array_to_json(v_parts));
END
$$;

