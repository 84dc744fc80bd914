-- Labels staff put on a conversation ("order", "reservation", "complaint", "ဘောက်ချာ"...), to find
-- and count conversations of a kind. Changed only by the `labels` command (functions/80_commands.sql,
-- audited like every command). The GIN index serves the list filter
-- (`labels <> '{}' AND labels @> ARRAY[$1]`) and, scanned whole, the labels in use; partial, so
-- the many conversations without a label cost the message batches nothing when their counters change.

ALTER TABLE conversations ADD COLUMN IF NOT EXISTS labels text[] NOT NULL DEFAULT '{}';

CREATE INDEX IF NOT EXISTS conversations_labels ON conversations USING gin (labels) WHERE labels <> '{}';
