-- Triggers, retention and the grant rule.

CREATE OR REPLACE FUNCTION pentagon_bump_mode_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.mode_version := OLD.mode_version + 1;
    RETURN NEW;
END
$$;

-- processed_events only has to outlive every possible redelivery of its event: the EVENTS
-- stream keeps events 7 days. Called by tracking's sweep (hourly); returns the rows removed.
CREATE OR REPLACE FUNCTION pentagon_prune(keep_days int) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => keep_days) RETURNING 1)
    SELECT count(*)::int FROM gone
$$;

-- Conversations nobody has written in for idle_hours and in which nobody waits for a person:
-- what autoclose.py closes (each through the close command, which checks again under the lock).
CREATE OR REPLACE FUNCTION pentagon_idle_conversations(idle_hours float8, max_rows int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'last_message_at', pentagon_ts(last_message_at))), '[]')
      FROM (SELECT id, last_message_at FROM conversations
             WHERE status IN ('active', 'human') AND pending_human_count = 0
               AND last_message_at < now() - make_interval(secs => idle_hours * 3600)
             ORDER BY last_message_at LIMIT max_rows) idle
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
