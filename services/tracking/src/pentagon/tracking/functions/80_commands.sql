-- Admin commands (tracking.cmd.<action>: close, reopen, take over, hand back, assign, priority,
-- labels, a staff note, mark human/replied, delete a user, delete an old closed conversation (retention);
-- record what staff taught the bot (the answers themselves live in NATS KV); revoke/restore a staff member's access, which only records
-- the action: the access list itself is admin-api's), each applied in one transaction together
-- with its admin_actions row.
-- The same command_id twice answers the first result.
-- Returns {"ok": true, "kind", "row", "conversation", "mode_changed"} or {"ok": false, "code", "message"}.

CREATE OR REPLACE FUNCTION pentagon_command_error(p_code text, p_message text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('ok', false, 'code', p_code, 'message', p_message)
$$;

CREATE OR REPLACE FUNCTION pentagon_conversation_command(p_action text, p_conv_id bigint, p_params jsonb,
                                              OUT o_before conversations, OUT o_after conversations,
                                              OUT o_error jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_labels text[];
BEGIN
    SELECT * INTO o_before FROM conversations WHERE id = p_conv_id FOR UPDATE;
    IF NOT FOUND THEN
        o_error := pentagon_command_error('not_found', 'no such conversation');
        RETURN;
    END IF;
    IF p_action = 'close' THEN
        IF o_before.status = 'closed' THEN
            o_error := pentagon_command_error('illegal_transition', 'conversation is already closed'); RETURN;
        END IF;
        -- An automatic close (housekeeping.py) of a conversation picked as idle: refused if a message
        -- came in since, or a customer now waits for a person.
        IF p_params ? 'idle_since' AND (o_before.last_message_at > (p_params->>'idle_since')::timestamptz
                                         OR o_before.pending_human_count > 0) THEN
            o_error := pentagon_command_error('illegal_transition', 'the conversation is no longer idle'); RETURN;
        END IF;
        UPDATE conversations SET status = 'closed', closed_at = now(), updated_at = now()
         WHERE id = p_conv_id RETURNING * INTO o_after;
    ELSIF p_action = 'reopen' THEN
        IF o_before.status <> 'closed' THEN
            o_error := pentagon_command_error('illegal_transition', 'conversation is not closed'); RETURN;
        END IF;
        BEGIN
            UPDATE conversations SET status = 'active', closed_at = NULL, bot_paused = false, updated_at = now()
             WHERE id = p_conv_id RETURNING * INTO o_after;
        EXCEPTION WHEN unique_violation THEN
            o_error := pentagon_command_error('illegal_transition', 'the user has another open conversation'); RETURN;
        END;
    ELSIF p_action = 'takeover' THEN
        IF o_before.status <> 'active' THEN
            o_error := pentagon_command_error('illegal_transition', 'only an active conversation can be taken over'); RETURN;
        END IF;
        UPDATE conversations SET status = 'human', bot_paused = true, updated_at = now()
         WHERE id = p_conv_id RETURNING * INTO o_after;
    ELSIF p_action = 'handback' THEN
        IF o_before.status <> 'human' THEN
            o_error := pentagon_command_error('illegal_transition', 'only a human-handled conversation can be handed back'); RETURN;
        END IF;
        UPDATE conversations SET status = 'active', bot_paused = false, updated_at = now()
         WHERE id = p_conv_id RETURNING * INTO o_after;
    ELSIF p_action = 'assign' THEN
        IF NOT (p_params ? 'assigned_to') OR jsonb_typeof(p_params->'assigned_to') NOT IN ('string', 'null')
           OR length(p_params->>'assigned_to') > 200 THEN
            o_error := pentagon_command_error('invalid', 'assigned_to must be a string (at most 200 characters) or null'); RETURN;
        END IF;
        UPDATE conversations SET assigned_to = nullif(p_params->>'assigned_to', ''), updated_at = now()
         WHERE id = p_conv_id RETURNING * INTO o_after;
    ELSIF p_action = 'priority' THEN
        IF jsonb_typeof(p_params->'priority') IS DISTINCT FROM 'number'
           OR (p_params->>'priority') !~ '^[1-5]$' THEN
            o_error := pentagon_command_error('invalid', 'priority must be an integer from 1 to 5'); RETURN;
        END IF;
        UPDATE conversations SET priority = (p_params->>'priority')::smallint, updated_at = now()
         WHERE id = p_conv_id RETURNING * INTO o_after;
    ELSIF p_action = 'labels' THEN
        -- Adds and removes rather than a whole new list: two staff labelling at once both count.
        -- admin-api normalises each label (trimmed, lower case, NFC); this is the last line of defence.
        IF jsonb_typeof(coalesce(p_params->'add', '[]')) <> 'array' OR jsonb_typeof(coalesce(p_params->'remove', '[]')) <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(p_params->'add', '[]') || coalesce(p_params->'remove', '[]')) e
                       WHERE jsonb_typeof(e) <> 'string' OR btrim(e #>> '{}') = '' OR length(e #>> '{}') > 32) THEN
            o_error := pentagon_command_error('invalid', 'add and remove must be lists of labels of 1 to 32 characters'); RETURN;
        END IF;
        v_labels := coalesce((
            SELECT array_agg(DISTINCT l ORDER BY l) FROM unnest(o_before.labels || ARRAY(
                SELECT jsonb_array_elements_text(coalesce(p_params->'add', '[]')))) l
             WHERE l <> ALL (ARRAY(SELECT jsonb_array_elements_text(coalesce(p_params->'remove', '[]'))))), '{}');
        IF cardinality(v_labels) > 10 THEN
            o_error := pentagon_command_error('invalid', 'a conversation has at most 10 labels'); RETURN;
        END IF;
        UPDATE conversations SET labels = v_labels, updated_at = now() WHERE id = p_conv_id RETURNING * INTO o_after;
    ELSIF p_action = 'note' THEN
        -- A note for the staff (never sent to the customer) lives in its admin_actions row; the
        -- conversation's updated_at moves so every panel hears of it and reloads the thread's activity.
        IF jsonb_typeof(p_params->'text') IS DISTINCT FROM 'string' OR btrim(p_params->>'text') = ''
           OR length(p_params->>'text') > 4000 THEN
            o_error := pentagon_command_error('invalid', 'text must be 1 to 4000 characters'); RETURN;
        END IF;
        UPDATE conversations SET updated_at = now() WHERE id = p_conv_id RETURNING * INTO o_after;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION pentagon_message_command(p_action text, p_msg_id bigint, p_params jsonb,
                                         OUT o_before messages, OUT o_after messages,
                                         OUT o_conversation conversations, OUT o_error jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_conv_id bigint;
BEGIN
    SELECT conversation_id INTO v_conv_id FROM messages WHERE id = p_msg_id;
    IF NOT FOUND THEN
        o_error := pentagon_command_error('not_found', 'no such message'); RETURN;
    END IF;
    -- Conversation first, as the batch writer does: the same lock order everywhere.
    PERFORM 1 FROM conversations WHERE id = v_conv_id FOR UPDATE;
    SELECT * INTO o_before FROM messages WHERE id = p_msg_id FOR UPDATE;
    IF NOT FOUND THEN
        o_error := pentagon_command_error('not_found', 'no such message'); RETURN;
    END IF;
    IF p_params ? 'reason' AND jsonb_typeof(p_params->'reason') NOT IN ('string', 'null') THEN
        o_error := pentagon_command_error('invalid', 'reason must be a string'); RETURN;
    END IF;
    IF p_action = 'mark_human' THEN
        UPDATE messages SET requires_human = true, human_replied = false,
                            escalation_reason = coalesce(left(nullif(p_params->>'reason', ''), 500), escalation_reason)
         WHERE id = p_msg_id RETURNING * INTO o_after;
    ELSE
        UPDATE messages SET human_replied = true WHERE id = p_msg_id RETURNING * INTO o_after;
    END IF;
    UPDATE conversations c SET
        (pending_human_count, waiting_since) = (SELECT count(*), min(p."timestamp") FROM messages p
                                WHERE p.conversation_id = c.id AND p.requires_human AND NOT p.human_replied),
        updated_at = now()
     WHERE c.id = o_after.conversation_id RETURNING * INTO o_conversation;
END
$$;

CREATE OR REPLACE FUNCTION pentagon_command(cmd jsonb) RETURNS jsonb
LANGUAGE plpgsql SET timezone TO 'UTC' AS $$
DECLARE
    v_command_id text := cmd->>'command_id';
    v_action text := cmd->>'action';
    v_params jsonb := coalesce(cmd->'params', '{}'::jsonb);
    v_conv_id bigint := nullif((cmd->>'conversation_id')::bigint, 0);
    v_msg_id bigint := nullif((cmd->>'message_id')::bigint, 0);
    v_done admin_actions;
    v_c record;
    v_m record;
    v_deleted jsonb;
    v_after jsonb;
    v_key text;
BEGIN
    IF coalesce(v_command_id, '') = '' THEN
        RETURN pentagon_command_error('invalid', 'command_id is required');
    END IF;
    IF jsonb_typeof(v_params) <> 'object' THEN
        RETURN pentagon_command_error('invalid', 'params must be a JSON object');
    END IF;
    -- Two deliveries of the same command wait for each other instead of both applying.
    PERFORM pg_advisory_xact_lock(hashtextextended('pentagon_command:' || v_command_id, 0));
    SELECT * INTO v_done FROM admin_actions WHERE command_id = v_command_id;
    IF FOUND THEN
        RETURN jsonb_build_object(
            'ok', true, 'replayed', true, 'mode_changed', true,
            'kind', CASE WHEN v_done.action IN ('mark_human', 'mark_replied') THEN 'message'
                         WHEN v_done.action = 'delete_user' THEN 'user_deleted'
                         WHEN v_done.action = 'purge' THEN 'conversation_purged'
                         WHEN v_done.action IN ('revoke_access', 'restore_access', 'issue_token', 'withdraw_token',
                                                'knowledge_put', 'knowledge_delete', 'menu_sold_out', 'menu_on_sale',
                                                'day_closed', 'day_reopened', 'menu_price', 'menu_price_reset')
                              THEN 'staff_access'
                         WHEN v_done.action IN ('block_user', 'unblock_user') THEN 'customer_access'
                         ELSE 'conversation' END,
            'row', v_done."after",
            'conversation', (SELECT to_jsonb(c) FROM conversations c WHERE c.id = v_done.conversation_id));
    END IF;

    IF v_action IN ('close', 'reopen', 'takeover', 'handback', 'assign', 'priority', 'labels', 'note') THEN
        IF v_conv_id IS NULL THEN
            RETURN pentagon_command_error('invalid', 'conversation_id is required');
        END IF;
        SELECT * INTO v_c FROM pentagon_conversation_command(v_action, v_conv_id, v_params);
        IF v_c.o_error IS NOT NULL THEN
            RETURN v_c.o_error;
        END IF;
        INSERT INTO admin_actions (command_id, actor, action, conversation_id, params, "before", "after")
        VALUES (v_command_id, coalesce(cmd->>'actor', ''), v_action, v_conv_id, v_params,
                to_jsonb(v_c.o_before), to_jsonb(v_c.o_after));
        RETURN jsonb_build_object('ok', true, 'kind', 'conversation', 'row', to_jsonb(v_c.o_after),
                                  'conversation', to_jsonb(v_c.o_after),
                                  'mode_changed', (v_c.o_before).status IS DISTINCT FROM (v_c.o_after).status);
    ELSIF v_action IN ('mark_human', 'mark_replied') THEN
        IF v_msg_id IS NULL THEN
            RETURN pentagon_command_error('invalid', 'message_id is required');
        END IF;
        SELECT * INTO v_m FROM pentagon_message_command(v_action, v_msg_id, v_params);
        IF v_m.o_error IS NOT NULL THEN
            RETURN v_m.o_error;
        END IF;
        INSERT INTO admin_actions (command_id, actor, action, conversation_id, message_id, params, "before", "after")
        VALUES (v_command_id, coalesce(cmd->>'actor', ''), v_action, (v_m.o_after).conversation_id, v_msg_id,
                v_params, to_jsonb(v_m.o_before), to_jsonb(v_m.o_after));
        RETURN jsonb_build_object('ok', true, 'kind', 'message', 'row', to_jsonb(v_m.o_after),
                                  'conversation', to_jsonb(v_m.o_conversation), 'mode_changed', false);
    ELSIF v_action = 'delete_user' THEN
        IF jsonb_typeof(v_params->'platform') IS DISTINCT FROM 'string' OR jsonb_typeof(v_params->'user_id') IS DISTINCT FROM 'string'
           OR v_params->>'platform' = '' OR v_params->>'user_id' = '' THEN
            RETURN pentagon_command_error('invalid', 'platform and user_id are required');
        END IF;
        v_deleted := pentagon_delete_user(v_params->>'platform', v_params->>'user_id');
        INSERT INTO admin_actions (command_id, actor, action, params, "after")
        VALUES (v_command_id, coalesce(cmd->>'actor', ''), v_action, v_params, v_deleted);
        RETURN jsonb_build_object('ok', true, 'kind', 'user_deleted', 'row', v_deleted, 'mode_changed', true);
    ELSIF v_action = 'purge' THEN
        -- The retention rule (housekeeping.py): params.closed_before is the cut-off it picked with.
        IF v_conv_id IS NULL OR jsonb_typeof(v_params->'closed_before') IS DISTINCT FROM 'string' THEN
            RETURN pentagon_command_error('invalid', 'conversation_id and closed_before are required');
        END IF;
        v_deleted := pentagon_purge_conversation(v_conv_id, (v_params->>'closed_before')::timestamptz);
        IF NOT (v_deleted->>'ok')::boolean THEN
            RETURN v_deleted;
        END IF;
        INSERT INTO admin_actions (command_id, actor, action, conversation_id, params, "after")
        VALUES (v_command_id, coalesce(cmd->>'actor', ''), v_action, v_conv_id, v_params, v_deleted->'row');
        RETURN jsonb_build_object('ok', true, 'kind', 'conversation_purged', 'row', v_deleted->'row',
                                  'user_id', v_deleted->'user_id', 'mode_changed', false);
    ELSIF v_action IN ('revoke_access', 'restore_access', 'issue_token', 'withdraw_token',
                       'knowledge_put', 'knowledge_delete', 'menu_sold_out', 'menu_on_sale',
                       'day_closed', 'day_reopened', 'menu_price', 'menu_price_reset') THEN
        -- Only the audit row: what changed lives in admin-api's KV buckets. Staff access: the name
        -- (and role for a token; never the token). What staff taught the bot: the id, and for a put
        -- the questions and answers (the agent follows the bucket knowledge_faq). Sold out: the
        -- menu id and until when (the agent follows the bucket menu_sold_out); prices: the menu id,
        -- the new and the file's price (bucket menu_prices). Closed days: the day, its hours and
        -- the staff's notes (bucket closed_days).
        v_key := CASE WHEN v_action LIKE 'knowledge\_%' OR v_action LIKE 'menu\_%' OR v_action LIKE 'day\_%'
                      THEN 'id' ELSE 'name' END;
        IF jsonb_typeof(v_params->v_key) IS DISTINCT FROM 'string' OR v_params->>v_key = '' THEN
            RETURN pentagon_command_error('invalid', v_key || ' is required');
        END IF;
        INSERT INTO admin_actions (command_id, actor, action, params, "after")
        VALUES (v_command_id, coalesce(cmd->>'actor', ''), v_action, v_params, v_params);
        RETURN jsonb_build_object('ok', true, 'kind', 'staff_access', 'row', v_params, 'mode_changed', false);
    ELSIF v_action IN ('block_user', 'unblock_user') THEN
        -- Only the audit row: the block list itself is admin-api's KV bucket blocked_users.
        IF jsonb_typeof(v_params->'platform') IS DISTINCT FROM 'string' OR jsonb_typeof(v_params->'user_id') IS DISTINCT FROM 'string'
           OR v_params->>'platform' = '' OR v_params->>'user_id' = '' THEN
            RETURN pentagon_command_error('invalid', 'platform and user_id are required');
        END IF;
        -- "after" is what every open panel is told (an UPDATE_CUSTOMER_CHANGED), replays included.
        INSERT INTO admin_actions (command_id, actor, action, conversation_id, params, "after")
        VALUES (v_command_id, coalesce(cmd->>'actor', ''), v_action,
                (SELECT id FROM conversations WHERE id = v_conv_id), v_params,
                jsonb_build_object('platform', v_params->>'platform', 'user_id', v_params->>'user_id',
                                   'blocked', v_action = 'block_user', 'actor', coalesce(cmd->>'actor', ''),
                                   'conversation_id', (SELECT id FROM conversations WHERE id = v_conv_id),
                                   'at', now()))
        RETURNING "after" INTO v_after;
        RETURN jsonb_build_object('ok', true, 'kind', 'customer_access', 'row', v_after, 'mode_changed', false);
    END IF;
    RETURN pentagon_command_error('invalid', 'unknown action');
END
$$;
