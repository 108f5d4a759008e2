-- 0230_outbox_claimer (PostgreSQL twin): which citybot process claimed a
-- row in sending (see the SQLite file).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_sending ON outbox (claimed_by) WHERE state = 'sending' AND batch_of IS NULL;
