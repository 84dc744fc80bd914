-- Triggers, retention and the grant rule.

CREATE OR REPLACE FUNCTION pentagon_bump_mode_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.mode_version := OLD.mode_version + 1;
    RETURN NEW;
END
$$;

-- One row per statement that changed conversations, holding what it changed: the totals of
-- GET /admin/stats are the sum of conversation_counts (migration 0014, which creates the triggers).
CREATE OR REPLACE FUNCTION pentagon_count_conversations() RETURNS trigger
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

-- Folds conversation_counts into one row, so that the totals stay a sum over a few rows. Called by
-- pentagon_sweep under its advisory lock (one fold at a time). Rows that concurrent transactions
-- append meanwhile are not in this statement's snapshot: they stay, and the sum never changes.
CREATE OR REPLACE FUNCTION pentagon_fold_conversation_counts() RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM conversation_counts WHERE (SELECT count(*) > 1 FROM conversation_counts)
        RETURNING conversations, open, messages, pending_human, needs_human
    ), folded AS (
        INSERT INTO conversation_counts (conversations, open, messages, pending_human, needs_human)
        SELECT sum(conversations), sum(open), sum(messages), sum(pending_human), sum(needs_human)
          FROM gone HAVING count(*) > 0
        RETURNING 1
    )
    SELECT count(*)::int FROM gone
$$;

-- processed_events only has to outlive every possible redelivery of its event: the EVENTS
-- stream keeps events 7 days. Called by tracking's sweep (hourly); returns the rows removed.
CREATE OR REPLACE FUNCTION pentagon_prune(keep_days int) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => keep_days) RETURNING 1)
    SELECT count(*)::int FROM gone
$$;

-- Conversations nobody has written in for idle_hours and in which nobody waits for a person:
-- what housekeeping.py closes (each through the close command, which checks again under the lock).
CREATE OR REPLACE FUNCTION pentagon_idle_conversations(idle_hours float8, max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'last_message_at', pentagon_ts(last_message_at))), '[]')
      FROM (SELECT id, last_message_at FROM conversations
             WHERE status IN ('active', 'human') AND pending_human_count = 0
               AND last_message_at < now() - make_interval(secs => idle_hours * 3600)
             ORDER BY last_message_at LIMIT max_rows) idle
$$;

-- Closed conversations whose close and last message are both older than keep_days: what
-- housekeeping.py deletes (each through the purge command, which checks again under the lock).
CREATE OR REPLACE FUNCTION pentagon_retention_candidates(keep_days float8, max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'closed_before', pentagon_ts(cutoff))), '[]')
      FROM (SELECT id, cutoff FROM conversations, (SELECT now() - make_interval(secs => keep_days * 86400) AS cutoff) c
             WHERE status = 'closed' AND closed_at < cutoff AND coalesce(last_message_at, closed_at) < cutoff
             ORDER BY closed_at LIMIT max_rows) old
$$;

-- Delete one closed conversation (its messages by cascade) if it was closed, and last written
-- in, before p_closed_before. Its audit rows keep who did what, not what the rows held.
-- The result's row is the purge's audit record plus the user id (for the update's subject
-- only: the audit record keeps no customer id).
CREATE OR REPLACE FUNCTION pentagon_purge_conversation(p_conv_id bigint, p_closed_before timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_c conversations;
BEGIN
    SELECT * INTO v_c FROM conversations WHERE id = p_conv_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN pentagon_command_error('not_found', 'no such conversation');
    END IF;
    IF v_c.status <> 'closed' OR coalesce(v_c.closed_at, v_c.updated_at) >= p_closed_before
       OR coalesce(v_c.last_message_at, v_c.created_at) >= p_closed_before THEN
        RETURN pentagon_command_error('illegal_transition', 'only a conversation closed and quiet since before closed_before is deleted');
    END IF;
    DELETE FROM conversations WHERE id = p_conv_id;
    UPDATE admin_actions SET "before" = NULL, "after" = NULL,
                             params = CASE WHEN action IN ('note', 'labels') THEN '{}'::jsonb ELSE params END
     WHERE conversation_id = p_conv_id;
    RETURN jsonb_build_object('ok', true, 'user_id', v_c.user_id,
                              'row', jsonb_build_object('id', v_c.id, 'platform', v_c.platform,
                                                        'messages', v_c.message_count,
                                                        'closed_at', pentagon_ts(v_c.closed_at)));
END
$$;

-- The grant rule: on Supabase every function of the public schema is callable over PostgREST
-- by anon and authenticated unless revoked. Only the service role may call ours. Called after
-- every application of these files (migrate.py) and by migrations that create functions.
CREATE OR REPLACE PROCEDURE pentagon_restrict_functions()
LANGUAGE plpgsql AS $$
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

-- The same rule for our tables. On Supabase the Data API (/rest/v1/<table>) serves every table of
-- the public schema to the anon key, which is public (the admin panel's page carries it), and to
-- every signed-in user, unless row level security says otherwise. Ours hold customers' messages:
-- row level security on, with no policy, so no row is visible to anyone but the tables' owner and
-- roles that bypass it (the service role), and no privilege on them for anon and authenticated.
-- Tracking and admin-api connect as the owner (DATABASE_URL) or the service role (PostgREST mode),
-- which row level security does not restrict. Every table migrations create must be listed here
-- (test_function_grants.py fails otherwise). Called by migrate.py whenever it applied anything.
CREATE OR REPLACE PROCEDURE pentagon_restrict_tables()
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    r text;
BEGIN
    FOR t IN SELECT c.oid::regclass AS name, c.relrowsecurity AS secured FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
                AND c.relname = ANY (ARRAY['conversations', 'messages', 'admin_actions', 'processed_events',
                                           'pending_deliveries', 'delivery_watermarks', 'update_outbox',
                                           'conversation_counts', 'schema_migrations', 'schema_functions'])
    LOOP
        IF NOT t.secured THEN  -- ALTER TABLE locks the table: only once
            EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t.name);
        END IF;
        FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                EXECUTE format('REVOKE ALL ON TABLE %s FROM %I', t.name, r);
            END IF;
        END LOOP;
    END LOOP;
END
$$;
