-- 0002_outbox_failed (PostgreSQL twin): count the rows given up without
-- scanning the outbox.
CREATE INDEX outbox_failed ON outbox (id) WHERE state = 'failed';
