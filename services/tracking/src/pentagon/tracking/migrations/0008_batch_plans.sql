-- Work per batch proportional to the batch, not to the tables.
--
-- Ingest joins one batch (held in session temp tables, 1 to a few thousand rows) to
-- conversations and messages. The planner has no statistics for temp tables and guesses
-- hundreds of rows for each, so while messages was below ~100k rows it chose hash and merge
-- joins that read the whole messages table (or a whole index) on every batch: measured at
-- 250 msg/s with 12k messages (auto_explain, 2026-11-26), 15-30 ms of Postgres CPU per
-- batch of ~30 events, growing with the table. The statements below find the batch's rows
-- in the big tables with "id = ANY (ARRAY(...))": an index scan whatever the estimates, and
-- linear in the batch for a batch of thousands. (Turning hash joins off for the whole
-- ingest instead made the joins between temp tables quadratic: 12k -> 1k events/s in
-- bench/tracking_bench.py.)

-- Same statement as 0005, with the messages to update named by id, and the "mid already
-- taken" check as a scalar subquery with LIMIT 1: as NOT EXISTS inside the CASE the planner
-- could turn it into a hashed subplan, a hash of every platform_message_id in messages.
CREATE OR REPLACE FUNCTION pentagon_update_deliveries() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
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
                     AND (SELECT x.id FROM messages x WHERE x.platform_message_id = mid.pmid LIMIT 1) IS NULL
                THEN mid.pmid ELSE m.platform_message_id END
          FROM best b LEFT JOIN mid USING (message_id)
         WHERE m.id = b.message_id AND m.id = ANY (ARRAY(SELECT message_id FROM pentagon_in_dlv))
           AND (pentagon_delivery_rank(b.state) > pentagon_delivery_rank(m.delivery_status)
                OR (m.platform_message_id IS NULL AND mid.pmid IS NOT NULL))
        RETURNING m.id, b.cause
    )
    INSERT INTO pentagon_in_dlv_changed SELECT id, cause FROM upd;
END
$$;

-- Same function as 0002, but the open conversation of each of the batch's users is one probe
-- of conversations_one_open: "id IN (...) OR (platform, user_id) IN (...)" could only be
-- answered by reading every conversation.
CREATE OR REPLACE FUNCTION pentagon_lock_conversations() RETURNS void
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
             -- The first condition finds the rows through indexes (one probe per key); the second is
             -- the rule itself, re-checked on the locked row version if a command changed it meanwhile.
             WHERE c.id = ANY (ARRAY(
                       SELECT reply_conv FROM pentagon_in_msg WHERE reply_conv IS NOT NULL
                       UNION ALL
                       SELECT (SELECT o.id FROM conversations o  -- at most one: conversations_one_open
                                WHERE o.platform = k.platform AND o.user_id = k.user_id AND o.status <> 'closed')
                         FROM pentagon_in_key k))
               AND (c.id IN (SELECT reply_conv FROM pentagon_in_msg WHERE reply_conv IS NOT NULL)
                    OR (c.status <> 'closed' AND (c.platform, c.user_id) IN (SELECT platform, user_id FROM pentagon_in_key)))
             ORDER BY c.id
             FOR UPDATE
        )
        -- Rows already noted (created above, or locked in an earlier round) get the status
        -- seen now; the others are added. (An upsert needed a unique index on the temp table.)
        , noted AS (
            UPDATE pentagon_in_conv p SET status_before = CASE WHEN p.created THEN NULL ELSE l.status END
              FROM locked l WHERE p.id = l.id
        )
        INSERT INTO pentagon_in_conv SELECT l.id, l.platform, l.user_id, l.status, false FROM locked l
         WHERE NOT EXISTS (SELECT 1 FROM pentagon_in_conv p WHERE p.id = l.id);

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

-- Same as 0005 without the primary key of pentagon_in_conv. ON COMMIT DELETE ROWS truncates
-- these tables at every commit, and truncating an indexed table rebuilds the index and sends
-- a relcache invalidation: every cached plan that reads pentagon_in_conv was re-planned on
-- every batch. Measured before the change (perf, one-event batches): ~4.7 ms of Postgres CPU
-- per batch, over half of it in re-planning and index rebuilds.
CREATE OR REPLACE FUNCTION pentagon_scratch() RETURNS void
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
            id bigint, platform text, user_id text, status_before text, created boolean
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
    -- Outbox references of the whole transaction: kept across segments, gone at commit.
    IF to_regclass('pg_temp.pentagon_in_refs') IS NULL THEN
        CREATE TEMP TABLE pentagon_in_refs (
            ord bigint GENERATED ALWAYS AS IDENTITY, refs jsonb
        ) ON COMMIT DELETE ROWS;
    END IF;
END
$$;


-- Same as 0005; the rows sent to the admin panel found through the batch's ids.
CREATE OR REPLACE FUNCTION pentagon_deliveries_out() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id), '[]'::json)
              FROM pentagon_in_dlv_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = ANY (ARRAY(SELECT message_id FROM pentagon_in_dlv_changed)));
END
$$;

CREATE OR REPLACE FUNCTION pentagon_apply(p_events jsonb) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    v_parked int;
BEGIN
    PERFORM pentagon_scratch();
    PERFORM pentagon_load(p_events);
    PERFORM pentagon_lock_conversations();
    PERFORM pentagon_insert_messages();
    PERFORM pentagon_apply_flags();
    PERFORM pentagon_update_conversations();
    v_parked := pentagon_apply_deliveries(p_events);

    INSERT INTO pentagon_in_refs (refs) SELECT jsonb_build_object(
        'm', (SELECT coalesce(jsonb_agg(coalesce(new_id, dup_id)), '[]') FROM pentagon_in_msg
               WHERE coalesce(new_id, dup_id) IS NOT NULL),
        'cm', (SELECT coalesce(jsonb_agg(jsonb_build_array(x.message_id, x.cause)), '[]') FROM pentagon_in_changed x
                WHERE NOT EXISTS (SELECT 1 FROM pentagon_in_msg i WHERE i.new_id = x.message_id)),
        'c', (SELECT coalesce(jsonb_agg(conv_id), '[]') FROM pentagon_in_touch),
        'd', (SELECT coalesce(jsonb_agg(jsonb_build_array(message_id, cause)), '[]') FROM pentagon_in_dlv_changed));

    RETURN json_build_object(
        'inserted', (SELECT count(*) FROM pentagon_in_msg WHERE new_id IS NOT NULL),
        'messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, NULL) ORDER BY m.id)
              FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = ANY (ARRAY(SELECT coalesce(new_id, dup_id) FROM pentagon_in_msg))), '[]'::json),
        'changed_messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id)
              FROM pentagon_in_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = ANY (ARRAY(SELECT message_id FROM pentagon_in_changed))
               AND NOT EXISTS (SELECT 1 FROM pentagon_in_msg i WHERE i.new_id = x.message_id)), '[]'::json),
        'conversations', coalesce((
            SELECT json_agg(pentagon_conversation_out(c, NOT t.changed OR k.created IS TRUE
                                       OR (k.id IS NOT NULL AND k.status_before IS DISTINCT FROM c.status))
                   ORDER BY c.id)
              FROM pentagon_in_touch t JOIN conversations c ON c.id = t.conv_id
              LEFT JOIN pentagon_in_conv k ON k.id = c.id
             WHERE c.id = ANY (ARRAY(SELECT conv_id FROM pentagon_in_touch))), '[]'::json),
        'deliveries', pentagon_deliveries_out(),
        'parked', v_parked);
END
$$;

-- Same as 0002_ingest.sql; the conversations to update found through the batch's ids.
CREATE OR REPLACE FUNCTION pentagon_update_conversations() RETURNS void
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
                   WHERE m.id = ANY (ARRAY(SELECT dup_id FROM pentagon_in_msg WHERE dup_id IS NOT NULL))
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
      FROM t WHERE c.id = t.conv_id AND c.id = ANY (ARRAY(SELECT conv_id FROM pentagon_in_touch WHERE changed));
END
$$;

-- Same as 0005; the messages that SENT/FAILED receipts name found through the batch's event ids.
-- Delivery receipts: SENT/FAILED by our event id, DELIVERED by mids or watermark, READ by
-- watermark; never backwards. Returns how many receipts were parked (message not stored yet).
CREATE OR REPLACE FUNCTION pentagon_apply_deliveries(p_events jsonb) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    v_parked int := 0;
BEGIN
    IF p_events @? '$[*] ? (@.t == "d")' THEN
        INSERT INTO pentagon_in_dev
        SELECT e.seq, e.event_id, e.platform, e.user_id, e.state, nullif(e.msg_event_id, ''), nullif(e.pmid, ''),
               e.pmids, e.watermark, nullif(e.reason, ''), e.ts
          FROM jsonb_to_recordset(p_events) AS e(t text, seq bigint, event_id text, platform text, user_id text,
               state text, msg_event_id text, pmid text, pmids text[], watermark timestamptz, reason text, ts timestamptz)
         WHERE e.t = 'd';

        -- SENT/FAILED: applied if the message is there, parked otherwise, decided in ONE statement
        -- (one snapshot): with two, a message committed in between would be neither matched nor parked.
        WITH sf AS (
            SELECT d.*, m.id AS message_id
              FROM pentagon_in_dev d LEFT JOIN messages m ON m.event_id = d.msg_event_id
                   AND m.event_id = ANY (ARRAY(SELECT msg_event_id FROM pentagon_in_dev WHERE msg_event_id IS NOT NULL))
             WHERE d.state IN ('sent', 'failed')
        ), parked AS (
            INSERT INTO pending_deliveries (event_id, msg_event_id, platform, user_id, state, pmid, reason, ts, seq)
            SELECT event_id, msg_event_id, platform, user_id, state, pmid, reason, ts, seq
              FROM sf WHERE message_id IS NULL
            ON CONFLICT (event_id) DO NOTHING
            RETURNING 1
        ), matched AS (
            INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause)
            SELECT message_id, state, CASE WHEN state = 'sent' THEN pmid END, reason, ts, seq, event_id
              FROM sf WHERE message_id IS NOT NULL
            RETURNING 1
        )
        SELECT count(*) INTO v_parked FROM parked;

        INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause)
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

        -- Remembered for messages stored later (Messenger's receipts always carry a watermark).
        WITH best AS (
            SELECT DISTINCT ON (platform, user_id, state) platform, user_id, state, watermark, ts, event_id
              FROM pentagon_in_dev WHERE state IN ('delivered', 'read') AND watermark IS NOT NULL
             ORDER BY platform, user_id, state, watermark DESC, seq DESC
        )
        INSERT INTO delivery_watermarks AS w (platform, user_id, delivered_wm, delivered_ts, delivered_cause,
                                              read_wm, read_ts, read_cause)
        SELECT platform, user_id,
               max(watermark) FILTER (WHERE state = 'delivered'), max(ts) FILTER (WHERE state = 'delivered'),
               max(event_id) FILTER (WHERE state = 'delivered'),
               max(watermark) FILTER (WHERE state = 'read'), max(ts) FILTER (WHERE state = 'read'),
               max(event_id) FILTER (WHERE state = 'read')
          FROM best GROUP BY platform, user_id ORDER BY platform, user_id
        ON CONFLICT (platform, user_id) DO UPDATE SET
            delivered_ts    = CASE WHEN excluded.delivered_wm > coalesce(w.delivered_wm, '-infinity')
                                   THEN excluded.delivered_ts ELSE w.delivered_ts END,
            delivered_cause = CASE WHEN excluded.delivered_wm > coalesce(w.delivered_wm, '-infinity')
                                   THEN excluded.delivered_cause ELSE w.delivered_cause END,
            delivered_wm    = greatest(w.delivered_wm, excluded.delivered_wm),
            read_ts         = CASE WHEN excluded.read_wm > coalesce(w.read_wm, '-infinity')
                                   THEN excluded.read_ts ELSE w.read_ts END,
            read_cause      = CASE WHEN excluded.read_wm > coalesce(w.read_wm, '-infinity')
                                   THEN excluded.read_cause ELSE w.read_cause END,
            read_wm         = greatest(w.read_wm, excluded.read_wm),
            updated_at      = now();
    END IF;

    IF EXISTS (SELECT 1 FROM pentagon_in_msg WHERE new_id IS NOT NULL) THEN
        IF EXISTS (SELECT 1 FROM pending_deliveries) THEN
            WITH claimed AS (
                DELETE FROM pending_deliveries p USING pentagon_in_msg i
                 WHERE i.new_id IS NOT NULL AND p.msg_event_id = i.event_id
                RETURNING i.new_id, p.state, CASE WHEN p.state = 'sent' THEN p.pmid END AS pmid,
                          p.reason, p.ts, p.seq, p.event_id
            )
            INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause) SELECT * FROM claimed;
        END IF;
        IF EXISTS (SELECT 1 FROM delivery_watermarks) THEN
            INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause)
            SELECT i.new_id, x.state, NULL, NULL, x.ts, 0, x.cause
              FROM pentagon_in_msg i
              JOIN delivery_watermarks w ON w.platform = i.platform AND w.user_id = i.user_id
             CROSS JOIN LATERAL (SELECT CASE WHEN i.ts <= w.read_wm THEN 'read' ELSE 'delivered' END AS state,
                                        CASE WHEN i.ts <= w.read_wm THEN w.read_ts ELSE w.delivered_ts END AS ts,
                                        CASE WHEN i.ts <= w.read_wm THEN w.read_cause ELSE w.delivered_cause END AS cause) x
             WHERE i.new_id IS NOT NULL AND i.sender IN ('bot', 'human')
               AND i.ts <= greatest(w.read_wm, w.delivered_wm)
               AND NOT EXISTS (SELECT 1 FROM pentagon_in_dlv f WHERE f.message_id = i.new_id AND f.state = 'failed');
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pentagon_in_dlv) THEN
        PERFORM pentagon_update_deliveries();
    END IF;
    RETURN v_parked;
END
$$;
