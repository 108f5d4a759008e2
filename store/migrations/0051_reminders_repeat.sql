-- 0051_reminders_repeat: officers are reminded of an unanswered case
-- again and again, at its first-answer target then at growing intervals;
-- times counts the reminders so far (1 for the single reminder before).
ALTER TABLE reminders ADD COLUMN times INTEGER NOT NULL DEFAULT 1;
