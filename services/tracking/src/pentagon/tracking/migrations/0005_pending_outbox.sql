-- Receipts never lost, updates never skipped.
--
-- 1. A SENT/FAILED receipt whose message is not stored yet (its event is in an
--    unacked batch redelivered later, or in a concurrent batch) is parked in
--    pending_deliveries inside the batch transaction, so the receipt can be acked;
--    it is applied set-based when its message row is inserted (or by the sweep,
--    when the message was committed concurrently with the parking).
-- 2. DELIVERED/READ watermarks are kept per user in delivery_watermarks, so a
--    message stored after its watermark arrived still gets the state.
-- 3. Transactional outbox: every batch writes the references of what it changed to
--    update_outbox in the same transaction; the consumer deletes the row after its
--    updates are stored in UPDATES; leftovers (a crash between commit and publish)
--    are republished from the current rows by pentagon_outbox_replay.

CREATE TABLE pending_deliveries (
    event_id     text PRIMARY KEY,          -- the receipt's own event id: a replay parks it once
    msg_event_id text        NOT NULL,
    platform     text        NOT NULL,
    user_id      text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('sent', 'failed')),
    pmid         text,
    reason       text,
    ts           timestamptz NOT NULL,
    seq          bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_deliveries_by_message ON pending_deliveries (msg_event_id);
CREATE INDEX pending_deliveries_by_user ON pending_deliveries (platform, user_id);

CREATE TABLE delivery_watermarks (
    platform        text NOT NULL,
    user_id         text NOT NULL,
    delivered_wm    timestamptz,
    delivered_ts    timestamptz,
    delivered_cause text,
    read_wm         timestamptz,
    read_ts         timestamptz,
    read_cause      text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX delivery_watermarks_recent ON delivery_watermarks (updated_at);

CREATE TABLE update_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    refs       jsonb       NOT NULL,   -- per part: message ids, (id, cause) pairs, conversation ids, deletions
    created_at timestamptz NOT NULL DEFAULT now()
);

-- STABLE like to_char (it was IMMUTABLE): only then can the planner inline it into the row
-- builders, which made building the rows' JSON about a third cheaper.
CREATE OR REPLACE FUNCTION pentagon_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

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
    -- Outbox references of the whole transaction: kept across segments, gone at commit.
    IF to_regclass('pg_temp.pentagon_in_refs') IS NULL THEN
        CREATE TEMP TABLE pentagon_in_refs (
            ord bigint GENERATED ALWAYS AS IDENTITY, refs jsonb
        ) ON COMMIT DELETE ROWS;
    END IF;
END
$$;

-- The forward-only state change of every message in pentagon_in_dlv (one row per message wins).
CREATE FUNCTION pentagon_update_deliveries() RETURNS void
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
                     AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.platform_message_id = mid.pmid)
                THEN mid.pmid ELSE m.platform_message_id END
          FROM best b LEFT JOIN mid USING (message_id)
         WHERE m.id = b.message_id
           AND (pentagon_delivery_rank(b.state) > pentagon_delivery_rank(m.delivery_status)
                OR (m.platform_message_id IS NULL AND mid.pmid IS NOT NULL))
        RETURNING m.id, b.cause
    )
    INSERT INTO pentagon_in_dlv_changed SELECT id, cause FROM upd;
END
$$;

DROP FUNCTION pentagon_apply_deliveries(jsonb);

-- Delivery receipts: SENT/FAILED by our event id, DELIVERED by mids or watermark, READ by
-- watermark; never backwards. Returns how many receipts were parked (message not stored yet).
CREATE FUNCTION pentagon_apply_deliveries(p_events jsonb) RETURNS int
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

CREATE FUNCTION pentagon_conversation_out(c conversations, mode_changed boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', c.id, 'platform', c.platform, 'user_id', c.user_id, 'status', c.status,
                             'updated_at', pentagon_ts(c.updated_at), 'row_json', pentagon_conversation_json(c)::text,
                             'mode_changed', mode_changed)
$$;

-- plpgsql, not sql: it reads a session temp table that does not exist when the migration runs.
CREATE FUNCTION pentagon_deliveries_out() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id), '[]'::json)
              FROM pentagon_in_dlv_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id);
END
$$;

-- One segment of a batch (no user deletion inside it).
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
             WHERE m.id IN (SELECT coalesce(new_id, dup_id) FROM pentagon_in_msg)), '[]'::json),
        'changed_messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, x.cause) ORDER BY m.id)
              FROM pentagon_in_changed x JOIN messages m ON m.id = x.message_id
              JOIN conversations c ON c.id = m.conversation_id
             WHERE NOT EXISTS (SELECT 1 FROM pentagon_in_msg i WHERE i.new_id = x.message_id)), '[]'::json),
        'conversations', coalesce((
            SELECT json_agg(pentagon_conversation_out(c, NOT t.changed OR k.created IS TRUE
                                       OR (k.id IS NOT NULL AND k.status_before IS DISTINCT FROM c.status))
                   ORDER BY c.id)
              FROM pentagon_in_touch t JOIN conversations c ON c.id = t.conv_id
              LEFT JOIN pentagon_in_conv k ON k.id = c.id), '[]'::json),
        'deliveries', pentagon_deliveries_out(),
        'parked', v_parked);
END
$$;

CREATE OR REPLACE FUNCTION pentagon_delete_user(p_platform text, p_user_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    WITH gone AS (
        DELETE FROM conversations WHERE platform = p_platform AND user_id = p_user_id RETURNING id
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_ids FROM gone;
    UPDATE admin_actions SET "before" = NULL, "after" = NULL WHERE conversation_id = ANY (v_ids);
    DELETE FROM pending_deliveries WHERE platform = p_platform AND user_id = p_user_id;
    DELETE FROM delivery_watermarks WHERE platform = p_platform AND user_id = p_user_id;
    RETURN jsonb_build_object('platform', p_platform, 'user_id', p_user_id, 'conversation_ids', to_jsonb(v_ids));
END
$$;

-- The outbox row of this transaction (NULL when nothing is to be published).
CREATE FUNCTION pentagon_write_outbox() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF to_regclass('pg_temp.pentagon_in_refs') IS NULL OR NOT EXISTS (SELECT 1 FROM pentagon_in_refs) THEN
        RETURN NULL;
    END IF;
    INSERT INTO update_outbox (refs) SELECT jsonb_agg(refs ORDER BY ord) FROM pentagon_in_refs RETURNING id INTO v_id;
    DELETE FROM pentagon_in_refs;
    RETURN v_id;
END
$$;

CREATE OR REPLACE FUNCTION pentagon_ingest(events jsonb) RETURNS json
LANGUAGE plpgsql SET timezone TO 'UTC' AS $$
DECLARE
    v_parts json[] := '{}';
    v_prev bigint := -1;
    v_del record;
    v_segment jsonb;
    v_deleted jsonb;
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
            PERFORM pentagon_scratch();
            v_deleted := jsonb_build_object('deleted', pentagon_delete_user(v_del.platform, v_del.user_id),
                                            'cause', v_del.event_id);
            INSERT INTO pentagon_in_refs (refs) VALUES (v_deleted);
            v_parts := v_parts || v_deleted::json;
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
    RETURN json_build_object('parts', array_to_json(v_parts), 'outbox', pentagon_write_outbox());
END
$$;

-- Periodic: parked receipts whose message was committed concurrently with the parking,
-- watermarks of the last minutes against messages committed concurrently with them,
-- and parked receipts older than the EVENTS stream's retention (their message cannot come).
CREATE FUNCTION pentagon_sweep() RETURNS json
LANGUAGE plpgsql SET timezone TO 'UTC' AS $$
BEGIN
    -- One sweeper at a time across replicas; the others skip this round.
    IF NOT pg_try_advisory_xact_lock(7022283424106557259) THEN
        RETURN json_build_object('parts', '[]'::json, 'outbox', NULL);
    END IF;
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

-- One outbox part rebuilt from the current rows (same shape as a part of pentagon_ingest).
CREATE FUNCTION pentagon_outbox_part(p jsonb) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p ? 'deleted' THEN p::json ELSE json_build_object(
        'messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, NULL) ORDER BY m.id)
              FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id IN (SELECT x::bigint FROM jsonb_array_elements_text(coalesce(p->'m', '[]')) x)), '[]'::json),
        'changed_messages', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, x->>1) ORDER BY m.id)
              FROM jsonb_array_elements(coalesce(p->'cm', '[]')) x
              JOIN messages m ON m.id = (x->>0)::bigint JOIN conversations c ON c.id = m.conversation_id), '[]'::json),
        'conversations', coalesce((
            SELECT json_agg(pentagon_conversation_out(c, true) ORDER BY c.id)
              FROM conversations c
             WHERE c.id IN (SELECT x::bigint FROM jsonb_array_elements_text(coalesce(p->'c', '[]')) x)), '[]'::json),
        'deliveries', coalesce((
            SELECT json_agg(pentagon_message_out(m, c, x->>1) ORDER BY m.id)
              FROM jsonb_array_elements(coalesce(p->'d', '[]')) x
              JOIN messages m ON m.id = (x->>0)::bigint JOIN conversations c ON c.id = m.conversation_id), '[]'::json))
    END
$$;

-- Outbox rows older than min_age_s (their worker died between commit and publish), rebuilt.
CREATE FUNCTION pentagon_outbox_replay(min_age_s double precision, max_rows int) RETURNS json
LANGUAGE sql STABLE SET timezone TO 'UTC' AS $$
    SELECT coalesce(json_agg(json_build_object('outbox', o.id, 'parts', (
               SELECT coalesce(json_agg(pentagon_outbox_part(r.part) ORDER BY r.ord), '[]'::json)
                 FROM jsonb_array_elements(o.refs) WITH ORDINALITY AS r(part, ord))) ORDER BY o.id), '[]'::json)
      FROM (SELECT id, refs FROM update_outbox
             WHERE created_at < now() - make_interval(secs => min_age_s) ORDER BY id LIMIT max_rows) o
$$;

CREATE FUNCTION pentagon_outbox_done(ids bigint[]) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM update_outbox WHERE id = ANY (ids) RETURNING 1) SELECT count(*)::int FROM gone
$$;

-- Same rule as 0004 for the functions created here.
DO $$
DECLARE
    f regprocedure;
    r text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = current_schema() AND p.proname LIKE 'pentagon\_%' AND p.prokind = 'f'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM %I', f, r);
            END IF;
        END LOOP;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', f);
        END IF;
    END LOOP;
END
$$;
