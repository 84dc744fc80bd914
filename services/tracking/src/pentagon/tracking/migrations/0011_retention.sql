-- The retention rule (TRACKING_RETENTION_DAYS, housekeeping.py) looks for the oldest closed
-- conversations every sweep (TRACKING_SWEEP_INTERVAL_S). Partial: the message batches' counter
-- updates of open conversations never touch it.

CREATE INDEX IF NOT EXISTS conversations_closed_at ON conversations (closed_at) WHERE status = 'closed';
