-- Receipts never lost, updates never skipped.
--
-- 1. A SENT/FAILED receipt whose message is not stored yet (its event is in an
--    unacked batch redelivered later, or in a concurrent batch) is parked in
--    pending_deliveries inside the batch transaction, so the receipt can be acked;
--    it is applied set-based when its message row is inserted (or by the sweep,
--    when the message was committed concurrently with the parking).
-- 2. DELIVERED/READ watermarks are kept per user in delivery_watermarks, so a
--    message stored after its watermark arrived still gets the state.
-- 3. Transactional outbox: every batch writes the references of what it changed to
--    update_outbox in the same transaction; the consumer deletes the row after its
--    updates are stored in UPDATES; leftovers (a crash between commit and publish)
--    are republished from the current rows by pentagon_outbox_replay.

CREATE TABLE pending_deliveries (
    event_id     text PRIMARY KEY,          -- the receipt's own event id: a replay parks it once
    msg_event_id text        NOT NULL,
    platform     text        NOT NULL,
    user_id      text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('sent', 'failed')),
    pmid         text,
    reason       text,
    ts           timestamptz NOT NULL,
    seq          bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_deliveries_by_message ON pending_deliveries (msg_event_id);
CREATE INDEX pending_deliveries_by_user ON pending_deliveries (platform, user_id);

CREATE TABLE delivery_watermarks (
    platform        text NOT NULL,
    user_id         text NOT NULL,
    delivered_wm    timestamptz,
    delivered_ts    timestamptz,
    delivered_cause text,
    read_wm         timestamptz,
    read_ts         timestamptz,
    read_cause      text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX delivery_watermarks_recent ON delivery_watermarks (updated_at);

CREATE TABLE update_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    refs       jsonb       NOT NULL,   -- per part: message ids, (id, cause) pairs, conversation ids, deletions
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Its return type changed (jsonb -> int): CREATE OR REPLACE in ../functions/ cannot do that.
DROP FUNCTION IF EXISTS pentagon_apply_deliveries(jsonb);
