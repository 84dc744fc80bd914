-- Step 6: delivery receipts (sent, failed, delivered, read) and the parked ones.

CREATE OR REPLACE FUNCTION pentagon_delivery_rank(state text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE state WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE 0 END
$$;

-- Delivery receipts: SENT/FAILED by our event id, DELIVERED by mids or watermark, READ by
-- watermark; state only moves forward (sent < failed < delivered < read). Returns how many
-- receipts were parked (their message is not stored yet).
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
        -- One probe of the unique event_id index per receipt: no join for the planner to turn
        -- into a nested loop over the batch.
        WITH sf AS (
            SELECT d.*, (SELECT m.id FROM messages m WHERE m.event_id = d.msg_event_id) AS message_id
              FROM pentagon_in_dev d
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
               AND i.new_id NOT IN (SELECT message_id FROM pentagon_in_dlv  -- hashed, once
                                     WHERE state = 'failed' AND message_id IS NOT NULL);
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pentagon_in_dlv) THEN
        PERFORM pentagon_update_deliveries();
    END IF;
    RETURN v_parked;
END
$$;

-- The forward-only state change of every message in pentagon_in_dlv (one row per message
-- wins). The "mid already taken" check is a scalar subquery with LIMIT 1: as NOT EXISTS inside
-- the CASE the planner could turn it into a hash of every platform_message_id in messages.
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

-- Periodic: parked receipts whose message was committed concurrently with the parking,
-- watermarks of the last minutes against messages committed concurrently with them,
-- and parked receipts older than the EVENTS stream's retention (their message cannot come).
CREATE OR REPLACE FUNCTION pentagon_sweep() RETURNS json
LANGUAGE plpgsql SET timezone TO 'UTC' AS $$
BEGIN
    -- One sweeper at a time across replicas; the others skip this round.
    IF NOT pg_try_advisory_xact_lock(7022283424106557259) THEN
        RETURN json_build_object('parts', '[]'::json, 'outbox', NULL);
    END IF;
    PERFORM pentagon_fold_conversation_counts();
    PERFORM pentagon_scratch();
    WITH claimed AS (
        DELETE FROM pending_deliveries p USING messages m
         WHERE m.event_id = p.msg_event_id
        RETURNING m.id, p.state, CASE WHEN p.state = 'sent' THEN p.pmid END AS pmid, p.reason, p.ts, p.seq, p.event_id
    )
    INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause) SELECT * FROM claimed;

    INSERT INTO pentagon_in_dlv (message_id, state, pmid, reason, ts, seq, cause)
    SELECT m.id, x.state, NULL, NULL, x.ts, 0, x.cause
      FROM delivery_watermarks w
      JOIN conversations c ON c.platform = w.platform AND c.user_id = w.user_id
      JOIN messages m ON m.conversation_id = c.id
     CROSS JOIN LATERAL (SELECT CASE WHEN m."timestamp" <= w.read_wm THEN 'read' ELSE 'delivered' END AS state,
                                CASE WHEN m."timestamp" <= w.read_wm THEN w.read_ts ELSE w.delivered_ts END AS ts,
                                CASE WHEN m."timestamp" <= w.read_wm THEN w.read_cause ELSE w.delivered_cause END AS cause) x
     WHERE w.updated_at > now() - interval '10 minutes'
       AND m.sender_type IN ('bot', 'human') AND m."timestamp" <= greatest(w.read_wm, w.delivered_wm)
       AND m.delivery_status IS DISTINCT FROM 'failed'
       AND pentagon_delivery_rank(m.delivery_status) < pentagon_delivery_rank(x.state);

    DELETE FROM pending_deliveries WHERE created_at < now() - interval '7 days';
    IF NOT EXISTS (SELECT 1 FROM pentagon_in_dlv) THEN
        RETURN json_build_object('parts', '[]'::json, 'outbox', NULL);
    END IF;
    PERFORM pentagon_update_deliveries();
    IF NOT EXISTS (SELECT 1 FROM pentagon_in_dlv_changed) THEN
        RETURN json_build_object('parts', '[]'::json, 'outbox', NULL);
    END IF;
    INSERT INTO pentagon_in_refs (refs) SELECT jsonb_build_object(
        'd', (SELECT jsonb_agg(jsonb_build_array(message_id, cause)) FROM pentagon_in_dlv_changed));
    RETURN json_build_object('parts', json_build_array(json_build_object('deliveries', pentagon_deliveries_out())),
                             'outbox', pentagon_write_outbox());
END
$$;
