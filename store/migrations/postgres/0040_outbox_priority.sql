-- 0040_outbox_priority (PostgreSQL twin): rows about a critical case are
-- claimed first.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_claim ON outbox (priority DESC, next_attempt_at, id) WHERE state = 'pending';
