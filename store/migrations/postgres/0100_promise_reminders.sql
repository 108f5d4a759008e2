-- 0100_promise_reminders (PostgreSQL twin): reminders of passed promised dates.
CREATE TABLE promise_reminders (
	case_id     BIGINT PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
	expected_by TEXT NOT NULL,
	times       BIGINT NOT NULL,
	reminded_at TEXT NOT NULL
);
