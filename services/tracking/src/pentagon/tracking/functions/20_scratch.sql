-- The session's scratch tables that hold one batch while pentagon_ingest() applies it.

-- Created once per connection, emptied at every commit (ON COMMIT DELETE ROWS).
-- No index on any of them: that truncation rebuilds an indexed table's indexes and sends a
-- relcache invalidation, so every cached plan reading the table was re-planned on every
-- batch (~40 % of a one-event batch's Postgres CPU; tests/test_batch_cost.py).
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
