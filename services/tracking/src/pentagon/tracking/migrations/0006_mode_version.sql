-- Mode writes carry a version, so the conversation_mode bucket can never go back in time.
--
-- Two transactions that change one conversation's status commit in lock order, but their
-- workers (any tracking replica, batch or command) write the KV after the commit, in any
-- order. mode_version is bumped under the row lock, so (conversation id, mode_version)
-- orders every status a user's conversations ever had; the KV writer (updates.py) only
-- replaces an entry holding a lower pair.

ALTER TABLE conversations ADD COLUMN mode_version bigint NOT NULL DEFAULT 0;

-- Here because the trigger needs it; its current code is in ../functions/90_maintenance.sql.
CREATE FUNCTION pentagon_bump_mode_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.mode_version := OLD.mode_version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER conversations_mode_version BEFORE UPDATE OF status ON conversations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION pentagon_bump_mode_version();
