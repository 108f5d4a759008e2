-- 0081_outbox_file (PostgreSQL twin): a file sent with an outgoing message.
ALTER TABLE outbox ADD COLUMN file_name TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN file BYTEA;
