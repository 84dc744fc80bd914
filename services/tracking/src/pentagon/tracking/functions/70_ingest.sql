-- The batch write: pentagon_ingest(), called by asyncpg (`select pentagon_ingest($1)`) and by
-- the Supabase client (`rpc('pentagon_ingest', {"events": [...]})`), so the rules of
-- docs/architecture.md "Conversation lifecycle" live in one place. One statement, one
-- transaction per batch.
--
-- Input: a JSON array of normalised events (built by pentagon.tracking.decode), each with
-- "seq" (JetStream stream sequence) and "t": 'm' message, 'd' delivery, 'c' conversation
-- event. Output: {"parts": [...]} describing what changed, in order, so the consumer can
-- publish UpdateEvents after the commit; the same references go to update_outbox in the
-- transaction, for the publisher to replay after a crash.

-- One segment of a batch (no user deletion inside it), step by step.
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

-- Erase a user (Messenger data deletion): conversations and, by cascade, messages;
-- the audit trail keeps who did what but loses the rows' contents and the staff notes' text.
CREATE OR REPLACE FUNCTION pentagon_delete_user(p_platform text, p_user_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    WITH gone AS (
        DELETE FROM conversations WHERE platform = p_platform AND user_id = p_user_id RETURNING id
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_ids FROM gone;
    -- Staff notes and labels are about the customer too: their text goes with the rest.
    UPDATE admin_actions SET "before" = NULL, "after" = NULL,
                             params = CASE WHEN action IN ('note', 'labels') THEN '{}'::jsonb ELSE params END
     WHERE conversation_id = ANY (v_ids);
    DELETE FROM pending_deliveries WHERE platform = p_platform AND user_id = p_user_id;
    DELETE FROM delivery_watermarks WHERE platform = p_platform AND user_id = p_user_id;
    RETURN jsonb_build_object('platform', p_platform, 'user_id', p_user_id, 'conversation_ids', to_jsonb(v_ids));
END
$$;

-- The outbox row of this transaction (NULL when nothing is to be published).
CREATE OR REPLACE FUNCTION pentagon_write_outbox() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF to_regclass('pg_temp.pentagon_in_refs') IS NULL OR NOT EXISTS (SELECT 1 FROM pentagon_in_refs) THEN
        RETURN NULL;
    END IF;
    INSERT INTO update_outbox (refs) SELECT jsonb_agg(refs ORDER BY ord) FROM pentagon_in_refs RETURNING id INTO v_id;
    DELETE FROM pentagon_in_refs;
    IF pentagon_scratch_bytes('pg_temp.pentagon_in_refs') > 131072 THEN  -- SCRATCH_TRUNCATE_BYTES (20_scratch.sql)
        TRUNCATE pentagon_in_refs;
    END IF;
    RETURN v_id;
END
$$;

-- One outbox part rebuilt from the current rows (same shape as a part of pentagon_ingest).
CREATE OR REPLACE FUNCTION pentagon_outbox_part(p jsonb) RETURNS json
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
CREATE OR REPLACE FUNCTION pentagon_outbox_replay(min_age_s double precision, max_rows int) RETURNS json
LANGUAGE sql STABLE SET timezone TO 'UTC' AS $$
    SELECT coalesce(json_agg(json_build_object('outbox', o.id, 'parts', (
               SELECT coalesce(json_agg(pentagon_outbox_part(r.part) ORDER BY r.ord), '[]'::json)
                 FROM jsonb_array_elements(o.refs) WITH ORDINALITY AS r(part, ord))) ORDER BY o.id), '[]'::json)
      FROM (SELECT id, refs FROM update_outbox
             WHERE created_at < now() - make_interval(secs => min_age_s) ORDER BY id LIMIT max_rows) o
$$;

CREATE OR REPLACE FUNCTION pentagon_outbox_done(ids bigint[]) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM update_outbox WHERE id = ANY (ids) RETURNING 1) SELECT count(*)::int FROM gone
$$;
