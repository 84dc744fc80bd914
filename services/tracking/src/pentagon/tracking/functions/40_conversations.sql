-- Steps 2 and 5: the conversation of every message (found or opened, locked), then its totals.

-- Get or create the open conversation of every user that needs one, and lock every
-- conversation this batch changes, in id order (replicas serialise per conversation).
-- Each user's open conversation is one probe of conversations_one_open: "id IN (...) OR
-- (platform, user_id) IN (...)" could only be answered by reading every conversation.
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

-- Counters, recency, metadata and status of every conversation the batch changed.
-- No nested loops (SET clause): the planner guesses ten rows for `id = ANY (ARRAY(...))` and
-- from that guess re-aggregated the whole batch once per touched conversation (a 2,000-event
-- batch over 1,000 users: 499,500 joined rows thrown away). Every access to a large table
-- here names its rows, so hash joins are always right.
CREATE OR REPLACE FUNCTION pentagon_update_conversations() RETURNS void
LANGUAGE plpgsql SET enable_nestloop = off AS $$
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
        (pending_human_count, waiting_since) = (SELECT count(*), min(p."timestamp") FROM messages p
                                WHERE p.conversation_id = c.id AND p.requires_human AND NOT p.human_replied),
        updated_at          = now()
      FROM t WHERE c.id = t.conv_id AND c.id = ANY (ARRAY(SELECT conv_id FROM pentagon_in_touch WHERE changed));
END
$$;
