-- 0004_outbox_private (PostgreSQL twin): the platform user a row is
-- delivered to privately; '' for every other row.
ALTER TABLE outbox ADD COLUMN to_user TEXT NOT NULL DEFAULT '';
