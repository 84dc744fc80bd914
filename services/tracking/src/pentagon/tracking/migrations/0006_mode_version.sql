-- Mode writes carry a version, so the conversation_mode bucket can never go back in time.
--
-- Two transactions that change one conversation's status commit in lock order, but their
-- workers (any tracking replica, batch or command) write the KV after the commit, in any
-- order. mode_version is bumped under the row lock, so (conversation id, mode_version)
-- orders every status a user's conversations ever had; the KV writer (updates.py) only
-- replaces an entry holding a lower pair.

ALTER TABLE conversations ADD COLUMN mode_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION pentagon_bump_mode_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.mode_version := OLD.mode_version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER conversations_mode_version BEFORE UPDATE OF status ON conversations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION pentagon_bump_mode_version();

CREATE OR REPLACE FUNCTION pentagon_conversation_out(c conversations, mode_changed boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', c.id, 'platform', c.platform, 'user_id', c.user_id, 'status', c.status,
                             'updated_at', pentagon_ts(c.updated_at), 'row_json', pentagon_conversation_json(c)::text,
                             'mode_changed', mode_changed, 'mode_version', c.mode_version)
$$;

-- processed_events only has to outlive every possible redelivery of its event: the EVENTS
-- stream keeps events 7 days. Called by tracking's sweep (hourly); returns the rows removed.
CREATE FUNCTION pentagon_prune(keep_days int) RETURNS int
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => keep_days) RETURNING 1)
    SELECT count(*)::int FROM gone
$$;

-- The grant rule of 0004, as a procedure later migrations call after creating functions.
CREATE PROCEDURE pentagon_restrict_functions()
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

CALL pentagon_restrict_functions();
