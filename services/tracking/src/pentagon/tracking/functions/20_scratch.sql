-- The session's scratch tables that hold one batch while pentagon_ingest() applies it.

-- Created once per connection and emptied with DELETE at the start of every batch; truncated
-- only once the dead rows of the batches before pass 128 kB (SCRATCH_TRUNCATE_BYTES). Truncating at
-- every commit (ON COMMIT DELETE ROWS) cost half of a one-event batch's Postgres CPU: an
-- ftruncate, a close that makes ext4 write back, an open and a zero-extend per table and per
-- TOAST table, every batch (2.9 -> 1.3 ms, perf on one backend). A truncation also invalidates
-- the plans that read the table, so they are made again once per truncation.
-- No index on any of them: truncating an indexed table rebuilds the index and sends a relcache
-- invalidation, so every cached plan reading it was re-planned (tests/test_batch_cost.py).
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
        );
        CREATE TEMP TABLE pentagon_in_esc (
            seq bigint, event_id text, platform text, user_id text, reason text
        );
        CREATE TEMP TABLE pentagon_in_key (platform text, user_id text);
        CREATE TEMP TABLE pentagon_in_conv (
            id bigint, platform text, user_id text, status_before text, created boolean
        );
        CREATE TEMP TABLE pentagon_in_flag (
            message_id bigint, conv_id bigint, flag_seq bigint, reason text, cause text, human_replied boolean
        );
        CREATE TEMP TABLE pentagon_in_human (conv_id bigint, last_seq bigint, cause text);
        CREATE TEMP TABLE pentagon_in_changed (message_id bigint, conv_id bigint, cause text);
        CREATE TEMP TABLE pentagon_in_touch (conv_id bigint, changed boolean);
        CREATE TEMP TABLE pentagon_in_dlv (
            message_id bigint, state text, pmid text, reason text, ts timestamptz, seq bigint, cause text
        );
        CREATE TEMP TABLE pentagon_in_dlv_changed (message_id bigint, cause text);
        CREATE TEMP TABLE pentagon_in_dev (
            seq bigint, event_id text, platform text, user_id text, state text, msg_event_id text,
            pmid text, pmids text[], watermark timestamptz, reason text, ts timestamptz
        );
    ELSIF pentagon_scratch_bytes('pg_temp.pentagon_in_msg') + pentagon_scratch_bytes('pg_temp.pentagon_in_dev') > 131072 THEN
        -- SCRATCH_TRUNCATE_BYTES: the tables of one row per event; the others derive from them.
        TRUNCATE pentagon_in_msg, pentagon_in_esc, pentagon_in_key, pentagon_in_conv, pentagon_in_flag,
                 pentagon_in_human, pentagon_in_changed, pentagon_in_touch, pentagon_in_dlv,
                 pentagon_in_dlv_changed, pentagon_in_dev;
    ELSE
        DELETE FROM pentagon_in_msg; DELETE FROM pentagon_in_esc; DELETE FROM pentagon_in_key;
        DELETE FROM pentagon_in_conv; DELETE FROM pentagon_in_flag; DELETE FROM pentagon_in_human;
        DELETE FROM pentagon_in_changed; DELETE FROM pentagon_in_touch; DELETE FROM pentagon_in_dlv;
        DELETE FROM pentagon_in_dlv_changed; DELETE FROM pentagon_in_dev;
    END IF;
    -- Outbox references of the whole transaction: kept across the segments of a batch (a user
    -- deletion in its middle), emptied by pentagon_write_outbox() at its end.
    IF to_regclass('pg_temp.pentagon_in_refs') IS NULL THEN
        CREATE TEMP TABLE pentagon_in_refs (
            ord bigint GENERATED ALWAYS AS IDENTITY, refs jsonb
        );
    END IF;
END
$$;

-- Rows of a scratch table, dead ones included: its heap and its TOAST heap (pg_table_size
-- would add ~48 kB of free-space map, visibility map and TOAST index that rows do not grow).
CREATE OR REPLACE FUNCTION pentagon_scratch_bytes(t regclass) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0)
      FROM pg_class c WHERE c.oid = t
$$;
