-- Tables and indexes of docs/architecture.md "Database". Tracking is the only writer.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE conversations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             text        NOT NULL,
    platform            text        NOT NULL,
    status              text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'human', 'closed')),
    priority            smallint    NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    bot_paused          boolean     NOT NULL DEFAULT false,
    assigned_to         text,
    escalation_reason   text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_message_at     timestamptz,
    closed_at           timestamptz,
    message_count       integer     NOT NULL DEFAULT 0,
    user_message_count  integer     NOT NULL DEFAULT 0,
    bot_message_count   integer     NOT NULL DEFAULT 0,
    human_message_count integer     NOT NULL DEFAULT 0,
    pending_human_count integer     NOT NULL DEFAULT 0,
    metadata            jsonb       NOT NULL DEFAULT '{}'::jsonb
);

-- At most one open conversation per user, enforced here rather than by luck.
CREATE UNIQUE INDEX conversations_one_open ON conversations (platform, user_id) WHERE status <> 'closed';
CREATE INDEX conversations_by_user ON conversations (platform, user_id, id);
CREATE INDEX conversations_by_status_recency ON conversations (status, last_message_at DESC NULLS LAST, id DESC);
CREATE INDEX conversations_by_recency ON conversations (last_message_at DESC NULLS LAST, id DESC);
CREATE INDEX conversations_by_assignee ON conversations (assigned_to, last_message_at DESC NULLS LAST) WHERE assigned_to IS NOT NULL;
CREATE INDEX conversations_needing_human ON conversations (last_message_at DESC NULLS LAST) WHERE pending_human_count > 0;

CREATE TABLE messages (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id     bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_type         text        NOT NULL CHECK (sender_type IN ('user', 'bot', 'human', 'system')),
    content             text        NOT NULL DEFAULT '',
    "timestamp"         timestamptz NOT NULL,
    confidence_score    double precision,
    requires_human      boolean     NOT NULL DEFAULT false,
    human_replied       boolean     NOT NULL DEFAULT false,
    escalation_reason   text,
    metadata            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    kind                text        NOT NULL DEFAULT 'text',
    channel             text        NOT NULL DEFAULT 'messaging' CHECK (channel IN ('messaging', 'standby')),
    actor               text,
    platform_message_id text        UNIQUE,
    event_id            text        NOT NULL UNIQUE,
    reply_to_event_id   text,
    delivery_status     text        CHECK (delivery_status IN ('sent', 'delivered', 'read', 'failed')),
    delivery_error      text,
    delivered_at        timestamptz,
    read_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX messages_by_conversation_time ON messages (conversation_id, "timestamp", id);
-- The requires-human queue: small, so a partial index keeps it cheap to scan and to recount.
CREATE INDEX messages_pending_human ON messages (conversation_id, "timestamp") WHERE requires_human AND NOT human_replied;
CREATE INDEX messages_by_time ON messages ("timestamp");
-- Search: English stems, plus trigrams because Burmese has no spaces between words.
CREATE INDEX messages_content_fts ON messages USING gin (to_tsvector('english', content));
CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops);

CREATE TABLE admin_actions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    command_id      text UNIQUE,
    actor           text        NOT NULL,
    action          text        NOT NULL,
    conversation_id bigint,
    message_id      bigint,
    params          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    "before"        jsonb,
    "after"         jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX admin_actions_recent ON admin_actions (created_at DESC, id DESC);
CREATE INDEX admin_actions_by_conversation ON admin_actions (conversation_id) WHERE conversation_id IS NOT NULL;

-- Conversation events (escalate, delete user) change state without a message row:
-- this is how a replay of one of them is recognised and ignored.
CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
