-- 0150_promise_moves: every promised date (cases.expected_by) an officer
-- replaced or cleared, kept so that the digest counts promises moved to a
-- later date and a promised day that had already passed when it was moved
-- as missed at that date. Recorded by a trigger, whatever path changes the
-- date; the dates are compared as days (the first ten characters).
CREATE TABLE promise_moves (
	id       INTEGER PRIMARY KEY,
	case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	old_date TEXT NOT NULL,
	new_date TEXT,
	moved_at TEXT NOT NULL
);
CREATE INDEX promise_moves_old_date ON promise_moves (old_date);
CREATE INDEX promise_moves_moved_at ON promise_moves (moved_at);

CREATE TRIGGER cases_promise_moved AFTER UPDATE OF expected_by ON cases
WHEN old.expected_by IS NOT NULL AND (new.expected_by IS NULL OR substr(new.expected_by, 1, 10) <> substr(old.expected_by, 1, 10)) BEGIN
	INSERT INTO promise_moves (case_id, old_date, new_date, moved_at) VALUES (new.id, old.expected_by, new.expected_by, new.updated_at);
END;

-- The moves made before this migration, from the audit log (dates as
-- UTC days, as the console stores them).
INSERT INTO promise_moves (case_id, old_date, new_date, moved_at)
SELECT c.id,
	strftime('%Y-%m-%dT%H:%M:%S.000000Z', json_extract(a.before, '$.expected_by')),
	CASE WHEN json_extract(a.after, '$.expected_by') IS NULL THEN NULL
		ELSE strftime('%Y-%m-%dT%H:%M:%S.000000Z', json_extract(a.after, '$.expected_by')) END,
	a.at
FROM audit_log a JOIN cases c ON a.subject = 'case:' || c.id
WHERE a.action = 'case.expected_by' AND json_valid(a.before) AND json_valid(a.after)
	AND strftime('%Y-%m-%d', json_extract(a.before, '$.expected_by')) IS NOT NULL
	AND (json_extract(a.after, '$.expected_by') IS NULL
		OR strftime('%Y-%m-%d', json_extract(a.after, '$.expected_by')) IS NOT strftime('%Y-%m-%d', json_extract(a.before, '$.expected_by')))
ORDER BY a.id;
