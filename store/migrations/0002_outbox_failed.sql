-- 0002_outbox_failed: count the rows given up without scanning the outbox
-- (the dispatcher reports them every second).
CREATE INDEX outbox_failed ON outbox (id) WHERE state = 'failed';
