-- 0003_outbox_delivery_unknown: a row whose send a crash interrupted on a
-- platform that cannot recognise a repeat is given up without being sent
-- again ("delivery unknown"). It is stored as state 'failed' with this
-- flag set, not as a new state: SQLite cannot change the state column's
-- CHECK without rebuilding the table (which messages.outbox_id refers to),
-- and every query that treats 'failed' as final (the per-chat queue, the
-- stats, retention) stays right as it is. The store reports such a row as
-- citybot.OutboxUnknown.
ALTER TABLE outbox ADD COLUMN delivery_unknown INTEGER NOT NULL DEFAULT 0;
