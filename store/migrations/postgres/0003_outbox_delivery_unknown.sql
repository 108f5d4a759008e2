-- 0003_outbox_delivery_unknown (PostgreSQL twin): a row whose send a
-- crash interrupted on a platform that cannot recognise a repeat is
-- 'failed' with this flag set (see the SQLite file for why a flag).
ALTER TABLE outbox ADD COLUMN delivery_unknown BIGINT NOT NULL DEFAULT 0;
