-- 0100_promise_reminders: officers are reminded of an open case whose
-- promised date (cases.expected_by) passed, again and again with a
-- growing interval; a new promised date starts the count over.
CREATE TABLE promise_reminders (
	case_id     INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
	-- the promised date the reminders were about
	expected_by TEXT NOT NULL,
	times       INTEGER NOT NULL,
	reminded_at TEXT NOT NULL
);
