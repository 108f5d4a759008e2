-- 0051_reminders_repeat (PostgreSQL twin): how many reminders so far.
ALTER TABLE reminders ADD COLUMN times BIGINT NOT NULL DEFAULT 1;
